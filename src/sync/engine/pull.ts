/** Pull: the server's change feed applied to the local store, values fetched in batches. */
import type { SecretMetadata, SecretValue } from '../../core/model';
import {
  MAX_VALUES_PER_REQUEST,
  type Change,
  type ChangesPage,
  type ValueList,
} from '../../core/api';
import { MalformedResponse } from '../../core/errors';
import type { SyncStep } from '../../core/localStore';
import { ApiError } from '../errors';
import { saveState, type EngineContext, type SyncReport } from './context';
import { markConflict } from './conflicts';
import { immediateStep, planPage, takeStep, unlisted, type PullDecision } from './pullPlan';
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
  const pages = new ReadAhead(ctx, cursor);
  for (;;) {
    const next = pages.next();
    if (!next) {
      if (!pages.cutShort) break;
      throw new MalformedResponse(
        `The server's change feed did not end after ${ctx.maxPages} pages; sync stopped here and carries on from this point next time.`,
      );
    }
    const { page, values, asked } = await next;
    if (page.more && page.next === asked) {
      throw new MalformedResponse(
        "The server's change feed did not move past its cursor (it answered more changes at the same point); sync stopped. Check the server version, or sign out and in again.",
      );
    }
    if (page.reset && !seen) seen = new Set();
    if (seen) for (const c of page.changes) if (c.kind === 'upsert') seen.add(c.secret.id);
    await applyChanges(ctx, page.changes, report, await values);
    cursor = page.next;
    if (!seen) {
      ctx.state = { ...ctx.state, cursor };
      await saveState(ctx);
    }
  }
  if (seen) {
    // A full listing: what we hold from the server but it no longer lists is gone for us.
    await applyChanges(ctx, unlisted(ctx.store.list(), seen), report);
    ctx.state = { ...ctx.state, cursor: cursor ?? null };
    await saveState(ctx);
  }
}

/** Pages of the feed asked for ahead of the one being stored, at most. */
const PAGES_AHEAD = 6;

/** Ranges of ids a full listing is read in at once (see ReadAhead). */
const LISTING_PARTS = 4;

type Fetched = { page: ChangesPage; values: Promise<Values>; asked: string | undefined };

/**
 * The feed's pages, each asked for as soon as the cursor to it is known, up to PAGES_AHEAD ahead
 * of the page being stored: the pages form a chain (each needs the cursor of the one before), and
 * storing a page waits for its values, so a reader one page ahead makes every page wait for the
 * values of the one before. A full listing is asked for in LISTING_PARTS ranges: past its first
 * page, the server answers `parts`, and the ranges are read side by side (a chain each); once
 * every range is through, the feed is read on from where they all end. Pages come out in the
 * order they were asked for. Stops asking after `maxPages` (`cutShort`), or on a chain whose
 * cursor did not move (pull reports it). GETs and reads: dropped unread if the round stops.
 */
class ReadAhead {
  private readonly queue: Promise<Fetched>[] = [];
  /** Cursors of chains waiting for room in the queue. */
  private readonly parked: string[] = [];
  private asked = 0;
  /** Ranges of a listing in parts not yet through. */
  private ranges = 0;
  /** A chain had more to read when `maxPages` pages had been asked for. */
  cutShort = false;

  constructor(
    private readonly ctx: EngineContext,
    cursor: string | undefined,
  ) {
    this.ask(cursor, cursor === undefined && ctx.listingParts !== false ? LISTING_PARTS : 1);
  }

  /** The next page, or undefined when no chain has more to read. */
  next(): Promise<Fetched> | undefined {
    const fetched = this.queue.shift();
    while (this.parked.length > 0 && this.queue.length < PAGES_AHEAD) this.ask(this.parked.shift());
    return fetched;
  }

  private ask(cursor: string | undefined, parts = 1): void {
    if (this.asked === this.ctx.maxPages) {
      this.cutShort = true;
      return;
    }
    this.asked++;
    const fetched = fetchPage(this.ctx, cursor, parts).then((result) => {
      this.follow(cursor, result.page);
      return { ...result, asked: cursor };
    });
    this.queue.push(ahead(fetched));
  }

  /** Asks for what comes after `page` (asked for with `asked`), or parks it. */
  private follow(asked: string | undefined, page: ChangesPage): void {
    const chains: string[] = [];
    if (page.parts) {
      this.ranges = 1 + page.parts.length;
      chains.push(...page.parts);
    }
    if (page.more) {
      if (page.next !== asked) chains.unshift(page.next);
    } else if (this.ranges > 0 && --this.ranges === 0) {
      // Every range ends at the same cursor, where the feed reads on.
      chains.push(page.next);
    }
    for (const cursor of chains) {
      if (this.queue.length < PAGES_AHEAD) this.ask(cursor);
      else this.parked.push(cursor);
    }
  }
}

/** Value batches in flight at once while pulling. */
const VALUE_BATCHES_AT_ONCE = 2;

/** A request awaited later: its failure, if never awaited, is not an unhandled rejection. */
function ahead<T>(request: Promise<T>): Promise<T> {
  request.catch(() => undefined);
  return request;
}

type Values = Map<string, SecretValue | null>;

/**
 * A page of the feed, and the values of the secrets it brings that this machine has never held
 * (all of them in a first sync), asked for as soon as the page comes: they download while the
 * page before is stored. Those are taken unless a local secret of the same name is in the way;
 * the values of the rest of the page wait for its decisions (see applyChanges).
 */
function fetchPage(
  ctx: EngineContext,
  cursor: string | undefined,
  parts: number,
): Promise<Omit<Fetched, 'asked'>> {
  return changesPage(ctx, cursor, parts).then((page) => {
    const newcomers = page.changes.flatMap((c) =>
      c.kind === 'upsert' && !ctx.store.get(c.secret.id) ? [c.secret] : [],
    );
    return { page, values: ahead(fetchValues(ctx, newcomers)) };
  });
}

/** A page of the feed; a server that refuses `parts` (an older one) is asked again without. */
async function changesPage(
  ctx: EngineContext,
  cursor: string | undefined,
  parts: number,
): Promise<ChangesPage> {
  if (parts === 1) return ctx.client.changes(cursor, ctx.pageLimit);
  try {
    const page = await ctx.client.changes(cursor, ctx.pageLimit, parts);
    ctx.listingParts = true;
    return page;
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 400)) throw error;
    ctx.listingParts = false;
    ctx.log('info', 'The server cannot list in parts (an older version); listing in one.');
    return ctx.client.changes(cursor, ctx.pageLimit);
  }
}

/**
 * Carries out planPage's decisions for a page: values fetched (but those in `fetched`), then one
 * batch of steps.
 */
async function applyChanges(
  ctx: EngineContext,
  changes: readonly Change[],
  report: SyncReport,
  fetched: Values = new Map(),
): Promise<void> {
  const view = {
    get: (id: string) => ctx.store.get(id),
    at: (key: string) => ctx.store.atValueKey(key),
  };
  const plan = planPage(changes, view, ctx.state.deletes, ctx.me);
  const now = ctx.now().toISOString();
  const steps: SyncStep[] = [];
  const takes: Extract<PullDecision, { kind: 'take' }>[] = [];
  for (const decision of plan.decisions) {
    const step = immediateStep(decision, now);
    if (step) steps.push(step);
    if (decision.kind === 'take') takes.push(decision);
    if (decision.kind === 'remove') {
      if (decision.warn) {
        ctx.log('warn', `Lost access to '${decision.entry.name}'; removed it from this machine.`);
      }
      report.removed++;
    }
  }
  const values = await fetchValues(
    ctx,
    takes.flatMap((take) => (fetched.has(take.meta.id) ? [] : [take.meta])),
  );
  for (const [id, value] of fetched) values.set(id, value);
  const takenAt = ctx.now().toISOString();
  for (const take of takes) {
    const value = values.get(take.meta.id);
    if (!value) continue;
    steps.push(takeStep(take, toEnvelope(value), ctx.me, takenAt));
    if (!take.deletedHere) report.pulled++;
  }
  if (steps.length > 0) await ctx.store.applySync(steps);
  for (const decision of plan.decisions) {
    if (decision.kind !== 'conflict') continue;
    const { entry, conflict, remote, reason } = decision;
    await markConflict(ctx, entry, conflict, remote, report, reason);
  }
  if (plan.dropDeletes.size > 0) {
    ctx.state = {
      ...ctx.state,
      deletes: ctx.state.deletes.filter((d) => !plan.dropDeletes.has(d.id)),
    };
    await saveState(ctx);
  }
}

/**
 * Downloads the values of `metas`: in chunks of up to MAX_VALUES_PER_REQUEST through
 * `POST /v1/values`, or one by one on a server without that route. A secret gone meanwhile or no
 * longer visible (`missing`, as a 404 of the single read) gives null.
 */
async function fetchValues(ctx: EngineContext, metas: readonly SecretMetadata[]): Promise<Values> {
  const results: Values = new Map();
  const ids = [...new Set(metas.map((meta) => meta.id))];
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += MAX_VALUES_PER_REQUEST) {
    chunks.push(ids.slice(i, i + MAX_VALUES_PER_REQUEST));
  }
  const single: string[] = [];
  const batch = async (chunk: string[]): Promise<void> => {
    const answer = ctx.batchValues === false ? undefined : await valuesBatch(ctx, chunk);
    if (!answer) {
      single.push(...chunk);
      return;
    }
    for (const { id, value, encoding, version } of answer.values) {
      results.set(id, { value, encoding, version });
    }
    for (const id of answer.missing) results.set(id, null);
  };
  // Until the server has answered one, the first batch alone (it may be a server without the
  // route); then two at a time.
  let taken = 0;
  if (ctx.batchValues === undefined && chunks.length > 0) await batch(chunks[taken++]!);
  await Promise.all(
    Array.from({ length: Math.min(VALUE_BATCHES_AT_ONCE, chunks.length - taken) }, async () => {
      while (taken < chunks.length) await batch(chunks[taken++]!);
    }),
  );
  if (single.length > 0) {
    const names = new Map(metas.map((meta) => [meta.id, meta.name]));
    await fetchValuesOneByOne(ctx, single, names, results);
  }
  return results;
}

/** One POST /v1/values; undefined when the server has no such route (an older version). */
async function valuesBatch(ctx: EngineContext, ids: string[]): Promise<ValueList | undefined> {
  try {
    const answer = await ctx.client.getValues(ids);
    ctx.batchValues = true;
    return answer;
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
    // Said once: batches in flight together may each get the 404.
    if (ctx.batchValues !== false) {
      ctx.batchValues = false;
      ctx.log(
        'info',
        'The server has no POST /v1/values (an older version); reading values one by one.',
      );
    }
    return undefined;
  }
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
