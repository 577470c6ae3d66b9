/**
 * An entry of the local store's index: a secret's metadata (never its value), plus what this
 * machine records about it: whose secret it is when someone else shared their personal secret
 * (`owner`), and where the copy stands with the team server (`sync`).
 */
import * as z from 'zod';
import { lazySchema } from './lazySchema';
import { SecretMetadata, type Scope } from './model';

export const ConflictKind = lazySchema(() =>
  z.enum([
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
  ]),
);
export type ConflictKind = z.infer<typeof ConflictKind>;

export const ConflictInfo = lazySchema(() =>
  z.object({
    kind: ConflictKind,
    /** The server's side: its metadata, or null when it is gone for this user. */
    remote: SecretMetadata.nullable(),
    reason: z.enum(['deleted', 'access_lost']).optional(),
    detected_at: z.string(),
  }),
);
export type ConflictInfo = z.infer<typeof ConflictInfo>;

export const SyncInfo = lazySchema(() =>
  z.object({
    /** The server version this copy is based on; null when the server does not have it yet. */
    base: z.number().int().nullable(),
    /** The entry's local `version` when it was last in step with the server. */
    lv: z.number().int(),
    conflict: ConflictInfo.optional(),
    /** A push of local version `lv` failed for good (bad input, too large…); retried after an edit. */
    error: z.object({ lv: z.number().int(), code: z.string(), message: z.string() }).optional(),
  }),
);
export type SyncInfo = z.infer<typeof SyncInfo>;

/**
 * Entries keep fields this version does not know (written by a newer version). A malformed `sync`
 * or `owner` reads as absent, as for a secret never synced, rather than making the index unreadable.
 */
export const IndexEntry = lazySchema(() =>
  SecretMetadata.extend({
    /** The owner (user id) of someone else's personal secret shared with you. */
    owner: z.string().min(1).optional().catch(undefined),
    /** Absent for a secret that was never pushed. */
    sync: SyncInfo.optional().catch(undefined),
  }).loose(),
);
export type IndexEntry = z.infer<typeof IndexEntry>;

/** The fields a sync step may set on an entry in place; `undefined` removes the field. */
export type IndexPatch = { [K in 'sync' | 'role']?: IndexEntry[K] | undefined };

/**
 * The owner of someone else's personal secret shared with you (their user id); undefined for your
 * own secrets and for project and team secrets.
 */
export function sharedBy(entry: { scope: Scope; owner?: string | undefined }): string | undefined {
  return entry.scope.kind === 'personal' && entry.owner ? entry.owner : undefined;
}

/** Whether an entry is the server's copy as last synced: pushed, no conflict, no local change since. */
export function inStep(entry: IndexEntry): boolean {
  const info = entry.sync;
  return info !== undefined && info.base !== null && !info.conflict && entry.version === info.lv;
}

/** The local state of a secret with respect to the server. */
export type SyncMark = 'local' | 'pending' | 'synced' | 'conflict' | 'error';

export function syncMarkOf(entry: IndexEntry): SyncMark {
  const info = entry.sync;
  if (info?.conflict) return 'conflict';
  if (info?.error && info.error.lv === entry.version) return 'error';
  if (!info || info.base === null || entry.version !== info.lv) return 'pending';
  return 'synced';
}
