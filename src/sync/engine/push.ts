/** Push: local creates, edits and deletes sent to the server with If-Match on their base version. */
import type { IndexEntry, SyncInfo } from '../../core/indexEntry';
import type { SecretMetadata, SecretValue } from '../../core/model';
import { sharedBy } from '../../core/localStore';
import { ApiError, isRetryable } from '../errors';
import { loadSyncState, markedSync, withSync } from '../syncState';
import { saveState, type EngineContext, type SyncReport } from './context';
import { conflictInfo, markConflict } from './conflicts';
import { findOnServer, fromServer } from './owners';
import { fetchMeta, fetchRemote } from './remote';

/** Sends the pending deletes, then every entry with a local change not yet on the server. */
export async function push(ctx: EngineContext, report: SyncReport): Promise<void> {
  for (const pending of [...ctx.state.deletes]) {
    await pushDelete(ctx, pending.id, pending.base, report);
  }
  for (const entry of ctx.store.unsynced()) {
    const info = entry.sync;
    if (info?.conflict) continue;
    if (info?.error && info.error.lv === entry.version) continue;
    const create = !info || info.base === null;
    if (!create && entry.version === info.lv) continue;
    // Someone else's secret can only be edited in place, never created in their scope.
    if (create && sharedBy(entry) !== undefined) continue;
    await pushEntry(ctx, entry, create ? null : info.base!, report);
  }
}

/**
 * Records the local delete of a synced entry in the durable state before the entry goes (the local
 * store's delete hook), so the next round sends it.
 */
export async function recordDelete(ctx: EngineContext, entry: IndexEntry): Promise<void> {
  // Another window may have written the state since: read, change, write.
  ctx.state = await loadSyncState(ctx.kv);
  const info = entry.sync;
  const remote = info?.conflict?.remote;
  if (remote && remote.id !== entry.id) {
    // The local copy of a both-created conflict is gone: theirs must come back here.
    ctx.state = { ...ctx.state, refetch: [...ctx.state.refetch, remote.id] };
    await saveState(ctx);
  }
  if (!info || info.base === null) return;
  if (info.conflict?.kind === 'deleted_there') return;
  // Based on the version this copy came from: a change made there since makes it a conflict.
  const base = info.base;
  ctx.state = {
    ...ctx.state,
    deletes: [
      ...ctx.state.deletes.filter((d) => d.id !== entry.id),
      { id: entry.id, name: entry.name, scope: entry.scope, base },
    ],
  };
  await saveState(ctx);
}

async function pushDelete(
  ctx: EngineContext,
  id: string,
  base: number,
  report: SyncReport,
): Promise<void> {
  const drop = async (): Promise<void> => {
    ctx.state = { ...ctx.state, deletes: ctx.state.deletes.filter((d) => d.id !== id) };
    await saveState(ctx);
  };
  if (ctx.store.get(id)) return drop(); // the delete never happened (crash before it)
  try {
    await ctx.client.deleteSecret(id, base);
    report.pushed++;
    ctx.log('info', `Deleted ${id} on the server.`);
    return drop();
  } catch (error) {
    if (isRetryable(error) || !(error instanceof ApiError)) throw error;
    if (error.status === 404) return drop();
    if (error.status !== 412 && error.status !== 403) throw error;
    // Changed on the server since (412), or we may only read it (403): bring theirs back.
    const remote = await fetchRemote(ctx, id);
    if (remote) {
      const conflict =
        error.status === 412 ? conflictInfo(ctx, 'deleted_here', remote.meta) : undefined;
      const sync: SyncInfo = { base: remote.meta.version, lv: remote.meta.version, conflict };
      const [ok] = await ctx.store.applySync([
        { kind: 'put', entry: fromServer(ctx, remote.meta, sync), value: remote.value },
      ]);
      if (!ok)
        ctx.log('warn', `Could not restore '${remote.meta.name}': a local secret has its name.`);
      if (error.status === 403) {
        report.errors.push({
          name: remote.meta.name,
          message: `You can only read '${remote.meta.name}', so it was not deleted on the server; it is back.`,
        });
      }
    }
    return drop();
  }
}

async function pushEntry(
  ctx: EngineContext,
  entry: IndexEntry,
  base: number | null,
  report: SyncReport,
): Promise<void> {
  let value: SecretValue;
  try {
    value = await ctx.store.getValue(entry.id);
  } catch (error) {
    ctx.log('warn', `Not pushing '${entry.name}': ${(error as Error).message}`);
    return;
  }
  try {
    const meta =
      base === null
        ? await ctx.client.createSecret({
            name: entry.name,
            value: value.value,
            encoding: value.encoding,
            type: entry.type,
            description: entry.description,
            scope: entry.scope,
          })
        : await ctx.client.updateSecret(entry.id, base, {
            value: value.value,
            encoding: value.encoding,
            type: entry.type,
            description: entry.description,
          });
    report.pushed++;
    ctx.log('info', `Pushed '${entry.name}' (server version ${meta.version}).`);
    await afterPush(ctx, entry.id, entry.version, meta);
  } catch (error) {
    if (isRetryable(error) || !(error instanceof ApiError) || error.status === 401) throw error;
    if (base === null && error.status === 409) {
      const remote = await findOnServer(ctx, entry);
      if (remote) return markConflict(ctx, entry, 'both_created', remote, report);
    }
    if (base !== null && error.status === 412) {
      const remote = await fetchMeta(ctx, entry.id);
      return markConflict(
        ctx,
        entry,
        remote ? 'both_edited' : 'deleted_there',
        remote ?? null,
        report,
      );
    }
    if (base !== null && error.status === 404) {
      return markConflict(ctx, entry, 'deleted_there', null, report, 'deleted');
    }
    if (base !== null && error.status === 403) {
      const remote = await fetchMeta(ctx, entry.id);
      return markConflict(ctx, entry, 'rejected', remote ?? null, report);
    }
    // Refused for good (bad input, too large, scope not allowed…): keep it, mark it, move on.
    const mark = { error: { lv: entry.version, code: error.code, message: error.message } };
    await ctx.store.applySync([
      {
        kind: 'patch',
        id: entry.id,
        ifVersion: entry.version,
        fields: { sync: markedSync(entry, mark) },
      },
    ]);
    report.errors.push({ name: entry.name, message: error.message });
    ctx.log('warn', `The server refused '${entry.name}': ${error.message}`);
  }
}

/** Records a successful push; an edit made meanwhile stays pending on top of the new version. */
async function afterPush(
  ctx: EngineContext,
  localId: string,
  pushedVersion: number,
  meta: SecretMetadata,
): Promise<void> {
  const clean: SyncInfo = { base: meta.version, lv: meta.version };
  const [ok] = await ctx.store.applySync([
    {
      kind: 'put',
      entry: fromServer(ctx, meta, clean),
      replaceId: localId,
      ifVersion: pushedVersion,
    },
  ]);
  if (ok) return;
  const current = ctx.store.get(localId);
  if (current) {
    const dirty: SyncInfo = { base: meta.version, lv: pushedVersion };
    await ctx.store.applySync([
      { kind: 'put', entry: withSync({ ...current, id: meta.id }, dirty), replaceId: localId },
    ]);
  } else {
    // Deleted here while the push was in flight: delete it on the server too.
    ctx.state = {
      ...ctx.state,
      deletes: [
        ...ctx.state.deletes,
        { id: meta.id, name: meta.name, scope: meta.scope, base: meta.version },
      ],
    };
    await saveState(ctx);
  }
}
