import { describe, expect, it } from 'vitest';
import type { Change } from '../../../src/core/api';
import type { IndexEntry, SyncInfo } from '../../../src/core/indexEntry';
import type { SecretMetadata } from '../../../src/core/model';
import { valueKeyOf } from '../../../src/core/storeKeys';
import {
  immediateStep,
  planPage,
  takeStep,
  unlisted,
  type PullDecision,
} from '../../../src/sync/engine/pullPlan';
import type { PendingDelete } from '../../../src/sync/syncState';
import { testEntry } from '../../support/entries';

const NOW = '2026-02-02T00:00:00.000Z';

function meta(id: string, name: string, fields: Partial<SecretMetadata> = {}): SecretMetadata {
  return testEntry(id, name, { scope: { kind: 'team', id: 'data' }, ...fields });
}

function local(id: string, name: string, version: number, sync?: SyncInfo): IndexEntry {
  return { ...meta(id, name, { version }), ...(sync && { sync }) };
}

const upsert = (secret: SecretMetadata): Change => ({ kind: 'upsert', secret });
const tomb = (id: string, reason: 'deleted' | 'access_lost' = 'deleted'): Change => ({
  kind: 'tombstone',
  id,
  reason,
});

const clean = local('s1', 'A', 2, { base: 5, lv: 2 });
const edited = local('s1', 'A', 3, { base: 5, lv: 2 });
const conflicted = (kind: 'deleted_here' | 'both_edited' | 'deleted_there', version = 2) =>
  local('s1', 'A', version, {
    base: 5,
    lv: 2,
    conflict: { kind, remote: null, detected_at: NOW },
  });
const unsynced = local('l1', 'A', 1);

/** A decision as the table writes it: its kind, the entry or secret it is about, and details. */
function brief(d: PullDecision): Record<string, unknown> {
  switch (d.kind) {
    case 'take':
      return {
        take: d.meta.id,
        deletedHere: d.deletedHere,
        ...(d.replaceId !== undefined && { replaceId: d.replaceId }),
        ...(d.ifVersion !== undefined && { ifVersion: d.ifVersion }),
      };
    case 'remove':
      return { remove: d.entry.id, lost: d.lost, warn: d.warn };
    case 'conflict':
      return {
        conflict: d.conflict,
        on: d.entry.id,
        remote: d.remote?.id ?? null,
        reason: d.reason,
      };
    case 'repoint':
      return { repoint: d.conflict, on: d.entry.id, remote: d.remote.id };
  }
}

interface Case {
  name: string;
  local: IndexEntry[];
  changes: Change[];
  deletes?: PendingDelete[];
  me?: string;
  decisions: Record<string, unknown>[];
  dropDeletes?: string[];
}

const cases: Case[] = [
  {
    name: 'a tombstone for a secret not here only forgets a pending delete',
    local: [],
    changes: [tomb('s1')],
    decisions: [],
    dropDeletes: ['s1'],
  },
  {
    name: 'a tombstone removes a clean copy, guarded by its version',
    local: [clean],
    changes: [tomb('s1')],
    decisions: [{ remove: 's1', lost: false, warn: false }],
    dropDeletes: ['s1'],
  },
  {
    name: 'lost access removes even a copy edited here, and says so',
    local: [edited],
    changes: [tomb('s1', 'access_lost')],
    decisions: [{ remove: 's1', lost: true, warn: true }],
    dropDeletes: ['s1'],
  },
  {
    name: 'a delete there of a copy edited here is a conflict',
    local: [edited],
    changes: [tomb('s1')],
    decisions: [{ conflict: 'deleted_there', on: 's1', remote: null, reason: 'deleted' }],
    dropDeletes: ['s1'],
  },
  {
    name: 'a delete there of a copy deleted here in conflict removes it',
    local: [conflicted('deleted_here')],
    changes: [tomb('s1')],
    decisions: [{ remove: 's1', lost: false, warn: false }],
    dropDeletes: ['s1'],
  },
  {
    name: 'a new secret is taken',
    local: [],
    changes: [upsert(meta('s1', 'A'))],
    decisions: [{ take: 's1', deletedHere: false }],
  },
  {
    name: 'changed there while deleted here: theirs comes back, the delete is forgotten',
    local: [],
    changes: [upsert(meta('s1', 'A', { version: 6 }))],
    deletes: [{ id: 's1', name: 'A', scope: { kind: 'team', id: 'data' }, base: 5 }],
    decisions: [{ take: 's1', deletedHere: true }],
    dropDeletes: ['s1'],
  },
  {
    name: 'unchanged there while deleted here: the delete stays pending',
    local: [],
    changes: [upsert(meta('s1', 'A', { version: 5 }))],
    deletes: [{ id: 's1', name: 'A', scope: { kind: 'team', id: 'data' }, base: 5 }],
    decisions: [],
  },
  {
    name: 'our own echo, or an older version, changes nothing',
    local: [clean],
    changes: [upsert(meta('s1', 'A', { version: 5 }))],
    decisions: [],
  },
  {
    name: 'a newer version replaces a clean copy, guarded by its local version',
    local: [clean],
    changes: [upsert(meta('s1', 'A', { version: 6 }))],
    decisions: [{ take: 's1', deletedHere: false, ifVersion: 2 }],
  },
  {
    name: 'a newer version of a copy edited here is a conflict',
    local: [edited],
    changes: [upsert(meta('s1', 'A', { version: 6 }))],
    decisions: [{ conflict: 'both_edited', on: 's1', remote: 's1', reason: undefined }],
  },
  {
    name: 'a clean copy under an old id gives way to the new id of its name',
    local: [clean],
    changes: [upsert(meta('s2', 'A'))],
    decisions: [{ take: 's2', deletedHere: false, replaceId: 's1', ifVersion: 2 }],
  },
  {
    name: 'a secret created here and there under one name is a conflict',
    local: [unsynced],
    changes: [upsert(meta('s2', 'A'))],
    decisions: [{ conflict: 'both_created', on: 'l1', remote: 's2', reason: undefined }],
  },
  {
    name: 'deleted and created again there in one page: the new one is taken as new',
    local: [clean],
    changes: [tomb('s1'), upsert(meta('s2', 'A'))],
    decisions: [
      { remove: 's1', lost: false, warn: false },
      { take: 's2', deletedHere: false },
    ],
    dropDeletes: ['s1'],
  },
  {
    name: 'a deleted-here conflict not edited since takes theirs, still marked',
    local: [conflicted('deleted_here')],
    changes: [upsert(meta('s1', 'A', { version: 7 }))],
    decisions: [{ take: 's1', deletedHere: true, ifVersion: 2 }],
  },
  {
    name: 'another conflict points at the newest server copy; deleted there becomes both edited',
    local: [conflicted('deleted_there', 3)],
    changes: [upsert(meta('s1', 'A', { version: 7 }))],
    decisions: [{ repoint: 'both_edited', on: 's1', remote: 's1' }],
  },
  {
    name: 'a secret with that id never pushed from here is left alone',
    local: [local('s1', 'A', 1)],
    changes: [upsert(meta('s1', 'A', { version: 7 }))],
    decisions: [],
  },
  {
    name: "someone else's personal secret does not clash with yours of the same name",
    local: [{ ...meta('mine', 'A', { scope: { kind: 'personal' } }) }],
    changes: [upsert(meta('bobs', 'A', { scope: { kind: 'personal' }, created_by: 'bob' }))],
    me: 'ada',
    decisions: [{ take: 'bobs', deletedHere: false }],
  },
  {
    name: 'a later change of one id in the page supersedes an earlier one',
    local: [clean],
    changes: [upsert(meta('s1', 'A', { version: 6 })), tomb('s1')],
    decisions: [{ remove: 's1', lost: false, warn: false }],
    dropDeletes: ['s1'],
  },
];

describe('planPage', () => {
  it.each(cases)('$name', (c) => {
    const byId = new Map(c.local.map((e) => [e.id, e]));
    const byKey = new Map(c.local.map((e) => [valueKeyOf(e), e]));
    const plan = planPage(
      c.changes,
      { get: (id) => byId.get(id), at: (key) => byKey.get(key) },
      c.deletes ?? [],
      c.me ?? 'ada',
    );
    expect(plan.decisions.map(brief)).toEqual(c.decisions);
    expect([...plan.dropDeletes]).toEqual(c.dropDeletes ?? []);
  });
});

describe('the steps of pull decisions', () => {
  const them = meta('s1', 'A', { version: 6, scope: { kind: 'personal' }, created_by: 'bob' });

  it('a take stores the server copy in step with it, owned by whoever created it', () => {
    const step = takeStep(
      { kind: 'take', meta: them, deletedHere: false, ifVersion: 2 },
      {
        value: 'v',
        encoding: 'text',
      },
      'ada',
      NOW,
    );
    expect(step).toEqual({
      kind: 'put',
      entry: { ...them, owner: 'bob', sync: { base: 6, lv: 6 } },
      value: { value: 'v', encoding: 'text' },
      ifVersion: 2,
    });
  });

  it('a take of what was deleted here marks it so', () => {
    const step = takeStep(
      { kind: 'take', meta: them, deletedHere: true },
      {
        value: 'v',
        encoding: 'text',
      },
      'bob',
      NOW,
    );
    expect(step).toMatchObject({
      entry: { sync: { base: 6, lv: 6, conflict: { kind: 'deleted_here', detected_at: NOW } } },
    });
    expect(step.kind === 'put' && step.entry.owner).toBeUndefined();
  });

  it('a lost-access remove has no version guard; a delete has', () => {
    expect(immediateStep({ kind: 'remove', entry: edited, lost: true, warn: true }, NOW)).toEqual({
      kind: 'remove',
      id: 's1',
    });
    expect(immediateStep({ kind: 'remove', entry: clean, lost: false, warn: false }, NOW)).toEqual({
      kind: 'remove',
      id: 's1',
      ifVersion: 2,
    });
  });

  it('after a full listing, only what came from the server and was not listed goes', () => {
    const entries = [clean, unsynced, local('s9', 'Z', 1, { base: null, lv: 0 })];
    expect(unlisted(entries, new Set())).toEqual([tomb('s1')]);
    expect(unlisted(entries, new Set(['s1']))).toEqual([]);
  });
});
