/**
 * How the sync engine writes what the server says into the local store, as a pure plan: given the
 * index as it is and a batch of steps, which steps apply, which values to write, copy and delete,
 * and how the index changes. `LocalSecretStore.applySync` carries the plan out.
 */
import type { Encoding } from './model';
import type { IndexEntry, IndexPatch } from './indexEntry';
import { valueKeyOf } from './storeKeys';
import { assertValueSize } from './validation';

/**
 * One step of a sync batch: written without bumping versions the way user edits do. `ifVersion`
 * makes a step apply only when the entry still has that local version (a user edit in between
 * wins and is pushed later).
 */
export type SyncStep =
  | {
      kind: 'put';
      /** The entry as it should be stored (id, version and sync fields included). */
      entry: IndexEntry;
      /** The value to store; omit to keep the stored one (metadata-only change). */
      value?: ValueEnvelope;
      /** Replace this entry (e.g. a local id that the server gave a new id); default entry.id. */
      replaceId?: string;
      ifVersion?: number;
    }
  | { kind: 'remove'; id: string; ifVersion?: number }
  | { kind: 'patch'; id: string; fields: IndexPatch; ifVersion?: number };

export interface ValueEnvelope {
  value: string;
  encoding: Encoding;
}

/** What the planner reads of the index as it stands. */
export interface IndexView {
  get(id: string): IndexEntry | undefined;
  /** The id of the entry whose value is kept under `key`. */
  idAt(key: string): string | undefined;
  isMissing(id: string): boolean;
}

/** A value write, in the order the plan makes them. */
export type ValueWrite =
  | { kind: 'store'; key: string; value: ValueEnvelope }
  /** Moves a value along with its entry: the value stored under `from`, if any, under `to`. */
  | { kind: 'copy'; from: string; to: string };

/** A change to the index, in order: `set` puts the entry in the place of `replaces` (or its own). */
export type IndexEdit =
  { kind: 'set'; entry: IndexEntry; replaces?: string } | { kind: 'remove'; id: string };

export interface SyncPlan {
  /** Per step, whether it applies (false: the entry was gone, its version had moved on, or a clash). */
  results: boolean[];
  /** Value writes, done first. */
  writes: ValueWrite[];
  /** Value keys no entry holds any more: deleted after the writes, before the index changes. */
  deletes: string[];
  edits: IndexEdit[];
  /** Entries whose value is known missing (true) or present (false) after the plan. */
  missing: Map<string, boolean>;
}

/**
 * Plans a batch. A put whose place and name belong to another entry is refused unless that entry
 * is the one it replaces, or one a later put of the batch moves away with its value (renames on
 * the server: A→B while B→A), so a value can never be overwritten unseen. A metadata-only put that
 * moves an entry to another place takes its value along. Throws (before anything is written) when
 * a value exceeds `maxValueBytes`.
 */
export function planSync(
  view: IndexView,
  steps: readonly SyncStep[],
  maxValueBytes: number,
): SyncPlan {
  const plan: SyncPlan = { results: [], writes: [], deletes: [], edits: [], missing: new Map() };
  // The index as the plan has changed it so far, over the view: null for gone.
  const entries = new Map<string, IndexEntry | null>();
  const owners = new Map<string, string | null>();
  const get = (id: string) => {
    const entry = entries.get(id);
    return entry === undefined ? view.get(id) : (entry ?? undefined);
  };
  const ownerOf = (key: string) => {
    const owner = owners.get(key);
    return owner === undefined ? view.idAt(key) : (owner ?? undefined);
  };
  const isMissing = (id: string) => plan.missing.get(id) ?? view.isMissing(id);
  const deleteKeys = new Set<string>();

  // Entries a put of this batch moves to another name, bringing their value along: their name is
  // free for an earlier put.
  const vacating = new Set<string>();
  for (const step of steps) {
    if (step.kind !== 'put' || !step.value) continue;
    const current = view.get(step.replaceId ?? step.entry.id);
    if (!current || (step.ifVersion !== undefined && current.version !== step.ifVersion)) continue;
    if (valueKeyOf(current) !== valueKeyOf(step.entry)) vacating.add(current.id);
  }

  const put = (step: Extract<SyncStep, { kind: 'put' }>): boolean => {
    const targetId = step.replaceId ?? step.entry.id;
    const current = get(targetId);
    vacating.delete(targetId);
    if (step.ifVersion !== undefined && current?.version !== step.ifVersion) return false;
    const key = valueKeyOf(step.entry);
    const owner = ownerOf(key);
    const clash =
      owner !== undefined && owner !== targetId && owner !== step.entry.id && !vacating.has(owner);
    if (clash || (!current && step.value === undefined)) return false;
    if (step.value) {
      assertValueSize(step.value.value, maxValueBytes);
      plan.writes.push({ kind: 'store', key, value: step.value });
      plan.missing.set(step.entry.id, false);
    }
    deleteKeys.delete(key);
    if (current) {
      const oldKey = valueKeyOf(current);
      if (oldKey !== key) {
        if (!step.value) plan.writes.push({ kind: 'copy', from: oldKey, to: key });
        deleteKeys.add(oldKey);
        // Another entry of this batch may have taken the old name already.
        if (ownerOf(oldKey) === targetId) owners.set(oldKey, null);
      }
      const wasMissing = isMissing(targetId);
      if (targetId !== step.entry.id) entries.set(targetId, null);
      plan.missing.set(targetId, false);
      if (wasMissing && !step.value) plan.missing.set(step.entry.id, true);
    }
    owners.set(key, step.entry.id);
    entries.set(step.entry.id, step.entry);
    plan.edits.push({
      kind: 'set',
      entry: step.entry,
      ...(current && targetId !== step.entry.id && { replaces: targetId }),
    });
    return true;
  };

  for (const step of steps) {
    if (step.kind === 'put') {
      plan.results.push(put(step));
      continue;
    }
    const current = get(step.id);
    if (!current || (step.ifVersion !== undefined && current.version !== step.ifVersion)) {
      plan.results.push(false);
      continue;
    }
    if (step.kind === 'remove') {
      const key = valueKeyOf(current);
      deleteKeys.add(key);
      owners.set(key, null);
      entries.set(step.id, null);
      plan.missing.set(step.id, false);
      plan.edits.push({ kind: 'remove', id: step.id });
    } else {
      const next = patched(current, step.fields);
      entries.set(step.id, next);
      plan.edits.push({ kind: 'set', entry: next });
    }
    plan.results.push(true);
  }
  // A name another entry took over in this batch keeps its (new) value.
  plan.deletes = [...deleteKeys].filter((key) => ownerOf(key) === undefined);
  return plan;
}

/** The entry with `fields` set, and those given as undefined removed. */
function patched(entry: IndexEntry, fields: IndexPatch): IndexEntry {
  const next: IndexEntry = { ...entry, ...fields, id: entry.id };
  for (const field of Object.keys(fields) as (keyof IndexPatch)[]) {
    if (fields[field] === undefined) delete next[field];
  }
  return next;
}
