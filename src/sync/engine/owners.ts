/** Whose secret a local entry is: someone else's personal secret carries its owner. */
import type { IndexEntry, SyncInfo } from '../../core/indexEntry';
import type { SecretMetadata } from '../../core/model';
import { sameScope } from '../../core/scope';
import { sharedBy, type SyncStep } from '../../core/localStore';
import { saveState, whoAmI, type EngineContext } from './context';

/**
 * A server copy as a local index entry for user `me`: someone else's personal secret carries its
 * owner, so it sits beside (never in place of) your own secret of the same name.
 */
export function localEntry(
  me: string | undefined,
  meta: SecretMetadata,
  sync: SyncInfo | undefined,
): IndexEntry {
  // Field by field: a spread of the parsed answer cost about 2 µs a secret in a full sync. The
  // `satisfies` makes a field added to SecretMetadata a compile error here until it is copied.
  const entry = {
    id: meta.id,
    name: meta.name,
    encoding: meta.encoding,
    type: meta.type,
    description: meta.description,
    scope: meta.scope,
    version: meta.version,
    created_at: meta.created_at,
    updated_at: meta.updated_at,
    created_by: meta.created_by,
    access: meta.access,
    role: meta.role,
    owner: ownerOf(me, meta),
    sync,
  } satisfies Record<keyof SecretMetadata, unknown> & IndexEntry;
  return entry;
}

/** Whose personal secret a server copy is when it is not `me`'s: its owner; else undefined. */
export function ownerOf(me: string | undefined, meta: SecretMetadata): string | undefined {
  const shared = meta.scope.kind === 'personal' && me !== undefined && meta.created_by !== me;
  return shared ? meta.created_by : undefined;
}

/** localEntry for the signed-in user. */
export function fromServer(
  ctx: EngineContext,
  meta: SecretMetadata,
  sync: SyncInfo | undefined,
): IndexEntry {
  return localEntry(ctx.me, meta, sync);
}

/**
 * Stores written before entries carried an owner kept someone else's shared personal secret in
 * the place of your own secret of that name. Gives each its owner, and takes a full listing so
 * that a secret of yours it stood in for comes back. Looks once per session and user: entries
 * written since always carry their owner.
 */
export async function adoptOwners(ctx: EngineContext, me: string): Promise<void> {
  if (ctx.ownersAdopted === me) return;
  const steps: SyncStep[] = [];
  for (const entry of ctx.store.list()) {
    if (entry.scope.kind !== 'personal' || sharedBy(entry) !== undefined) continue;
    const info = entry.sync;
    if (!info || info.base === null || entry.created_by === me) continue;
    steps.push({ kind: 'put', entry: { ...entry, owner: entry.created_by } });
  }
  if (steps.length > 0) {
    const done = await ctx.store.applySync(steps);
    ctx.log('info', `Marked ${done.filter(Boolean).length} shared secret(s) with their owner.`);
    ctx.state = { ...ctx.state, cursor: null };
    await saveState(ctx);
  }
  ctx.ownersAdopted = me;
}

/** Your own secrets as the server lists them: someone else's shared personal ones left out. */
export async function findOnServer(
  ctx: EngineContext,
  entry: IndexEntry,
): Promise<SecretMetadata | undefined> {
  const me = await whoAmI(ctx);
  return (await ctx.client.listSecrets({ q: entry.name })).find(
    (s) =>
      s.name === entry.name &&
      sameScope(s.scope, entry.scope) &&
      (s.scope.kind !== 'personal' || s.created_by === me),
  );
}
