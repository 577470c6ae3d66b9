/** Tokens: the admin's at start-up, resolving a bearer token to its caller, and administration. */
import { randomUUID } from 'node:crypto';
import type { CreatedToken, TokenInfo } from '../../core/api';
import type { Row } from '../db/driver';
import { isForeignKeyViolation } from '../db/driver';
import { HttpError } from '../httpError';
import { generateToken, hashToken, sameHash } from '../tokens';
import { auditToken } from './audit';
import type { Caller, StoreContext } from './context';
import { iso } from './rows';

/** A token's row with its user and memberships, as CALLER_SELECT reads it. */
export interface CallerRow extends Row {
  token_id: string;
  hash: string;
  expires_at: Date | null;
  created_by: string | null;
  user_id: string;
  admin: boolean;
  teams: string[];
  projects: string[];
}

/**
 * The token whose hash is `hash` (an SQL expression), with its user and memberships. The projects
 * are looked up by the user's principals as one array, which the index on project_members'
 * principal serves (an OR with a subquery was a scan of every project member, on each request).
 */
export function callerSelect(hash: string): string {
  return `SELECT t.id AS token_id, t.hash, t.expires_at, t.created_by, u.id AS user_id, u.admin,
       ARRAY(SELECT tm.team_id FROM team_members tm WHERE tm.user_id = u.id ORDER BY 1) AS teams,
       ARRAY(SELECT DISTINCT pm.project_id FROM project_members pm
             WHERE pm.principal = ANY(ARRAY['user:' || u.id]
               || ARRAY(SELECT 'team:' || tm.team_id FROM team_members tm WHERE tm.user_id = u.id))
             ORDER BY 1) AS projects
     FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ${hash}`;
}

/**
 * What toCaller derives from a CallerRow, as SQL over the row `x` (a statement that checks a token
 * itself): the caller's principals, and the admin who created the token for them (`tokenCreatedBy`).
 */
export function callerColumns(x: string): string {
  return `ARRAY['user:' || ${x}.user_id]
         || ARRAY(SELECT 'team:' || t FROM unnest(${x}.teams) AS t) AS principals,
       CASE WHEN ${x}.created_by <> ${x}.user_id THEN ${x}.created_by END AS token_created_by`;
}

/** The tables a caller's row is read from (a write to one may change it). */
export const CALLER_TABLES = [
  'tokens',
  'users',
  'teams',
  'team_members',
  'projects',
  'project_members',
];

/** Resolves a bearer token to its caller, or undefined (unknown or expired token). */
export async function authenticate(
  ctx: StoreContext,
  token: string,
  client: string,
  ip: string,
): Promise<Caller | undefined> {
  const hash = hashToken(token);
  const [row] = await ctx.db.queryStable<CallerRow>(callerSelect('$1'), [hash], CALLER_TABLES);
  return toCaller(row, hash, Date.now(), client, ip);
}

/** The caller of a token's row read at `now` (ms), or undefined (no row, or expired). */
export function toCaller(
  row: CallerRow | undefined,
  hash: string,
  now: number,
  client: string,
  ip: string,
): Caller | undefined {
  // The index lookup finds the row; the constant-time compare is the check that counts.
  if (!row || !sameHash(row.hash, hash)) return undefined;
  if (row.expires_at && new Date(row.expires_at).getTime() <= now) return undefined;
  const teams = row.teams ?? [];
  const projects = row.projects ?? [];
  const principals = [`user:${row.user_id}`, ...teams.map((t) => `team:${t}`)];
  return {
    userId: row.user_id,
    admin: row.admin,
    tokenId: row.token_id,
    tokenCreatedBy:
      row.created_by !== null && row.created_by !== row.user_id ? row.created_by : null,
    teams,
    projects,
    principals,
    client,
    ip,
  };
}

/**
 * Makes sure the admin user exists and has a token. With `envToken`, that token is registered
 * (idempotently); without, a new token is created only when the admin has none. Returns a newly
 * created token (to print once) or undefined.
 */
export async function bootstrapAdmin(
  ctx: StoreContext,
  envToken: string | undefined,
): Promise<string | undefined> {
  return ctx.db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [7_428_311_904]);
    await tx.query(
      `INSERT INTO users (id, name, admin) VALUES ('admin', 'Administrator', true) ON CONFLICT (id) DO NOTHING`,
    );
    if (envToken !== undefined) {
      // The environment names the one admin token it holds: a previous one stops working.
      const hash = hashToken(envToken);
      await tx.query('DELETE FROM tokens WHERE from_env AND hash <> $1', [hash]);
      await tx.query(
        `INSERT INTO tokens (id, user_id, name, hash, from_env)
         VALUES ($1, 'admin', 'NOTEBOOK_SECRETS_ADMIN_TOKEN', $2, true)
         ON CONFLICT (hash) DO NOTHING`,
        [randomUUID(), hash],
      );
      return undefined;
    }
    const existing = await tx.query(
      `SELECT 1 FROM tokens t JOIN users u ON u.id = t.user_id WHERE u.admin LIMIT 1`,
    );
    if (existing.length > 0) return undefined;
    const token = generateToken();
    await tx.query(
      `INSERT INTO tokens (id, user_id, name, hash) VALUES ($1, 'admin', 'first start', $2)`,
      [randomUUID(), hashToken(token)],
    );
    return token;
  });
}

export async function createToken(
  ctx: StoreContext,
  caller: Caller,
  input: {
    user: string;
    name?: string;
    expires_in_days?: number;
  },
): Promise<CreatedToken> {
  const token = generateToken();
  const id = randomUUID();
  const expires =
    input.expires_in_days === undefined
      ? null
      : new Date(Date.now() + input.expires_in_days * 86_400_000);
  try {
    const row = await ctx.db.transaction(async (tx) => {
      const [inserted] = await tx.query(
        `INSERT INTO tokens (id, user_id, name, hash, expires_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, user_id, name, created_at, expires_at`,
        [id, input.user, input.name ?? 'token', hashToken(token), expires, caller.userId],
      );
      await auditToken(tx, caller, 'create_token', input.user, id);
      return inserted!;
    });
    return { ...toToken(row), token };
  } catch (error) {
    if (isForeignKeyViolation(error)) {
      throw new HttpError(404, 'not_found', `There is no user '${input.user}'; add it first.`, {
        field: 'user',
      });
    }
    throw error;
  }
}

export async function listTokens(
  ctx: StoreContext,
  user: string | undefined,
): Promise<TokenInfo[]> {
  const rows = await ctx.db.query(
    `SELECT id, user_id, name, created_at, expires_at FROM tokens
     WHERE ($1::text IS NULL OR user_id = $1) ORDER BY created_at`,
    [user ?? null],
  );
  return rows.map(toToken);
}

export async function revokeToken(ctx: StoreContext, caller: Caller, id: string): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const [row] = await tx.query<{ user_id: string; session_id: string | null }>(
      'DELETE FROM tokens WHERE id = $1 RETURNING user_id, session_id',
      [id],
    );
    if (!row) throw new HttpError(404, 'not_found', `There is no token with id '${id}'.`);
    // A sign-in's access token: the whole sign-in ends, its refresh token with it.
    if (row.session_id !== null) {
      await tx.query('DELETE FROM tokens WHERE session_id = $1', [row.session_id]);
      await tx.query('DELETE FROM sessions WHERE id = $1', [row.session_id]);
    }
    await auditToken(tx, caller, 'revoke_token', row.user_id, id);
  });
}

function toToken(row: Row): TokenInfo {
  return {
    id: String(row.id),
    user: String(row.user_id),
    name: String(row.name),
    created_at: iso(row.created_at),
    expires_at: row.expires_at ? iso(row.expires_at) : null,
  };
}
