/**
 * The change feed: the rows each write adds (numbered in commit order, addressed to the users who
 * can see the secret at that moment) and the pages `GET /v1/changes` reads from them.
 */
import type { ChangesPage } from '../../core/api';
import {
  checkCursor,
  encodeCursor,
  encodeListingCursor,
  idsAfter,
  LAST_ID,
  type Position,
  splitIds,
} from '../cursor';
import type { SqlExecutor } from '../db/driver';
import { callerParams, ROLE } from './access';
import type { Caller, StoreContext } from './context';
import { JsonText, METADATA_JSON } from './rows';

/** Changes a write makes, to record in its transaction. */
export interface PendingChange {
  secretIds: string[];
  kind: string;
  /** Who can see these secrets ('user:', 'team:' or 'project:' keys); stored as the users. */
  audience: string[];
}

/**
 * Adds the change-feed rows of one write transaction. Each row takes the next number of a sequence
 * and, by the column's default, the id of its transaction (`pg_current_xact_id()`): no lock is
 * held, so concurrent writers commit together. Readers stop at a horizon no running transaction
 * can commit below (see changes()).
 */
export async function recordChanges(tx: SqlExecutor, changes: PendingChange[]): Promise<void> {
  for (const change of changes) {
    if (change.secretIds.length === 0) continue;
    // The audience is stored as the users who can see the secret now, in this transaction:
    // someone who joins a team later must not learn of what the team saw before.
    await tx.query(
      `INSERT INTO changes (secret_id, kind, audience)
       SELECT u.id, $2, a.readers
       FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, ord)
       CROSS JOIN (SELECT feed_readers($3::text[]) AS readers) a
       ORDER BY u.ord`,
      [change.secretIds, change.kind, change.audience],
    );
  }
}

/**
 * The change-feed row of a write done in one statement, as one of its data-modifying CTEs: one
 * row per row of `from`, for the secret `id` seen by `audience` (SQL expressions; the audience a
 * text[] of keys as PendingChange has them). The same row recordChanges adds.
 */
export function changeRow(
  kind: 'create' | 'update',
  columns: { from: string; id: string; audience: string },
): string {
  return `INSERT INTO changes (secret_id, kind, audience)
     SELECT ${columns.id}, '${kind}', feed_readers(${columns.audience}) FROM ${columns.from}`;
}

/** Where a listing starts: before every id (ids are random v4 UUIDs, never this one). */
const BEFORE_EVERY_ID = '00000000-0000-0000-0000-000000000000';

/**
 * A page of the feed. Rows are ordered by (xid, seq): the id of the transaction that wrote them,
 * then their number. Ids are assigned before commit, so they do not commit in order. The read
 * stops at a horizon: the xmin of its snapshot (every transaction with a lower id has ended,
 * committed and visible to this snapshot or rolled back), or just past the newest change if that
 * is lower. A transaction still running has an id at or above the horizon, later ones get higher
 * ids, and the cursor never passes the horizon, so their rows are read by a later page: no change
 * is skipped. Horizon and page come from one REPEATABLE READ snapshot. The horizon only grows.
 *
 * Without a cursor (or with one this database cannot continue from), the answer is a full
 * listing: the caller's secrets by id, page by page (listingPage), and then, on the same and the
 * following pages, the feed from the horizon the listing began at, which brings what changed while
 * it was read. A secret may then come twice; the later change is the newer.
 *
 * Asked for in `parts` (more than 1), a full listing that does not fit its first page is read on
 * in that many ranges of ids at once: the first page's `next` reads on the first range and its
 * `parts` the others. Each range ends with `more: false` and a cursor at the listing's horizon,
 * the same for all, where the client reads the feed once every range is through.
 */
export async function changes(
  ctx: StoreContext,
  caller: Caller,
  since: string | undefined,
  limit: number,
  parts = 1,
): Promise<JsonText<ChangesPage>> {
  const page = await ctx.db.transaction(
    async (tx) => {
      // The horizon goes no further than just past the newest change, so it stays where it is
      // while nothing changes (other transactions in the cluster, such as a background ANALYZE,
      // move xmin) and an idle caller gets back the cursor it sent.
      // A page reads at most `limit` rows, so it runs without parallel workers (for this
      // transaction): after a bulk insert, when one transaction id holds much of the feed, the
      // statistics make the planner expect thousands of rows past a cursor and start two
      // workers, which cost milliseconds to start for a page of one change.
      const [head] = await tx.query<{ horizon: string; legacy: number }>(
        `SELECT LEAST(pg_snapshot_xmin(pg_current_snapshot()),
             (COALESCE((SELECT xid FROM changes ORDER BY xid DESC LIMIT 1), '0')::text::bigint + 1)
               ::text::xid8
           )::text AS horizon,
           COALESCE((SELECT max(seq) FROM changes WHERE xid = '0'::xid8), 0) AS legacy,
           set_config('max_parallel_workers_per_gather', '0', true) AS serial`,
      );
      const horizon = Number(head!.horizon);
      const check = checkCursor(since, ctx.databaseId, {
        horizon,
        legacy: Number(head!.legacy),
      });
      if (check.kind === 'incremental') {
        return feedPage(ctx, tx, caller, check.since, horizon, limit);
      }
      const from: Range =
        check.kind === 'listing'
          ? { horizon: check.horizon, after: check.after, last: check.last }
          : { horizon, after: BEFORE_EVERY_ID };
      const listed = await listingPage(ctx, tx, caller, from, limit, check.kind === 'reset');
      if (listed.more && check.kind === 'reset' && parts > 1) {
        return inParts(ctx, listed, from.horizon, parts);
      }
      if (listed.more) return listed;
      // A range is through: the feed is read once every range is.
      if (from.last !== undefined) return listed;
      // The listing is done: the rest of the page is the feed from where the listing began, which
      // brings what changed while it was read (in this snapshot, so it agrees with the rows listed).
      const start = { xid: from.horizon, seq: 0 };
      const fed = await feedPage(ctx, tx, caller, start, horizon, limit - listed.changes.length);
      return { ...fed, changes: [...listed.changes, ...fed.changes], reset: listed.reset };
    },
    { snapshot: true },
  );
  const inRanges = page.parts ? `,"parts":${JSON.stringify(page.parts)}` : '';
  return new JsonText(
    `{"changes":[${page.changes.join(',')}],"next":${JSON.stringify(page.next)},"more":${page.more},"reset":${page.reset}${inRanges}}`,
  );
}

/** A page of the feed with each change as the JSON text the database wrote (see METADATA_JSON). */
interface PageText {
  changes: string[];
  next: string;
  more: boolean;
  reset: boolean;
  parts?: string[];
}

/** A page of a listing, and the last id it listed. */
type Listed = PageText & { listed: string | undefined };

/** Where a listing reads on: after `after`, up to `last` in a listing read in parts. */
interface Range {
  horizon: number;
  after: string;
  last?: string | undefined;
}

/**
 * The first page of a listing (`more`), with the ids after its last split into ranges to read
 * side by side: `next` reads on the first, `parts` the others. As many ranges as asked for, but
 * no more than pages are left (estimated from how far into the ids the first page reached), so
 * a listing of a page and a bit is read on in one range, as without `parts`.
 */
function inParts(ctx: StoreContext, first: Listed, horizon: number, asked: number): PageText {
  const { listed, ...page } = first;
  const parts = Math.min(
    asked,
    Math.ceil(idsAfter(listed!, page.changes.length) / page.changes.length),
  );
  if (parts < 2) return page;
  const lasts = splitIds(listed!, parts);
  const [next, ...others] = lasts.map((last, k) =>
    encodeListingCursor({
      databaseId: ctx.databaseId,
      horizon,
      after: k === 0 ? listed! : lasts[k - 1]!,
      last,
    }),
  );
  return { ...page, next: next!, parts: others };
}

/** The change of a secret the caller can see, as JSON text (`s`, `r.role` as in METADATA_JSON). */
const UPSERT_JSON = `'{"kind":"upsert","secret":' || ${METADATA_JSON} || '}'`;

/**
 * The caller's secrets after `from.after`, by id: those granted to one of their principals, and
 * those in the scope of one of their teams or projects. Each source is read in id order from the
 * cursor on, so a page costs the same at any depth of any catalogue.
 */
async function listingPage(
  ctx: StoreContext,
  tx: SqlExecutor,
  caller: Caller,
  from: Range,
  limit: number,
  reset: boolean,
): Promise<Listed> {
  const inRange = (id: string) => `${id} > $4::uuid AND ${id} <= $6::uuid`;
  const scoped = (kind: 'team' | 'project', ids: string) =>
    `SELECT s.id FROM unnest(${ids}::text[]) AS t(id)
       CROSS JOIN LATERAL (SELECT s.id FROM secrets s
         WHERE s.scope_kind = '${kind}' AND s.scope_id = t.id AND ${inRange('s.id')}
         ORDER BY s.id LIMIT $5) s`;
  const rows = await tx.query<{ id: string; change: string }>(
    `WITH ids AS (
       SELECT g.secret_id AS id FROM unnest($1::text[]) AS p(principal)
         CROSS JOIN LATERAL (SELECT g.secret_id FROM grants g
           WHERE g.principal = p.principal AND ${inRange('g.secret_id')}
           ORDER BY g.secret_id LIMIT $5) g
       UNION ${scoped('team', '$2')}
       UNION ${scoped('project', '$3')}
     )
     SELECT s.id, ${UPSERT_JSON} AS change
     FROM (SELECT id FROM ids ORDER BY id LIMIT $5) i
     JOIN secrets s ON s.id = i.id
     CROSS JOIN LATERAL (SELECT ${ROLE} AS role OFFSET 0) r
     ORDER BY s.id`,
    [...callerParams(caller), from.after, limit + 1, from.last ?? LAST_ID],
  );
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  const listed = page.length > 0 ? String(page[page.length - 1]!.id) : undefined;
  return {
    changes: page.map((row) => row.change),
    next:
      more && listed
        ? encodeListingCursor({
            databaseId: ctx.databaseId,
            horizon: from.horizon,
            after: listed,
            ...(from.last !== undefined && { last: from.last }),
          })
        : encodeCursor({ databaseId: ctx.databaseId, xid: from.horizon, seq: 0 }),
    more,
    reset,
    listed,
  };
}

/**
 * The changes after `since` that concern the caller: the rows whose audience names them (every
 * change a caller can see, or stopped seeing, names them; gaining sight of a secret is a change
 * too). Each secret comes once, at its last such row before the horizon, with its current state:
 * an upsert when the caller can see it, else a tombstone. Rows are walked in feed order from the
 * cursor, so a page costs what lies between the cursor and the page's end, not the feed's length.
 */
async function feedPage(
  ctx: StoreContext,
  tx: SqlExecutor,
  caller: Caller,
  since: Position,
  horizon: number,
  limit: number,
): Promise<PageText> {
  const rows = await tx.query<{ xid: string; seq: number; change: string }>(
    `SELECT c.xid::text AS xid, c.seq,
       CASE WHEN r.role IS NOT NULL THEN ${UPSERT_JSON}
         ELSE '{"kind":"tombstone","id":"' || c.secret_id
           || CASE WHEN s.id IS NULL THEN '","reason":"deleted"}'
                ELSE '","reason":"access_lost"}' END
       END AS change
     FROM changes c
     LEFT JOIN secrets s ON s.id = c.secret_id
     LEFT JOIN LATERAL (SELECT ${ROLE} AS role OFFSET 0) r ON true
     WHERE (c.xid, c.seq) > ($5::text::xid8, $6::bigint) AND c.xid < $7::text::xid8
       AND $4::text = ANY(c.audience)
       AND NOT EXISTS (
         SELECT 1 FROM changes l
         WHERE l.secret_id = c.secret_id AND (l.xid, l.seq) > (c.xid, c.seq)
           AND l.xid < $7::text::xid8 AND $4::text = ANY(l.audience))
     ORDER BY c.xid, c.seq
     LIMIT $8`,
    [
      ...callerParams(caller),
      `user:${caller.userId}`,
      String(since.xid),
      since.seq,
      String(horizon),
      limit + 1,
    ],
  );
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  // A page with no room (the end of a full listing that filled it) only says whether more follow.
  const last = page[page.length - 1];
  const next = !more
    ? { xid: horizon, seq: 0 }
    : last
      ? { xid: Number(last.xid), seq: Number(last.seq) }
      : since;
  return {
    changes: page.map((row) => row.change),
    next: encodeCursor({ databaseId: ctx.databaseId, ...next }),
    more,
    reset: false,
  };
}
