/** Conflicts: marking them, comparing both sides, and resolving them to one side. */
import type { ConflictInfo, ConflictKind, IndexEntry, SyncInfo } from '../../core/indexEntry';
import type { SecretMetadata, SecretValue, UpdateSecret } from '../../core/model';
import { PERSONAL } from '../../core/model';
import {
  AccessDenied,
  InvalidInput,
  SecretNotFound,
  SecretsError,
  VersionConflict,
} from '../../core/errors';
import type { SyncStep } from '../../core/localStore';
import { ApiError, isRetryable } from '../errors';
import { markedSync, withSync } from '../syncState';
import { whoAmI, type EngineContext, type SyncReport } from './context';
import { findOnServer, fromServer } from './owners';
import { fetchMeta, fetchRemote, toEnvelope, tryValue } from './remote';

export interface Side {
  /** Null when this side deleted the secret (or lost access to it). */
  version: number | null;
  /** Mine only: the server version the local edit started from (null: never on the server). */
  base?: number | null;
  author: string | null;
  at: string | null;
  deleted: boolean;
  value?: SecretValue;
}

export interface Comparison {
  id: string;
  name: string;
  kind: ConflictKind;
  mine: Side;
  theirs: Side;
}

/** A conflict of `kind` with the server's side `remote`, detected at `now` (ISO time). */
export function conflictAt(
  now: string,
  kind: ConflictKind,
  remote: SecretMetadata | null,
  reason?: 'deleted' | 'access_lost',
): ConflictInfo {
  return {
    kind,
    remote: remote ? withSync(remote, undefined) : null,
    ...(reason && { reason }),
    detected_at: now,
  };
}

export function conflictInfo(
  ctx: EngineContext,
  kind: ConflictKind,
  remote: SecretMetadata | null,
  reason?: 'deleted' | 'access_lost',
): ConflictInfo {
  return conflictAt(ctx.now().toISOString(), kind, remote, reason);
}

/**
 * A step that points an entry's conflict at the server's copy as it is now (`kind` may change),
 * detected at `now`.
 */
export function repointStep(
  now: string,
  id: string,
  info: SyncInfo,
  kind: ConflictKind,
  remote: SecretMetadata | null,
): SyncStep {
  return {
    kind: 'patch',
    id,
    fields: { sync: { ...info, conflict: conflictAt(now, kind, remote) } },
  };
}

/**
 * Marks a local entry conflicted. When both sides already agree (same value, type and
 * description), it takes the server's copy instead: there is nothing to choose.
 */
export async function markConflict(
  ctx: EngineContext,
  entry: IndexEntry,
  kind: ConflictKind,
  remote: SecretMetadata | null,
  report: SyncReport,
  reason?: 'deleted' | 'access_lost',
): Promise<void> {
  if (remote && (kind === 'both_edited' || kind === 'both_created')) {
    const theirs = await tryValue(ctx, remote.id);
    const mine = await ctx.store.getValue(entry.id).catch(() => undefined);
    if (
      theirs &&
      mine &&
      theirs.value === mine.value &&
      theirs.encoding === mine.encoding &&
      remote.type === entry.type &&
      remote.description === entry.description
    ) {
      const sync: SyncInfo = { base: remote.version, lv: remote.version };
      const [ok] = await ctx.store.applySync([
        {
          kind: 'put',
          entry: fromServer(ctx, remote, sync),
          replaceId: entry.id,
          ifVersion: entry.version,
        },
      ]);
      if (ok) return;
    }
  }
  const sync = markedSync(entry, { conflict: conflictInfo(ctx, kind, remote, reason) });
  const [ok] = await ctx.store.applySync([
    { kind: 'patch', id: entry.id, ifVersion: entry.version, fields: { sync } },
  ]);
  if (ok) {
    report.conflicts++;
    ctx.log('warn', `Conflict on '${entry.name}' (${kind}); both sides are kept until you choose.`);
  }
}

/** The entry `id`, its sync info and its conflict; a clear error when it has none to `verb`. */
function conflicted(ctx: EngineContext, id: string, verb: 'resolve' | 'compare') {
  const entry = ctx.store.get(id);
  if (!entry) throw new SecretNotFound(id);
  const info = entry.sync;
  const conflict = info?.conflict;
  if (!info || !conflict) throw new InvalidInput(`'${entry.name}' has no conflict to ${verb}.`);
  return { entry, info, conflict };
}

/**
 * Resolves a conflict: "mine" makes the local side the server's newest version (or deletes it
 * there); "theirs" replaces the local side with the server's. Needs the server.
 */
export async function resolveConflict(
  ctx: EngineContext,
  id: string,
  choice: 'mine' | 'theirs',
): Promise<void> {
  const { entry, info, conflict } = conflicted(ctx, id, 'resolve');
  const remote = conflict.remote;
  await whoAmI(ctx);

  // Deleted here, changed there, and not edited here since: "mine" is the delete. (A copy
  // edited here since is an edit against theirs, resolved like both_edited below.)
  if (conflict.kind === 'deleted_here' && entry.version === info.lv && choice === 'mine') {
    try {
      await ctx.client.deleteSecret(id, remote?.version ?? info.base ?? undefined);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) {
        await refreshAfter412(ctx, error, entry, info);
        throw error;
      }
    }
    await ctx.store.applySync([{ kind: 'remove', id }]);
    return;
  }

  if (choice === 'theirs') {
    // Always the server's copy as it is now, never the one the conflict recorded.
    if (!remote) {
      await ctx.store.applySync([{ kind: 'remove', id }]);
      return;
    }
    const fresh = await fetchRemote(ctx, remote.id);
    if (!fresh) {
      await ctx.store.applySync([{ kind: 'remove', id }]);
      return;
    }
    const sync: SyncInfo = { base: fresh.meta.version, lv: fresh.meta.version };
    const [ok] = await ctx.store.applySync([
      {
        kind: 'put',
        entry: fromServer(ctx, fresh.meta, sync),
        value: fresh.value,
        replaceId: id,
      },
    ]);
    if (!ok) throw new SecretsError('internal', `Could not take the server's '${entry.name}'.`);
    return;
  }

  // Keep mine.
  const mine = await ctx.store.getValue(id);
  let meta: SecretMetadata;
  if (!remote) {
    meta = await recreate(ctx, entry, mine);
  } else {
    if (conflict.kind === 'rejected') {
      throw new AccessDenied(
        `You can only read '${entry.name}' on the server, so your version cannot replace it. Keep theirs, or create a copy under another name.`,
      );
    }
    try {
      meta = await ctx.client.updateSecret(remote.id, remote.version, {
        value: mine.value,
        encoding: mine.encoding,
        type: entry.type,
        description: entry.description,
      } satisfies UpdateSecret);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        meta = await recreate(ctx, entry, mine); // theirs is gone meanwhile: mine stays
      } else {
        await refreshAfter412(ctx, error, entry, info);
        throw error;
      }
    }
  }
  const sync: SyncInfo = { base: meta.version, lv: meta.version };
  const [ok] = await ctx.store.applySync([
    {
      kind: 'put',
      entry: fromServer(ctx, meta, sync),
      replaceId: id,
      value: toEnvelope(mine),
    },
  ]);
  if (!ok)
    throw new SecretsError('internal', `Could not record the server's copy of '${entry.name}'.`);
}

/**
 * Creates the local side again on the server (its copy there was deleted or lost). When the
 * name was taken meanwhile, the conflict now points at that secret and the user chooses again.
 */
async function recreate(
  ctx: EngineContext,
  entry: IndexEntry,
  mine: SecretValue,
): Promise<SecretMetadata> {
  try {
    return await createAnywhere(ctx, entry, mine);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 409)) throw error;
    const remote = await findOnServer(ctx, entry);
    const conflict = conflictInfo(ctx, 'both_created', remote ?? null);
    await ctx.store.applySync([
      { kind: 'patch', id: entry.id, fields: { sync: markedSync(entry, { conflict }) } },
    ]);
    throw new VersionConflict(entry.name, remote?.version);
  }
}

async function createAnywhere(
  ctx: EngineContext,
  entry: IndexEntry,
  mine: SecretValue,
): Promise<SecretMetadata> {
  const body = {
    name: entry.name,
    value: mine.value,
    encoding: mine.encoding,
    type: entry.type,
    description: entry.description,
  };
  try {
    return await ctx.client.createSecret({ ...body, scope: entry.scope });
  } catch (error) {
    // Access to the scope itself may be gone: keep it as a personal secret rather than lose it.
    if (
      entry.scope.kind !== 'personal' &&
      error instanceof ApiError &&
      (error.status === 403 || error.status === 404)
    ) {
      return ctx.client.createSecret({ ...body, scope: PERSONAL });
    }
    throw error;
  }
}

async function refreshAfter412(
  ctx: EngineContext,
  error: unknown,
  entry: IndexEntry,
  info: SyncInfo,
): Promise<void> {
  if (!(error instanceof ApiError && error.status === 412) || !info.conflict) return;
  const remoteId = info.conflict.remote?.id ?? entry.id;
  const fresh = await fetchMeta(ctx, remoteId);
  await ctx.store.applySync([
    repointStep(ctx.now().toISOString(), entry.id, info, info.conflict.kind, fresh ?? null),
  ]);
  throw new VersionConflict(entry.name, fresh?.version);
}

/** Both sides of a conflict: versions, authors, times; values only when asked. */
export async function compare(
  ctx: EngineContext,
  id: string,
  options: { values?: boolean } = {},
): Promise<Comparison> {
  const { entry, info, conflict } = conflicted(ctx, id, 'compare');
  let remote = conflict.remote;
  let author: string | null = remote?.created_by ?? null;
  if (remote) {
    try {
      const fresh = await ctx.client.getSecret(remote.id);
      remote = fresh;
      author = (await ctx.client.versions(remote.id))[0]?.author ?? author;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) remote = null;
      else if (!isRetryable(error)) throw error;
    }
  }
  const deletedHere = conflict.kind === 'deleted_here' && entry.version === info.lv;
  const mine: Side = {
    version: deletedHere ? null : entry.version,
    base: info.base,
    author: deletedHere ? null : (ctx.me ?? 'you'),
    at: deletedHere ? null : entry.updated_at,
    deleted: deletedHere,
  };
  const theirs: Side = {
    version: remote?.version ?? null,
    author: remote ? author : null,
    at: remote?.updated_at ?? null,
    deleted: remote === null,
  };
  if (options.values) {
    if (!deletedHere) mine.value = await ctx.store.getValue(id);
    if (remote) theirs.value = (await tryValue(ctx, remote.id)) ?? undefined;
  }
  return { id, name: entry.name, kind: conflict.kind, mine, theirs };
}
