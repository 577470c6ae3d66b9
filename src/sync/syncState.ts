/**
 * What the sync engine keeps on this machine besides the values, and never a value:
 *
 * - on each index entry of the LocalSecretStore, a `sync` field (see SyncInfo): the server version
 *   the local copy is based on, and conflict or error marks. An entry without it was never pushed.
 * - under `notebook-secrets-sync/state`: the change-feed cursor and the pending deletes (the part
 *   of the outbox that the index cannot hold, since the entry is gone).
 */
import * as z from '../core/zod';
import type { KeyValueSecretStore } from '../core/keyValueStore';
import { syncMarkOf, type IndexEntry, type SyncInfo } from '../core/indexEntry';
import { Scope, type SecretMetadata } from '../core/model';
import { valueKeyOf } from '../core/storeKeys';

export {
  ConflictInfo,
  ConflictKind,
  SyncInfo,
  inStep,
  syncMarkOf,
  type SyncMark,
} from '../core/indexEntry';

/**
 * Outside the local store's prefix on purpose: writing sync bookkeeping must not make every window
 * reload the secrets index (they watch `notebook-secrets/` keys).
 */
export const SYNC_PREFIX = 'notebook-secrets-sync/';
export const SYNC_STATE_KEY = `${SYNC_PREFIX}state`;

/** An index entry with its sync field set (or removed, for `undefined`). */
export function withSync(
  meta: SecretMetadata | IndexEntry,
  sync: SyncInfo | undefined,
): IndexEntry {
  return { ...meta, sync };
}

/** The entry's sync field with a new conflict or error mark, on the base and local version it had. */
export function markedSync(
  entry: IndexEntry,
  mark: Pick<SyncInfo, 'conflict'> | Pick<SyncInfo, 'error'>,
): SyncInfo {
  return { base: entry.sync?.base ?? null, lv: entry.sync?.lv ?? 0, ...mark };
}

export const PendingDelete = z.object({
  id: z.string(),
  name: z.string(),
  scope: Scope,
  base: z.number().check(z.int()),
});
export type PendingDelete = z.infer<typeof PendingDelete>;

export const SyncStateFile = z.object({
  version: z.literal(1),
  cursor: z.nullable(z.string()),
  deletes: z.array(PendingDelete),
  /** Server ids to fetch again: a local copy that stood in their way was deleted here. */
  refetch: z._default(z.array(z.string()), []),
  last_sync_at: z.nullable(z.string()),
  /** The user id the local copy was synced for. */
  user: z.nullable(z.string()),
});
export type SyncStateFile = z.infer<typeof SyncStateFile>;

export function emptyState(): SyncStateFile {
  return { version: 1, cursor: null, deletes: [], refetch: [], last_sync_at: null, user: null };
}

export async function loadSyncState(kv: KeyValueSecretStore): Promise<SyncStateFile> {
  const raw = await kv.get(SYNC_STATE_KEY);
  if (raw === undefined) return emptyState();
  try {
    const parsed = SyncStateFile.safeParse(JSON.parse(raw));
    // An unreadable state only costs a full listing (cursor null); pending deletes are lost then,
    // and the deleted secrets come back from the server rather than vanish unseen.
    return parsed.success ? parsed.data : emptyState();
  } catch {
    return emptyState();
  }
}

export async function saveSyncState(kv: KeyValueSecretStore, state: SyncStateFile): Promise<void> {
  await kv.store(SYNC_STATE_KEY, JSON.stringify(state));
}

/** One pending change, as the outbox shows it: what to send and where its value is kept. */
export interface OutboxItem {
  op: 'create' | 'update' | 'delete';
  id: string;
  name: string;
  scope: Scope;
  /** The SecretStorage key of the value to send (none for a delete). */
  valueKey?: string;
  /** The server version the change is based on (If-Match). */
  base?: number;
}

export function outboxOf(entries: Iterable<IndexEntry>, state: SyncStateFile): OutboxItem[] {
  const items: OutboxItem[] = state.deletes.map((d) => ({
    op: 'delete',
    id: d.id,
    name: d.name,
    scope: d.scope,
    base: d.base,
  }));
  for (const entry of entries) {
    if (syncMarkOf(entry) !== 'pending') continue;
    const info = entry.sync;
    const create = !info || info.base === null;
    items.push({
      op: create ? 'create' : 'update',
      id: entry.id,
      name: entry.name,
      scope: entry.scope,
      valueKey: valueKeyOf(entry),
      ...(!create && { base: info.base! }),
    });
  }
  return items;
}
