/** Pull: the server's change feed applied to the local store, values fetched in batches. */
import type { SecretMetadata, SecretValue } from '../../core/model';
import { MAX_VALUES_PER_REQUEST, type Change, type ChangesPage } from '../../core/api';
import { MalformedResponse } from '../../core/errors';
import { valueKeyOf, type SyncStep } from '../../core/localStore';
import { ApiError } from '../errors';
import { inStep, syncInfoOf, type SyncInfo } from '../syncState';
import { saveState, type EngineContext, type SyncReport } from './context';
import { conflictInfo, markConflict, repointConflict } from './conflicts';
import { fromServer } from './owners';
import { fetchMeta, toEnvelope } from './remote';

/**
 * Applies the change feed from the stored cursor, saving the cursor after each page; after a full
 * listing (`reset`), what the server no longer lists is removed here.
 */
export async function pull(ctx: EngineContext, report: SyncReport): Promise<void> {
  if (ctx.state.refetch.length > 0) {
    const again: Change[] = [];
    for (const id of ctx.state.refetch) {
      const meta = await fetchMeta(ctx, id);
      again.push(
        meta ? { kind: 'upsert', secret: meta } : { kind: 'tombstone', id, reason: 'deleted' },
      );
    }
    await applyChanges(ctx, again, report);
    ctx.state = { ...ctx.state, refetch: [] };
    await saveState(ctx);
  }
  let cursor = ctx.state.cursor ?? undefined;
  let seen: Set<string> | undefined;
  for (let pages = 0; ; pages++) {
    if (pages === ctx.maxPages) {
      throw new MalformedResponse(
        `The server's change feed did not end after ${ctx.maxPages} pages; sync stopped here and carries on from this point next time.`,
      );
    }
    const page: ChangesPage = await ctx.client.changes(cursor, ctx.pageLimit);
    if (page.more && page.next === cursor) {
      throw new MalformedResponse(
        "The server's change feed did not move past its cursor (it answered more changes at the same point); sync stopped. Check the server version, or sign out and in again.",
      );
    }
    if (page.reset && !seen) seen = new Set();
    if (seen) for (const c of page.changes) if (c.kind === 'upsert') seen.add(c.secret.id);
    await applyChanges(ctx, page.changes, report);
    cursor = page.next;
    if (!seen) {
      ctx.state = { ...ctx.state, cursor };
      await saveState(ctx);
    }
    if (!page.more) break;
  }
  if (seen) {
    // A full listing: what we hold from the server but it no longer lists is gone for us.
    const gone: Change[] = [];
    for (const entry of ctx.store.list()) {
      const info = syncInfoOf(entry);
      if (info && info.base !== null && !seen.has(entry.id)) {
        gone.push({ kind: 'tombstone', id: entry.id, reason: 'deleted' });
      }
    }
    await applyChanges(ctx, gone, report);
    ctx.state = { ...ctx.state, cursor: cursor ?? null };
    await saveState(ctx);
  }
}

async function applyChanges(
  ctx: EngineContext,
  changes: readonly Change[],
  report: SyncReport,
): Promise<void> {
  // Later changes of one id supersede earlier ones within a page.
  const latest = new Map<string, Change>();
  for (const c of changes) latest.set(c.kind === 'upsert' ? c.secret.id : c.id, c);

  // Lookups by id and by name+scope for the whole page (the store's own are linear scans).
  const byId = new Map(ctx.store.list().map((e) => [e.id, e] as const));
  const byKey = new Map(ctx.store.list().map((e) => [valueKeyOf(e), e] as const));
  const steps: SyncStep[] = [];
  const needValue: { meta: SecretMetadata; then: (value: SecretValue | null) => void }[] = [];
  const conflicts: (() => Promise<void>)[] = [];
  const dropDeletes = new Set<string>();
  // Brings the server's copy of `meta` here once its value is fetched, based on that version:
  // marked as deleted here (a conflict) or counted as pulled, applied with `guards`.
  const take = (
    meta: SecretMetadata,
    deletedHere: boolean,
    guards: { replaceId?: string; ifVersion?: number } = {},
  ): void => {
    needValue.push({
      meta,
      then: (value) => {
        if (!value) return;
        const sync: SyncInfo = deletedHere
          ? {
              base: meta.version,
              lv: meta.version,
              conflict: conflictInfo(ctx, 'deleted_here', meta),
            }
          : { base: meta.version, lv: meta.version };
        steps.push({
          kind: 'put',
          entry: fromServer(ctx, meta, sync),
          value: toEnvelope(value),
          ...guards,
        });
        if (!deletedHere) report.pulled++;
      },
    });
  };
  // Entries this page removes do not block a new secret of the same name (delete, then re-create).
  const removing = new Set<string>();
  for (const change of latest.values()) {
    if (change.kind === 'tombstone') removing.add(change.id);
  }

  for (const change of latest.values()) {
    if (change.kind === 'tombstone') {
      dropDeletes.add(change.id);
      const local = byId.get(change.id);
      if (!local) continue;
      const info = syncInfoOf(local);
      const clean = info && info.base !== null && local.version === info.lv;
      // Access lost: the value may no longer be read here, whatever was edited locally.
      if (clean || info?.conflict?.kind === 'deleted_here' || change.reason === 'access_lost') {
        if (!clean && change.reason === 'access_lost') {
          ctx.log('warn', `Lost access to '${local.name}'; removed it from this machine.`);
        }
        const lost = change.reason === 'access_lost';
        steps.push({ kind: 'remove', id: local.id, ...(!lost && { ifVersion: local.version }) });
        report.removed++;
      } else {
        conflicts.push(() =>
          markConflict(ctx, local, 'deleted_there', null, report, change.reason),
        );
      }
      continue;
    }
    const meta = change.secret;
    const pendingDelete = ctx.state.deletes.find((d) => d.id === meta.id);
    if (pendingDelete) {
      if (meta.version !== pendingDelete.base) {
        // Deleted here, changed there: bring theirs back, marked, and forget the delete.
        dropDeletes.add(meta.id);
        take(meta, true);
      }
      continue;
    }
    const local = byId.get(meta.id);
    if (!local) {
      const found = byKey.get(valueKeyOf(fromServer(ctx, meta, undefined)));
      const clash = found && removing.has(found.id) && isClean(found) ? undefined : found;
      if (!clash) {
        take(meta, false);
        continue;
      }
      if (inStep(clash)) {
        // A stale copy of a secret the server has since replaced under a new id.
        take(meta, false, { replaceId: clash.id, ifVersion: clash.version });
      } else {
        conflicts.push(() => markConflict(ctx, clash, 'both_created', meta, report));
      }
      continue;
    }
    const info = syncInfoOf(local);
    if (!info) continue;
    if (info.conflict) {
      if (info.conflict.kind === 'deleted_here' && local.version === info.lv) {
        take(meta, true, { ifVersion: local.version });
      } else {
        const kind = info.conflict.kind === 'deleted_there' ? 'both_edited' : info.conflict.kind;
        steps.push(repointConflict(ctx, local.id, info, kind, meta));
      }
      continue;
    }
    if (info.base !== null && meta.version <= info.base) continue; // our own echo, or older
    if (local.version === info.lv) {
      take(meta, false, { ifVersion: local.version });
    } else {
      conflicts.push(() => markConflict(ctx, local, 'both_edited', meta, report));
    }
  }

  await fetchValues(ctx, needValue);
  if (steps.length > 0) await ctx.store.applySync(steps);
  for (const mark of conflicts) await mark();
  if (dropDeletes.size > 0) {
    ctx.state = {
      ...ctx.state,
      deletes: ctx.state.deletes.filter((d) => !dropDeletes.has(d.id)),
    };
    await saveState(ctx);
  }
}

/**
 * Downloads the values of `jobs`: in chunks of up to MAX_VALUES_PER_REQUEST through
 * `POST /v1/values`, or one by one on a server without that route. A secret gone meanwhile or no
 * longer visible (`missing`, as a 404 of the single read) gives null.
 */
async function fetchValues(
  ctx: EngineContext,
  jobs: { meta: SecretMetadata; then: (value: SecretValue | null) => void }[],
): Promise<void> {
  const results = new Map<string, SecretValue | null>();
  const ids = [...new Set(jobs.map((job) => job.meta.id))];
  let done = 0;
  while (ctx.batchValues && done < ids.length) {
    const chunk = ids.slice(done, done + MAX_VALUES_PER_REQUEST);
    let answer;
    try {
      answer = await ctx.client.getValues(chunk);
    } catch (error) {
      // An older server has no POST /v1/values: use the single reads for this session.
      if (!(error instanceof ApiError && error.status === 404)) throw error;
      ctx.batchValues = false;
      ctx.log(
        'info',
        'The server has no POST /v1/values (an older version); reading values one by one.',
      );
      break;
    }
    for (const { id, value, encoding, version } of answer.values) {
      results.set(id, { value, encoding, version });
    }
    for (const id of answer.missing) results.set(id, null);
    done += chunk.length;
  }
  if (done < ids.length) {
    const names = new Map(jobs.map((job) => [job.meta.id, job.meta.name]));
    await fetchValuesOneByOne(ctx, ids.slice(done), names, results);
  }
  for (const job of jobs) job.then(results.get(job.meta.id) ?? null);
}

/** The per-id path: a few `GET /v1/secrets/{id}/value` at a time; 404 (and 403) give null. */
async function fetchValuesOneByOne(
  ctx: EngineContext,
  ids: string[],
  names: Map<string, string>,
  results: Map<string, SecretValue | null>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++]!;
      try {
        results.set(id, await ctx.client.getValue(id));
      } catch (error) {
        // Gone meanwhile (404), or not readable after all (403): skip it rather than stall
        // every later round on it; a later change brings it again.
        if (error instanceof ApiError && (error.status === 404 || error.status === 403)) {
          results.set(id, null);
          if (error.status === 403)
            ctx.log('warn', `Skipped '${names.get(id) ?? id}': ${error.message}`);
        } else throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(ctx.concurrency, ids.length) }, worker));
}

function isClean(entry: SecretMetadata): boolean {
  return inStep(entry) || syncInfoOf(entry)?.conflict?.kind === 'deleted_here';
}
