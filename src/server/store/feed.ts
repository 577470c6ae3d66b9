/**
 * The change feed: the rows each write adds (numbered in commit order, addressed to the users who
 * can see the secret at that moment) and the pages `GET /v1/changes` reads from them.
 */
import type { Change, ChangesPage } from '../../core/api';
import { checkCursor, encodeCursor } from '../cursor';
import type { SqlExecutor } from '../db/driver';
import { callerParams, ROLE } from './access';
import type { Caller, StoreContext } from './context';
import { METADATA_COLUMNS, type SecretRow, toMetadata } from './rows';

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

/**
 * A page of the feed. Rows are ordered by (xid, seq): the id of the transaction that wrote them,
 * then their number. Ids are assigned before commit, so they do not commit in order. The read
 * stops at a horizon: the xmin of its snapshot (every transaction with a lower id has ended,
 * committed and visible to this snapshot or rolled back), or just past the newest change if that
 * is lower. A transaction still running has an id at or above the horizon, later ones get higher
 * ids, and the cursor never passes the horizon, so their rows are read by a later page: no change
 * is skipped. Horizon and page come from one REPEATABLE READ snapshot. The horizon only grows.
 */
export async function changes(
  ctx: StoreContext,
  caller: Caller,
  since: string | undefined,
  limit: number,
): Promise<ChangesPage> {
  return ctx.db.transaction(
    async (tx) => {
      // The horizon goes no further than just past the newest change, so it stays where it is
      // while nothing changes (other transactions in the cluster, such as a background ANALYZE,
      // move xmin) and an idle caller gets back the cursor it sent.
      const [head] = await tx.query<{ horizon: string; legacy: number }>(
        `SELECT LEAST(pg_snapshot_xmin(pg_current_snapshot()),
             (COALESCE((SELECT xid FROM changes ORDER BY xid DESC LIMIT 1), '0')::text::bigint + 1)
               ::text::xid8
           )::text AS horizon,
           COALESCE((SELECT max(seq) FROM changes WHERE xid = '0'::xid8), 0) AS legacy`,
      );
      const horizon = Number(head!.horizon);
      const check = checkCursor(since, ctx.databaseId, {
        horizon,
        legacy: Number(head!.legacy),
      });
      const from = check.kind === 'incremental' ? check.since : { xid: 0, seq: 0 };
      const reset = check.kind === 'reset';
      // For each secret changed between the cursor and the horizon, its latest change; then its
      // current state for the caller: an upsert when visible, a tombstone when a change touched
      // the caller but they can no longer see it.
      const rows = await tx.query<
        SecretRow & { change_id: string; xid: string; seq: number; present: boolean }
      >(
        `WITH touched AS (
           SELECT DISTINCT ON (c.secret_id) c.secret_id, c.xid, c.seq,
             bool_or($4::text = ANY(c.audience)) OVER (PARTITION BY c.secret_id) AS mine
           FROM changes c
           WHERE (c.xid, c.seq) > ($5::text::xid8, $6::bigint) AND c.xid < $7::text::xid8
           ORDER BY c.secret_id, c.xid DESC, c.seq DESC
         )
         SELECT t.secret_id AS change_id, t.xid::text AS xid, t.seq, s.id IS NOT NULL AS present,
           ${METADATA_COLUMNS}
         FROM touched t
         LEFT JOIN secrets s ON s.id = t.secret_id
         LEFT JOIN LATERAL (SELECT ${ROLE} AS role) r ON true
         WHERE r.role IS NOT NULL OR (t.mine AND NOT $8)
         ORDER BY t.xid, t.seq
         LIMIT $9`,
        [
          ...callerParams(caller),
          `user:${caller.userId}`,
          String(from.xid),
          from.seq,
          String(horizon),
          reset,
          limit + 1,
        ],
      );
      const more = rows.length > limit;
      const page = rows.slice(0, limit);
      const changes: Change[] = page.map((row) =>
        row.role
          ? { kind: 'upsert', secret: toMetadata(row) }
          : {
              kind: 'tombstone',
              id: row.change_id,
              reason: row.present ? 'access_lost' : 'deleted',
            },
      );
      const last = page[page.length - 1];
      const next =
        more && last ? { xid: Number(last.xid), seq: Number(last.seq) } : { xid: horizon, seq: 0 };
      return {
        changes,
        next: encodeCursor({ databaseId: ctx.databaseId, ...next }),
        more,
        reset,
      };
    },
    { snapshot: true },
  );
}
