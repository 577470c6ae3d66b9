/**
 * Who writes, as the `me` row of a write statement. Either a caller already authenticated, or, on
 * PostgreSQL, the bearer token itself: the statement then reads the token, its user and their
 * memberships as it writes, so the token check and the write are one round trip, and a token
 * revoked a moment ago writes nothing (it is read in the write's own transaction).
 */
import { callerColumns, callerSelect, type CallerRow, toCaller } from './auth';
import type { Caller } from './context';

/** A bearer token (its hash) for the write's statement to check, with the request's origin. */
export interface TokenWriter {
  tokenHash: string;
  client: string;
  ip: string;
}

export type Writer = Caller | TokenWriter;

/** What a write did, and for whom (the caller its token resolved to). */
export interface Written<T> {
  caller: Caller;
  result: T;
}

/** The token `who` named was unknown, revoked or expired: nothing was written. */
export class TokenRefused extends Error {
  constructor() {
    super('This token is unknown, revoked or expired.');
  }
}

/**
 * The CTE `me` for `who`, with its parameters numbered from `first`: one row with the columns
 * user_id, principals, team_ids, project_ids (text[]), token_id, token_created_by, client and ip,
 * or no row when the token is refused. In token form the row also carries the token's CallerRow.
 * (No column is named as a table: on PGlite a statement naming a table a kept read depends on,
 * such as `teams`, empties the memory of token lookups; see db/stableReads.ts.)
 */
export function writerRow(who: Writer, first: number): { sql: string; params: unknown[] } {
  const p = (i: number) => `$${first + i}`;
  if ('tokenHash' in who) {
    // OFFSET 0 keeps x a subquery of its own: merged into this one, its teams and projects
    // would be read again for each column that uses them.
    return {
      sql: `SELECT x.*, ${callerColumns('x')}, x.teams AS team_ids, x.projects AS project_ids,
         ${p(1)}::text AS client, ${p(2)}::text AS ip
       FROM (${callerSelect(`${p(0)}::text`)} OFFSET 0) x
       WHERE x.expires_at IS NULL OR x.expires_at > ${p(3)}::timestamptz`,
      params: [who.tokenHash, who.client, who.ip, new Date()],
    };
  }
  return {
    sql: `SELECT ${p(0)}::text AS user_id, ${p(1)}::text[] AS principals,
         ${p(2)}::text[] AS team_ids, ${p(3)}::text[] AS project_ids, ${p(4)}::text AS token_id,
         ${p(5)}::text AS token_created_by, ${p(6)}::text AS client, ${p(7)}::text AS ip`,
    params: [
      who.userId,
      who.principals,
      who.teams,
      who.projects,
      who.tokenId,
      who.tokenCreatedBy,
      who.client,
      who.ip,
    ],
  };
}

/**
 * The caller a write statement's `me` columns name (`row` undefined: it returned no row). Throws
 * TokenRefused when the token was refused.
 */
export function writerOf(who: Writer, row: Partial<CallerRow> | undefined): Caller {
  if (!('tokenHash' in who)) return who;
  // Expiry was checked by the statement, at the time it wrote (a later check could refuse a token
  // whose write went through).
  const checked = 0;
  const caller = toCaller(row as CallerRow | undefined, who.tokenHash, checked, who.client, who.ip);
  if (!caller) throw new TokenRefused();
  return caller;
}
