/**
 * The access rules: who sees a secret and with which role, who hears of its changes, and why a
 * guarded write matched no row.
 */
import type { Principal, SecretMetadata } from '../../core/model';
import type { SqlExecutor } from '../db/driver';
import { HttpError, notFound, ownersOnly } from '../httpError';
import type { Caller, StoreContext } from './context';
import { METADATA_JSON, parseMetadata, UUID } from './rows';

/**
 * The caller's role on secret `s`: the best grant to them or their teams, else reader through
 * membership of the secret's team or project scope. 'owner' < 'reader', so min() picks owner.
 * The arguments are SQL text[] expressions of the caller's principals, teams and projects.
 */
export function roleOf(principals: string, teams: string, projects: string): string {
  return `COALESCE(
  (SELECT min(g.role) FROM grants g WHERE g.secret_id = s.id AND g.principal = ANY(${principals})),
  CASE WHEN (s.scope_kind = 'team' AND s.scope_id = ANY(${teams}))
         OR (s.scope_kind = 'project' AND s.scope_id = ANY(${projects})) THEN 'reader' END)`;
}

/** roleOf the parameters $1 principals, $2 teams, $3 projects (see callerParams). */
export const ROLE = roleOf('$1::text[]', '$2::text[]', '$3::text[]');

/** Secrets `s` with the caller's role on each as `r.role` (null: the caller cannot see it). */
export const FROM_VISIBLE = `FROM secrets s CROSS JOIN LATERAL (SELECT ${ROLE} AS role) r`;

/** The parameters $1–$3 that ROLE reads. */
export function callerParams(caller: Caller): unknown[] {
  return [caller.principals, caller.teams, caller.projects];
}

/** The secret as the caller sees it, or undefined when it does not exist for them. */
export async function visibleSecret(
  ctx: StoreContext,
  caller: Caller,
  id: string,
  db: SqlExecutor = ctx.db,
): Promise<SecretMetadata | undefined> {
  if (!UUID.test(id)) return undefined;
  id = id.toLowerCase();
  const [row] = await db.query<{ meta: string }>(
    `SELECT ${METADATA_JSON} AS meta ${FROM_VISIBLE} WHERE s.id = $4 AND r.role IS NOT NULL`,
    [...callerParams(caller), id],
  );
  return row ? parseMetadata(row) : undefined;
}

/** Explains why a guarded write matched no row: 404, 403 or 412 with the current version. */
export async function whyNot(
  ctx: StoreContext,
  tx: SqlExecutor,
  caller: Caller,
  id: string,
  action: string,
  versioned = true,
): Promise<HttpError> {
  const meta = await visibleSecret(ctx, caller, id, tx);
  if (!meta) return notFound();
  if (meta.role !== 'owner') return ownersOnly(action);
  if (!versioned) return new HttpError(500, 'internal', 'The change did not apply; try again.');
  return new HttpError(
    412,
    'version_conflict',
    `'${meta.name}' was changed elsewhere (it is now version ${meta.version}); refresh and try again.`,
    { current_version: meta.version },
  );
}

/**
 * audienceOf as an SQL text[] expression, for the row `s` of secret columns (read in the statement
 * that writes, so it sees that statement's grants as they were before it).
 */
export function audienceSql(s: string): string {
  return `(ARRAY(SELECT g.principal FROM grants g WHERE g.secret_id = ${s}.id)
    || CASE WHEN ${s}.scope_kind <> 'personal' THEN ARRAY[${s}.scope_kind || ':' || ${s}.scope_id]
       ELSE '{}'::text[] END)`;
}

export async function audienceOf(tx: SqlExecutor, id: string): Promise<string[]> {
  const rows = await tx.query<{ p: string }>(
    `SELECT g.principal AS p FROM grants g WHERE g.secret_id = $1
     UNION SELECT s.scope_kind || ':' || s.scope_id FROM secrets s WHERE s.id = $1 AND s.scope_kind <> 'personal'`,
    [id],
  );
  return rows.map((r) => r.p);
}

export async function assertPrincipalsExist(
  tx: SqlExecutor,
  principals: Principal[],
): Promise<void> {
  for (const p of principals) {
    const rows = await tx.query(
      `SELECT 1 FROM ${p.kind === 'user' ? 'users' : 'teams'} WHERE id = $1`,
      [p.id],
    );
    if (rows.length === 0) {
      throw new HttpError(400, 'invalid_input', `There is no ${p.kind} '${p.id}'.`, {
        field: 'principal',
      });
    }
  }
}
