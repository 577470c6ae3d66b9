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
 * Adds the change-feed rows of one write transaction, numbered by incrementing the counter row
 * (see write() in transaction.ts).
 */
export async function recordChanges(tx: SqlExecutor, changes: PendingChange[]): Promise<void> {
  const total = changes.reduce((n, c) => n + c.secretIds.length, 0);
  if (total > 0) {
    const [counter] = await tx.query<{ value: number }>(
      `UPDATE counters SET value = value + $1 WHERE name = 'changes' RETURNING value`,
      [total],
    );
    let next = Number(counter!.value) - total + 1;
    for (const change of changes) {
      if (change.secretIds.length === 0) continue;
      // The audience is stored as the users who can see the secret now, in this transaction:
      // someone who joins a team later must not learn of what the team saw before.
      await tx.query(
        `INSERT INTO changes (seq, secret_id, kind, audience)
         SELECT $1::bigint + u.ord - 1, u.id, $3, a.readers
         FROM unnest($2::uuid[]) WITH ORDINALITY AS u(id, ord)
         CROSS JOIN (SELECT feed_readers($4::text[]) AS readers) a`,
        [next, change.secretIds, change.kind, change.audience],
      );
      next += change.secretIds.length;
    }
  }
}

export async function changes(
  ctx: StoreContext,
  caller: Caller,
  since: string | undefined,
  limit: number,
): Promise<ChangesPage> {
  const [counter] = await ctx.db.query<{ value: number }>(
    `SELECT value FROM counters WHERE name = 'changes'`,
  );
  const head = Number(counter!.value);
  const check = checkCursor(since, ctx.databaseId, head);
  const from = check.kind === 'incremental' ? check.since : 0;
  const reset = check.kind === 'reset';
  // For each secret changed in (from, head], its latest change; then its current state for the
  // caller: an upsert when visible, a tombstone when a change touched the caller but they can no
  // longer see it. Bounded by head, so the page is consistent with `next` even under concurrent
  // writers (sequence numbers commit in order).
  const rows = await ctx.db.query<SecretRow & { change_id: string; seq: number; present: boolean }>(
    `WITH touched AS (
       SELECT c.secret_id, max(c.seq) AS seq, bool_or($4::text = ANY(c.audience)) AS mine
       FROM changes c WHERE c.seq > $5 AND c.seq <= $6 GROUP BY c.secret_id
     )
     SELECT t.secret_id AS change_id, t.seq, s.id IS NOT NULL AS present, ${METADATA_COLUMNS}
     FROM touched t
     LEFT JOIN secrets s ON s.id = t.secret_id
     LEFT JOIN LATERAL (SELECT ${ROLE} AS role) r ON true
     WHERE r.role IS NOT NULL OR (t.mine AND NOT $7)
     ORDER BY t.seq
     LIMIT $8`,
    [...callerParams(caller), `user:${caller.userId}`, from, head, reset, limit + 1],
  );
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  const changes: Change[] = page.map((row) =>
    row.role
      ? { kind: 'upsert', secret: toMetadata(row) }
      : { kind: 'tombstone', id: row.change_id, reason: row.present ? 'access_lost' : 'deleted' },
  );
  const nextSeq = more ? Number(page[page.length - 1]!.seq) : head;
  return {
    changes,
    next: encodeCursor({ databaseId: ctx.databaseId, seq: nextSeq }),
    more,
    reset,
  };
}
