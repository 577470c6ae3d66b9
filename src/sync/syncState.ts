/**
 * What the sync engine keeps on this machine besides the values, and never a value:
 *
 * - on each index entry of the LocalSecretStore, a `sync` field (see SyncInfo): the server version
 *   the local copy is based on, and conflict or error marks. An entry without it was never pushed.
 * - under `notebook-secrets-sync/state`: the change-feed cursor and the pending deletes (the part
 *   of the outbox that the index cannot hold, since the entry is gone).
 */
import * as z from 'zod';
import type { KeyValueSecretStore } from '../core/keyValueStore';
import { Scope, SecretMetadata } from '../core/model';
import { valueKeyOf } from '../core/localStore';

/**
 * Outside the local store's prefix on purpose: writing sync bookkeeping must not make every window
 * reload the secrets index (they watch `notebook-secrets/` keys).
 */
export const SYNC_PREFIX = 'notebook-secrets-sync/';
export const SYNC_STATE_KEY = `${SYNC_PREFIX}state`;

export const ConflictKind = z.enum([
  /** Edited here and on the server since the last sync. */
  'both_edited',
  /** Created here while a secret of the same name and scope was created on the server. */
  'both_created',
  /** Deleted here while it was changed on the server (the local copy holds theirs). */
  'deleted_here',
  /** Edited here while it was deleted on the server, or access to it was lost. */
  'deleted_there',
  /** The server refused the local edit (e.g. you are a reader). */
  'rejected',
]);
export type ConflictKind = z.infer<typeof ConflictKind>;

export const ConflictInfo = z.object({
  kind: ConflictKind,
  /** The server's side: its metadata, or null when it is gone for this user. */
  remote: SecretMetadata.nullable(),
  reason: z.enum(['deleted', 'access_lost']).optional(),
  detected_at: z.string(),
});
export type ConflictInfo = z.infer<typeof ConflictInfo>;

export const SyncInfo = z.object({
  /** The server version this copy is based on; null when the server does not have it yet. */
  base: z.number().int().nullable(),
  /** The entry's local `version` when it was last in step with the server. */
  lv: z.number().int(),
  conflict: ConflictInfo.optional(),
  /** A push of local version `lv` failed for good (bad input, too large…); retried after an edit. */
  error: z.object({ lv: z.number().int(), code: z.string(), message: z.string() }).optional(),
});
export type SyncInfo = z.infer<typeof SyncInfo>;

const cache = new WeakMap<object, SyncInfo | null>();

/** The sync field of an index entry, or undefined for a secret that was never pushed. */
export function syncInfoOf(entry: SecretMetadata): SyncInfo | undefined {
  let info = cache.get(entry);
  if (info === undefined) {
    const parsed = SyncInfo.safeParse((entry as Record<string, unknown>).sync);
    info = parsed.success ? parsed.data : null;
    cache.set(entry, info);
  }
  return info ?? undefined;
}

/** An index entry with its sync field set. */
export function withSync(meta: SecretMetadata, sync: SyncInfo | undefined): SecretMetadata {
  const copy: Record<string, unknown> = { ...meta };
  delete copy.sync;
  if (sync !== undefined) copy.sync = sync;
  return copy as SecretMetadata;
}

/** Whether an entry is the server's copy as last synced: pushed, no conflict, no local change since. */
export function inStep(entry: SecretMetadata): boolean {
  const info = syncInfoOf(entry);
  return info !== undefined && info.base !== null && !info.conflict && entry.version === info.lv;
}

/** The entry's sync field with a new conflict or error mark, on the base and local version it had. */
export function markedSync(
  entry: SecretMetadata,
  mark: Pick<SyncInfo, 'conflict'> | Pick<SyncInfo, 'error'>,
): SyncInfo {
  const info = syncInfoOf(entry);
  return { base: info?.base ?? null, lv: info?.lv ?? 0, ...mark };
}

/** The local state of a secret with respect to the server. */
export type SyncMark = 'local' | 'pending' | 'synced' | 'conflict' | 'error';

export function syncMarkOf(entry: SecretMetadata): SyncMark {
  const info = syncInfoOf(entry);
  if (info?.conflict) return 'conflict';
  if (info?.error && info.error.lv === entry.version) return 'error';
  if (!info || info.base === null || entry.version !== info.lv) return 'pending';
  return 'synced';
}

export const PendingDelete = z.object({
  id: z.string(),
  name: z.string(),
  scope: Scope,
  base: z.number().int(),
});
export type PendingDelete = z.infer<typeof PendingDelete>;

export const SyncStateFile = z.object({
  version: z.literal(1),
  cursor: z.string().nullable(),
  deletes: z.array(PendingDelete),
  /** Server ids to fetch again: a local copy that stood in their way was deleted here. */
  refetch: z.array(z.string()).default([]),
  last_sync_at: z.string().nullable(),
  /** The user id the local copy was synced for. */
  user: z.string().nullable(),
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

export function outboxOf(entries: readonly SecretMetadata[], state: SyncStateFile): OutboxItem[] {
  const items: OutboxItem[] = state.deletes.map((d) => ({
    op: 'delete',
    id: d.id,
    name: d.name,
    scope: d.scope,
    base: d.base,
  }));
  for (const entry of entries) {
    if (syncMarkOf(entry) !== 'pending') continue;
    const info = syncInfoOf(entry);
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
