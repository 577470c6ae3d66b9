/**
 * The audit log: the row every change and every value read writes in its own transaction or
 * statement, and the pages `GET /v1/audit` reads.
 */
import type { AuditEntry, AuditPage } from '../../core/api';
import type { Row, SqlExecutor } from '../db/driver';
import { HttpError, notFound, ownersOnly } from '../httpError';
import { ROLE, visibleSecret } from './access';
import type { Caller, StoreContext } from './context';
import { iso, UUID } from './rows';

export async function audit(
  db: SqlExecutor,
  caller: Caller,
  action: AuditEntry['action'],
  secretId: string,
  name: string,
  version: number | null,
): Promise<void> {
  await db.query(
    `INSERT INTO audit (actor, action, secret_id, secret_name, version, client, ip, token_id,
       token_created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      caller.userId,
      action,
      secretId,
      name,
      version,
      caller.client,
      caller.ip,
      caller.tokenId,
      caller.tokenCreatedBy,
    ],
  );
}

/**
 * The audit row of a write done in one statement, as one of its data-modifying CTEs: one row per
 * row of `from`, whose SQL expressions give the secret's id, name and version, by the writer of
 * the statement's `me` row (see writer.ts).
 */
export function auditRow(
  action: AuditEntry['action'],
  columns: { from: string; id: string; name: string; version: string },
): string {
  return `INSERT INTO audit (actor, action, secret_id, secret_name, version, client, ip, token_id,
       token_created_by)
     SELECT me.user_id, '${action}', ${columns.id}, ${columns.name}, ${columns.version}, me.client,
       me.ip, me.token_id, me.token_created_by FROM ${columns.from} CROSS JOIN me`;
}

/** Audits a token created or revoked by `caller` for `subject`. */
export async function auditToken(
  db: SqlExecutor,
  caller: Caller,
  action: 'create_token' | 'revoke_token',
  subject: string,
  tokenId: string,
): Promise<void> {
  await db.query(
    `INSERT INTO audit (actor, action, subject, token_id, client, ip, token_created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [caller.userId, action, subject, tokenId, caller.client, caller.ip, caller.tokenCreatedBy],
  );
}

/** Who signs in or refreshes, and from where: the request's client and address. */
export interface SignInOrigin {
  client: string;
  ip: string;
}

/** The actor of a sign-in that failed before it knew who was signing in. */
export const UNKNOWN_ACTOR = '(unknown)';

/**
 * Audits a sign-in with the identity provider, a refresh, or either failing: the person when
 * known (actor and subject), the access token issued, and in `detail` how they signed in or why it
 * failed. Never a token, code or state: `detail` is a message the client was also given.
 */
export async function auditSignIn(
  db: SqlExecutor,
  event: {
    action: 'sign_in' | 'refresh' | 'sign_in_failed' | 'refresh_failed';
    user?: string;
    tokenId?: string;
    detail: string;
    origin: SignInOrigin;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO audit (actor, action, subject, token_id, client, ip, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      event.user ?? UNKNOWN_ACTOR,
      event.action,
      event.user ?? null,
      event.tokenId ?? null,
      event.origin.client,
      event.origin.ip,
      event.detail.slice(0, 500),
    ],
  );
}

/**
 * Runs a value read (a SELECT of rows with id, name and version) and writes one audit row per
 * row read in the same statement: one round trip, and no value leaves without its audit row.
 */
export async function auditedRead<T extends Row>(
  ctx: StoreContext,
  select: string,
  params: unknown[],
  caller: Caller,
  action: 'read_value' | 'resolve',
): Promise<T[]> {
  const n = params.length;
  return ctx.db.query<T>(
    `WITH r AS (${select}),
     a AS (INSERT INTO audit (actor, action, secret_id, secret_name, version, client, ip,
             token_id, token_created_by)
           SELECT $${n + 1}, $${n + 2}, r.id, r.name, r.version, $${n + 3}, $${n + 4},
             $${n + 5}, $${n + 6} FROM r)
     SELECT * FROM r`,
    [
      ...params,
      caller.userId,
      action,
      caller.client,
      caller.ip,
      caller.tokenId,
      caller.tokenCreatedBy,
    ],
    // Run on every value read; its indexed lookups plan the same for any caller.
    { reusePlan: true },
  );
}

export async function auditLog(
  ctx: StoreContext,
  caller: Caller,
  query: { secret?: string; before?: string; limit: number },
): Promise<AuditPage> {
  const params: unknown[] = [];
  const where: string[] = [];
  if (query.secret !== undefined) {
    if (!caller.admin) {
      const meta = UUID.test(query.secret)
        ? await visibleSecret(ctx, caller, query.secret)
        : undefined;
      if (!meta) throw notFound();
      if (meta.role !== 'owner') throw ownersOnly('read its audit log');
    } else if (!UUID.test(query.secret)) {
      return { entries: [], next: null };
    }
    params.push(query.secret);
    where.push(`a.secret_id = $${params.length}`);
  } else if (!caller.admin) {
    // Everything about secrets the caller owns, and everything the caller did.
    // Everything about secrets the caller owns, everything the caller did, and the tokens
    // created or revoked for them.
    params.push(caller.principals, caller.teams, caller.projects, caller.userId);
    where.push(`(a.actor = $4 OR a.subject = $4 OR a.secret_id IN (
      SELECT s.id FROM secrets s WHERE ${ROLE} = 'owner'))`);
  }
  if (query.before !== undefined) {
    if (!/^\d{1,18}$/.test(query.before)) {
      throw new HttpError(400, 'invalid_input', "'before' must be an audit entry id (digits).", {
        field: 'before',
      });
    }
    params.push(query.before);
    where.push(`a.id < $${params.length}::bigint`);
  }
  params.push(query.limit + 1);
  const rows = await ctx.db.query<{
    id: number | string;
    at: Date;
    actor: string;
    action: AuditEntry['action'];
    secret_id: string | null;
    secret_name: string | null;
    version: number | null;
    client: string;
    ip: string;
    subject: string | null;
    token_id: string | null;
    token_created_by: string | null;
    detail: string | null;
  }>(
    `SELECT a.id, a.at, a.actor, a.action, a.secret_id, a.secret_name, a.version, a.client, a.ip,
       a.subject, a.token_id, a.token_created_by, a.detail
     FROM audit a ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
     ORDER BY a.id DESC LIMIT $${params.length}`,
    params,
  );
  const page = rows.slice(0, query.limit);
  return {
    entries: page.map((r) => ({
      id: String(r.id),
      at: iso(r.at),
      actor: r.actor,
      action: r.action,
      secret_id: r.secret_id,
      secret_name: r.secret_name,
      version: r.version === null ? null : Number(r.version),
      client: r.client,
      ip: r.ip,
      subject: r.subject,
      token_id: r.token_id,
      token_created_by: r.token_created_by,
      detail: r.detail,
    })),
    next: rows.length > query.limit ? String(page[page.length - 1]!.id) : null,
  };
}
