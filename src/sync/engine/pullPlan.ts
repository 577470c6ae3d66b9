/**
 * What a page of the change feed means for the local store, decided without I/O: for each change,
 * whether to take the server's copy (once its value is fetched), remove the local entry, mark a
 * conflict or re-point one. pull.ts carries the decisions out.
 */
import type { Change } from '../../core/api';
import { inStep, type ConflictKind, type IndexEntry, type SyncInfo } from '../../core/indexEntry';
import type { SecretMetadata } from '../../core/model';
import { valueKey } from '../../core/storeKeys';
import type { SyncStep, ValueEnvelope } from '../../core/syncSteps';
import type { PendingDelete } from '../syncState';
import { conflictAt, repointStep } from './conflicts';
import { localEntry, ownerOf } from './owners';

/** What a page's decisions read of the local store, as it was before the page. */
export interface PullView {
  get(id: string): IndexEntry | undefined;
  /** The entry whose value is kept under `key`. */
  at(key: string): IndexEntry | undefined;
}

export type PullDecision =
  /** Bring the server's copy here once its value is fetched, applied with these guards. */
  | {
      kind: 'take';
      meta: SecretMetadata;
      /** Deleted here, changed there: theirs comes back, marked as a conflict. */
      deletedHere: boolean;
      replaceId?: string;
      ifVersion?: number;
    }
  /** Remove the local copy (`lost`: access lost, whatever was edited here; `warn`: say so). */
  | { kind: 'remove'; entry: IndexEntry; lost: boolean; warn: boolean }
  /** Mark the local entry conflicted (compared with the server's side first, see markConflict). */
  | {
      kind: 'conflict';
      entry: IndexEntry;
      conflict: ConflictKind;
      remote: SecretMetadata | null;
      reason?: 'deleted' | 'access_lost';
    }
  /** Point the entry's existing conflict at the server's copy as it is now. */
  | {
      kind: 'repoint';
      entry: IndexEntry;
      info: SyncInfo;
      conflict: ConflictKind;
      remote: SecretMetadata;
    };

export interface PagePlan {
  decisions: PullDecision[];
  /** Pending deletes to forget: the secret is gone there, or theirs comes back. */
  dropDeletes: Set<string>;
}

/**
 * Decides a page of changes for user `me`. Later changes of one id supersede earlier ones within
 * the page; an entry the page removes does not block a new secret of its name (delete, then
 * re-create).
 */
export function planPage(
  changes: readonly Change[],
  view: PullView,
  deletes: readonly PendingDelete[],
  me: string | undefined,
): PagePlan {
  const latest = new Map<string, Change>();
  for (const c of changes) latest.set(c.kind === 'upsert' ? c.secret.id : c.id, c);
  const removing = new Set<string>();
  for (const change of latest.values()) {
    if (change.kind === 'tombstone') removing.add(change.id);
  }
  const plan: PagePlan = { decisions: [], dropDeletes: new Set() };
  for (const change of latest.values()) {
    if (change.kind === 'tombstone') {
      plan.dropDeletes.add(change.id);
      const decision = onTombstone(view.get(change.id), change.reason);
      if (decision) plan.decisions.push(decision);
      continue;
    }
    const meta = change.secret;
    const pendingDelete = deletes.find((d) => d.id === meta.id);
    if (pendingDelete) {
      if (meta.version !== pendingDelete.base) {
        // Deleted here, changed there: bring theirs back, marked, and forget the delete.
        plan.dropDeletes.add(meta.id);
        plan.decisions.push({ kind: 'take', meta, deletedHere: true });
      }
      continue;
    }
    const decision = onUpsert(meta, view, removing, me);
    if (decision) plan.decisions.push(decision);
  }
  return plan;
}

function onTombstone(
  local: IndexEntry | undefined,
  reason: 'deleted' | 'access_lost',
): PullDecision | undefined {
  if (!local) return undefined;
  const info = local.sync;
  const clean = info !== undefined && info.base !== null && local.version === info.lv;
  const lost = reason === 'access_lost';
  // Access lost: the value may no longer be read here, whatever was edited locally.
  if (clean || info?.conflict?.kind === 'deleted_here' || lost) {
    return { kind: 'remove', entry: local, lost, warn: lost && !clean };
  }
  return { kind: 'conflict', entry: local, conflict: 'deleted_there', remote: null, reason };
}

function onUpsert(
  meta: SecretMetadata,
  view: PullView,
  removing: ReadonlySet<string>,
  me: string | undefined,
): PullDecision | undefined {
  const local = view.get(meta.id);
  if (!local) {
    const found = view.at(valueKey(meta.scope, meta.name, ownerOf(me, meta)));
    const clash = found && removing.has(found.id) && isClean(found) ? undefined : found;
    if (!clash) return { kind: 'take', meta, deletedHere: false };
    // A stale copy of a secret the server has since replaced under a new id.
    if (inStep(clash)) {
      return {
        kind: 'take',
        meta,
        deletedHere: false,
        replaceId: clash.id,
        ifVersion: clash.version,
      };
    }
    return { kind: 'conflict', entry: clash, conflict: 'both_created', remote: meta };
  }
  const info = local.sync;
  if (!info) return undefined;
  if (info.conflict) {
    if (info.conflict.kind === 'deleted_here' && local.version === info.lv) {
      return { kind: 'take', meta, deletedHere: true, ifVersion: local.version };
    }
    const conflict = info.conflict.kind === 'deleted_there' ? 'both_edited' : info.conflict.kind;
    return { kind: 'repoint', entry: local, info, conflict, remote: meta };
  }
  if (info.base !== null && meta.version <= info.base) return undefined; // our own echo, or older
  if (local.version === info.lv)
    return { kind: 'take', meta, deletedHere: false, ifVersion: local.version };
  return { kind: 'conflict', entry: local, conflict: 'both_edited', remote: meta };
}

function isClean(entry: IndexEntry): boolean {
  return inStep(entry) || entry.sync?.conflict?.kind === 'deleted_here';
}

/** The step of a remove or repoint decision; undefined for the others. */
export function immediateStep(decision: PullDecision, now: string): SyncStep | undefined {
  if (decision.kind === 'remove') {
    const { entry, lost } = decision;
    return { kind: 'remove', id: entry.id, ...(!lost && { ifVersion: entry.version }) };
  }
  if (decision.kind === 'repoint') {
    return repointStep(now, decision.entry.id, decision.info, decision.conflict, decision.remote);
  }
  return undefined;
}

/** The step that stores the server's copy of a take decision, with its value. */
export function takeStep(
  decision: Extract<PullDecision, { kind: 'take' }>,
  value: ValueEnvelope,
  me: string | undefined,
  now: string,
): SyncStep {
  const { meta } = decision;
  const sync: SyncInfo = decision.deletedHere
    ? { base: meta.version, lv: meta.version, conflict: conflictAt(now, 'deleted_here', meta) }
    : { base: meta.version, lv: meta.version };
  return {
    kind: 'put',
    entry: localEntry(me, meta, sync),
    value,
    ...(decision.replaceId !== undefined && { replaceId: decision.replaceId }),
    ...(decision.ifVersion !== undefined && { ifVersion: decision.ifVersion }),
  };
}

/** After a full listing: tombstones for what this machine holds from the server but it did not list. */
export function unlisted(entries: Iterable<IndexEntry>, seen: ReadonlySet<string>): Change[] {
  const gone: Change[] = [];
  for (const entry of entries) {
    const info = entry.sync;
    if (info && info.base !== null && !seen.has(entry.id)) {
      gone.push({ kind: 'tombstone', id: entry.id, reason: 'deleted' });
    }
  }
  return gone;
}
