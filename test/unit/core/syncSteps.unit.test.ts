import { describe, expect, it } from 'vitest';
import { ValueTooLarge } from '../../../src/core/errors';
import type { IndexEntry } from '../../../src/core/indexEntry';
import { valueKeyOf } from '../../../src/core/storeKeys';
import { planSync, type IndexEdit, type SyncStep } from '../../../src/core/syncSteps';
import { testEntry } from '../../support/entries';

const entry = testEntry;

const key = (name: string, place = 'personal') => `notebook-secrets/value/${place}/${name}`;
const v = (value: string) => ({ value, encoding: 'text' as const });

/** The index after the edits, as names by id in order: what the store would hold. */
function after(index: IndexEntry[], edits: IndexEdit[]): string[] {
  let order = index.map((e) => [e.id, e] as [string, IndexEntry]);
  for (const edit of edits) {
    if (edit.kind === 'remove') {
      order = order.filter(([id]) => id !== edit.id);
      continue;
    }
    const at = order.findIndex(([id]) => id === (edit.replaces ?? edit.entry.id));
    if (at >= 0) order[at] = [edit.entry.id, edit.entry];
    else order.push([edit.entry.id, edit.entry]);
  }
  return order.map(([id, e]) => `${id}:${e.name}@v${e.version}`);
}

interface Case {
  name: string;
  index: IndexEntry[];
  missing?: string[];
  steps: SyncStep[];
  results: boolean[];
  writes?: unknown[];
  deletes?: string[];
  final: string[];
  nowMissing?: Record<string, boolean>;
}

const A = entry('a', 'A');
const B = entry('b', 'B');

const cases: Case[] = [
  {
    name: 'a new entry with its value is added, the value written first',
    index: [],
    steps: [{ kind: 'put', entry: A, value: v('1') }],
    results: [true],
    writes: [{ kind: 'store', key: key('A'), value: v('1') }],
    final: ['a:A@v1'],
    nowMissing: { a: false },
  },
  {
    name: 'a new entry without a value is refused',
    index: [],
    steps: [{ kind: 'put', entry: A }],
    results: [false],
    final: [],
  },
  {
    name: 'a put guarded by a version the entry no longer has is refused',
    index: [entry('a', 'A', { version: 3 })],
    steps: [{ kind: 'put', entry: A, value: v('1'), ifVersion: 2 }],
    results: [false],
    final: ['a:A@v3'],
  },
  {
    name: 'a metadata-only rename takes the value along and frees the old key',
    index: [A],
    steps: [{ kind: 'put', entry: entry('a', 'A2', { version: 2 }) }],
    results: [true],
    writes: [{ kind: 'copy', from: key('A'), to: key('A2') }],
    deletes: [key('A')],
    final: ['a:A2@v2'],
  },
  {
    name: "a put onto another entry's name is refused, so no value is overwritten unseen",
    index: [A, B],
    steps: [{ kind: 'put', entry: entry('b', 'A', { version: 2 }), value: v('x') }],
    results: [false],
    final: ['a:A@v1', 'b:B@v1'],
  },
  {
    name: 'a local id replaced by the server id keeps its place and value key',
    index: [A, B],
    steps: [{ kind: 'put', entry: entry('srv-a', 'A'), replaceId: 'a', ifVersion: 1 }],
    results: [true],
    final: ['srv-a:A@v1', 'b:B@v1'],
  },
  {
    name: 'renames that swap two names both apply, each value under its new name',
    index: [A, B],
    steps: [
      { kind: 'put', entry: entry('a', 'B', { version: 2 }), value: v('a') },
      { kind: 'put', entry: entry('b', 'A', { version: 2 }), value: v('b') },
    ],
    results: [true, true],
    writes: [
      { kind: 'store', key: key('B'), value: v('a') },
      { kind: 'store', key: key('A'), value: v('b') },
    ],
    deletes: [],
    final: ['a:B@v2', 'b:A@v2'],
  },
  {
    name: 'a remove deletes the value, then the entry',
    index: [A, B],
    steps: [{ kind: 'remove', id: 'a', ifVersion: 1 }],
    results: [true],
    deletes: [key('A')],
    final: ['b:B@v1'],
    nowMissing: { a: false },
  },
  {
    name: 'a remove of an entry that is gone, or that moved on, is refused',
    index: [entry('b', 'B', { version: 2 })],
    steps: [
      { kind: 'remove', id: 'a' },
      { kind: 'remove', id: 'b', ifVersion: 1 },
    ],
    results: [false, false],
    final: ['b:B@v2'],
  },
  {
    name: 'delete then re-create under the same name keeps the new value',
    index: [A],
    steps: [
      { kind: 'remove', id: 'a' },
      { kind: 'put', entry: entry('a2', 'A'), value: v('new') },
    ],
    results: [true, true],
    writes: [{ kind: 'store', key: key('A'), value: v('new') }],
    deletes: [],
    final: ['a2:A@v1'],
  },
  {
    name: 'a patch sets fields in place and removes those given as undefined',
    index: [entry('a', 'A', { role: 'reader' })],
    steps: [{ kind: 'patch', id: 'a', fields: { sync: { base: 1, lv: 1 }, role: undefined } }],
    results: [true],
    final: ['a:A@v1'],
  },
  {
    name: 'an entry whose value is missing stays missing under its new id after a metadata put',
    index: [A],
    missing: ['a'],
    steps: [{ kind: 'put', entry: entry('srv-a', 'A'), replaceId: 'a' }],
    results: [true],
    final: ['srv-a:A@v1'],
    nowMissing: { a: false, 'srv-a': true },
  },
  {
    name: "someone else's secret of your name sits beside yours",
    index: [A],
    steps: [{ kind: 'put', entry: entry('x', 'A', { owner: 'bob' }), value: v('bob') }],
    results: [true],
    writes: [{ kind: 'store', key: key('A', 'personal@bob'), value: v('bob') }],
    final: ['a:A@v1', 'x:A@v1'],
  },
];

describe('planSync', () => {
  it.each(cases)('$name', (c) => {
    const byId = new Map(c.index.map((e) => [e.id, e]));
    const owners = new Map(c.index.map((e) => [valueKeyOf(e), e.id]));
    const missing = new Set(c.missing);
    const plan = planSync(
      { get: (id) => byId.get(id), idAt: (k) => owners.get(k), isMissing: (id) => missing.has(id) },
      c.steps,
      65_536,
    );
    expect(plan.results).toEqual(c.results);
    expect(plan.writes).toEqual(c.writes ?? []);
    if (c.deletes) expect(plan.deletes).toEqual(c.deletes);
    expect(after(c.index, plan.edits)).toEqual(c.final);
    if (c.nowMissing) expect(Object.fromEntries(plan.missing)).toEqual(c.nowMissing);
  });

  it('removes patched fields given as undefined and keeps the rest', () => {
    const a = entry('a', 'A', { role: 'reader', description: 'kept' });
    const plan = planSync(
      { get: () => a, idAt: () => 'a', isMissing: () => false },
      [{ kind: 'patch', id: 'a', fields: { role: undefined, sync: { base: 2, lv: 1 } } }],
      65_536,
    );
    const [edit] = plan.edits;
    expect(edit).toMatchObject({ kind: 'set', entry: { description: 'kept', sync: { base: 2 } } });
    expect(edit?.kind === 'set' && 'role' in edit.entry).toBe(false);
  });

  it('throws on a value over the limit before planning any write', () => {
    expect(() =>
      planSync(
        { get: () => undefined, idAt: () => undefined, isMissing: () => false },
        [{ kind: 'put', entry: A, value: v('x'.repeat(100)) }],
        10,
      ),
    ).toThrow(ValueTooLarge);
  });
});
