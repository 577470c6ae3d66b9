/**
 * Reading values: by id, by ids, and by name with precedence. Each is one statement that reads
 * the current version's value and writes its audit row (auditedRead): by id through
 * readCurrentValues, by name through pickResolved.
 */
import type { IdentifiedValue, ResolvedSecret } from '../../core/api';
import type { SecretValue } from '../../core/model';
import type { Row } from '../db/driver';
import { notFound } from '../httpError';
import { hashToken } from '../tokens';
import { callerParams, FROM_VISIBLE, roleOf } from './access';
import { auditedRead } from './audit';
import { authenticate, callerColumns, type CallerRow, callerSelect, toCaller } from './auth';
import type { Caller, StoreContext } from './context';
import { open } from './keys';
import { scopeOf, secretId, UUID } from './rows';

/** What a value read returns of each secret: enough to open its value and audit the read. */
interface ValueRow extends Row {
  id: string;
  name: string;
  version: number;
  encoding: 'text' | 'base64';
  key_id: string;
  nonce: Buffer;
  ciphertext: Buffer;
}

/**
 * The current value of each visible secret that `where` picks, audited as read_value in the same
 * statement. `params` starts with callerParams ($1–$3).
 */
function readCurrentValues(
  ctx: StoreContext,
  caller: Caller,
  query: { where: string; params: unknown[] },
): Promise<ValueRow[]> {
  return auditedRead<ValueRow>(
    ctx,
    `SELECT s.id, s.name, s.version, v.encoding, v.key_id, v.nonce, v.ciphertext
     ${FROM_VISIBLE}
     JOIN secret_versions v ON v.secret_id = s.id AND v.version = s.version
     WHERE ${query.where} AND r.role IS NOT NULL`,
    query.params,
    caller,
    'read_value',
  );
}

function openValue(ctx: StoreContext, row: ValueRow): string {
  return open(ctx, String(row.id), row.key_id, row.nonce, row.ciphertext);
}

export async function readValue(
  ctx: StoreContext,
  caller: Caller,
  id: string,
): Promise<SecretValue> {
  id = secretId(id);
  const [row] = await readCurrentValues(ctx, caller, {
    where: 's.id = $4',
    params: [...callerParams(caller), id],
  });
  if (!row) throw notFound();
  return { value: openValue(ctx, row), encoding: row.encoding, version: Number(row.version) };
}

/**
 * The current values of the secrets `ids` the caller can see, in the order asked, audited
 * `read_value` one row per secret in the same statement as the read (as readValue). The others
 * (invisible or nonexistent: they look alike) are `missing`.
 */
export async function readValues(
  ctx: StoreContext,
  caller: Caller,
  ids: string[],
): Promise<{ values: IdentifiedValue[]; missing: string[] }> {
  const wanted = ids.filter((id) => UUID.test(id));
  const rows =
    wanted.length === 0
      ? []
      : await readCurrentValues(ctx, caller, {
          where: 's.id = ANY($4::uuid[])',
          params: [...callerParams(caller), wanted],
        });
  const byId = new Map(rows.map((row) => [String(row.id).toLowerCase(), row]));
  const values: IdentifiedValue[] = [];
  const missing: string[] = [];
  for (const id of ids) {
    const row = UUID.test(id) ? byId.get(id.toLowerCase()) : undefined;
    if (!row) {
      missing.push(id);
      continue;
    }
    values.push({
      id,
      value: openValue(ctx, row),
      encoding: row.encoding,
      version: Number(row.version),
    });
  }
  return { values, missing };
}

type ResolveOptions = { project?: string; scope?: { kind: string; id?: string } };
type ResolvedRow = ValueRow & { scope_kind: string; scope_id: string; type: string };

/** Where the SQL of pickResolved reads the caller and the request from: SQL expressions. */
interface PickSources {
  /** The caller's user id, and their principals, teams and projects as text[]. */
  user: string;
  principals: string;
  teams: string;
  projects: string;
  name: string;
  /** The options, each absent when not asked for; `nullable` when they are NULL if not asked. */
  project?: string;
  scopeKind?: string;
  scopeId?: string;
  nullable?: boolean;
}

/**
 * The secret a name resolves to for a caller, with its current value: a SELECT of at most one
 * row. The options filter (a project hides other projects' secrets; a scope picks that scope
 * only), and the precedence picks: own personal > project > team > someone else's personal
 * secret shared with the caller. Both resolve paths use it: the caller's (parameters, a
 * condition only for each option given, so each plans as a plain index lookup) and the token
 * group's (columns, NULL when not given).
 */
function pickResolved(q: PickSources): string {
  const ifGiven = (source: string, condition: string) =>
    q.nullable ? `(${source} IS NULL OR ${condition})` : `(${condition})`;
  const where = [`s.name = ${q.name}`];
  if (q.project !== undefined) {
    where.push(ifGiven(q.project, `s.scope_kind <> 'project' OR s.scope_id = ${q.project}`));
  }
  if (q.scopeKind !== undefined) {
    const id =
      q.scopeId === undefined ? '' : ` AND ${ifGiven(q.scopeId, `s.scope_id = ${q.scopeId}`)}`;
    where.push(ifGiven(q.scopeKind, `s.scope_kind = ${q.scopeKind}${id}`));
  }
  // The candidates come from what the caller can see, each from its own index: their personal
  // scope, their teams' and projects' scopes, and their grants (which carry the secret's name;
  // read first, whatever a generic plan guesses), never from every secret of that name, which
  // many users may have.
  const candidates = `(
      SELECT s.* FROM secrets s
        WHERE s.scope_kind = 'personal' AND s.scope_id = ${q.user} AND s.name = ${q.name}
      UNION ALL SELECT s.* FROM secrets s
        WHERE s.scope_kind = 'team' AND s.scope_id = ANY(${q.teams}) AND s.name = ${q.name}
      UNION ALL SELECT s.* FROM secrets s
        WHERE s.scope_kind = 'project' AND s.scope_id = ANY(${q.projects}) AND s.name = ${q.name}
      UNION ALL SELECT s.* FROM grants g
        CROSS JOIN LATERAL (SELECT * FROM secrets s WHERE s.id = g.secret_id OFFSET 0) s
        WHERE g.principal = ANY(${q.principals}) AND g.name = ${q.name})`;
  return `SELECT s.id, s.name, s.version, v.encoding, v.key_id, v.nonce, v.ciphertext,
           s.scope_kind, s.scope_id, s.type
         FROM ${candidates} s
         CROSS JOIN LATERAL (SELECT ${roleOf(q.principals, q.teams, q.projects)} AS role) r
         JOIN secret_versions v ON v.secret_id = s.id AND v.version = s.version
         WHERE ${where.join(' AND ')} AND r.role IS NOT NULL
         ORDER BY CASE WHEN s.scope_kind = 'personal' AND s.scope_id = ${q.user} THEN 0
                       WHEN s.scope_kind = 'project' THEN 1
                       WHEN s.scope_kind = 'team' THEN 2 ELSE 3 END, s.scope_id
         LIMIT 1`;
}

function toResolved(ctx: StoreContext, row: ResolvedRow): ResolvedSecret {
  return {
    id: row.id,
    name: row.name,
    scope: scopeOf(row),
    type: row.type as ResolvedSecret['type'],
    value: openValue(ctx, row),
    encoding: row.encoding,
    version: Number(row.version),
  };
}

export async function resolve(
  ctx: StoreContext,
  caller: Caller,
  name: string,
  options: ResolveOptions,
): Promise<ResolvedSecret | undefined> {
  const params: unknown[] = [...callerParams(caller), caller.userId, name];
  const param = (value: string) => `$${params.push(value)}`;
  const { project, scope } = options;
  const select = pickResolved({
    principals: '$1::text[]',
    teams: '$2::text[]',
    projects: '$3::text[]',
    user: '$4',
    name: '$5',
    project: project === undefined ? undefined : param(project),
    scopeKind: scope && param(scope.kind),
    scopeId:
      scope?.kind === 'personal' ? '$4' : scope?.id === undefined ? undefined : param(scope.id),
  });
  const [row] = await auditedRead<ResolvedRow>(ctx, select, params, caller, 'resolve');
  return row ? toResolved(ctx, row) : undefined;
}

type TokenResolution = { caller: Caller; resolved: ResolvedSecret | undefined } | undefined;

/** The caller and the secret of one token resolve's row (see resolveForToken). */
function answer(
  ctx: StoreContext,
  row: (CallerRow & Partial<ResolvedRow>) | undefined,
  hash: string,
  now: number,
  client: string,
  ip: string,
): TokenResolution {
  const caller = toCaller(row, hash, now, client, ip);
  if (!caller) return undefined;
  return { caller, resolved: row!.id ? toResolved(ctx, row as ResolvedRow) : undefined };
}

/** One token resolve on PostgreSQL: what the request asked. */
interface TokenRequest {
  hash: string;
  client: string;
  ip: string;
  name: string;
  options: ResolveOptions;
}

/**
 * Token resolves in one statement (one request alone, or a group): the requests come in as arrays
 * (one element each, NULL for an option not given), and every row that comes back carries its
 * request's ordinal. One round trip and one commit for the group; each request's read and audit
 * rows are in the same transaction that serves them.
 */
const RESOLVE_GROUP = `WITH q AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
           $6::text[], $7::text[])
         WITH ORDINALITY AS q(hash, name, project, scope_kind, scope_id, client, ip, ord)),
     c AS (SELECT q.ord, x.* FROM q CROSS JOIN LATERAL (${callerSelect('q.hash')}) x),
     live AS (
       SELECT c.*, ${callerColumns('c')}
       FROM c WHERE c.expires_at IS NULL OR c.expires_at > $8),
     found AS (
       SELECT c.ord AS found_ord, f.*, q.client AS audit_client, q.ip AS audit_ip
       FROM live c JOIN q ON q.ord = c.ord
       CROSS JOIN LATERAL (${pickResolved({
         principals: 'c.principals',
         teams: 'c.teams',
         projects: 'c.projects',
         user: 'c.user_id',
         name: 'q.name',
         project: 'q.project',
         scopeKind: 'q.scope_kind',
         scopeId: "CASE WHEN q.scope_kind = 'personal' THEN c.user_id ELSE q.scope_id END",
         nullable: true,
       })}) f),
     a AS (INSERT INTO audit (actor, action, secret_id, secret_name, version, client, ip,
             token_id, token_created_by)
           SELECT c.user_id, 'resolve', f.id, f.name, f.version, f.audit_client, f.audit_ip,
             c.token_id, c.token_created_by
           FROM found f JOIN live c ON c.ord = f.found_ord
           ORDER BY f.found_ord)
     SELECT c.*, f.id, f.name, f.version, f.encoding, f.key_id, f.nonce, f.ciphertext,
       f.scope_kind, f.scope_id, f.type
     FROM c LEFT JOIN found f ON f.found_ord = c.ord`;

type ResolveRow = CallerRow & Partial<ResolvedRow> & { ord: number };

/** Runs RESOLVE_GROUP for these requests: each request's row by its ordinal (1-based). */
async function resolveMany(
  ctx: StoreContext,
  requests: readonly TokenRequest[],
  now: number,
): Promise<Map<number, ResolveRow>> {
  const column = (pick: (r: TokenRequest) => string | undefined) =>
    requests.map((r) => pick(r) ?? null);
  const rows = await ctx.db.query<ResolveRow>(
    RESOLVE_GROUP,
    [
      column((r) => r.hash),
      column((r) => r.name),
      column((r) => r.options.project),
      column((r) => r.options.scope?.kind),
      column((r) => r.options.scope?.id),
      column((r) => r.client),
      column((r) => r.ip),
      new Date(now),
    ],
    { reusePlan: true },
  );
  return new Map(rows.map((row) => [Number(row.ord), row]));
}

/** A token resolve on PostgreSQL in one statement: token lookup, expiry, read and audit row. */
async function resolveOne(ctx: StoreContext, request: TokenRequest): Promise<TokenResolution> {
  const now = Date.now();
  const rows = await resolveMany(ctx, [request], now);
  return answer(ctx, rows.get(1), request.hash, now, request.client, request.ip);
}

/**
 * How many token resolves may run at once, each alone or as a group. A request that finds them
 * all busy waits, with the others that come meanwhile, for the next to finish, and then they
 * all run as one statement: under load the database runs one statement per group instead of one
 * per request; at low load nothing waits. Fewer, larger groups serve more: on 2 cores, 50 clients
 * got ~1.4× the resolves with two at once as with four (and ~2× as with eight); two rather than
 * one, so a slow statement does not hold up every resolve.
 */
const RESOLVES_AT_ONCE = 2;
/** The most requests in one group. */
const MAX_GROUP = 64;

interface Waiting extends TokenRequest {
  done: (result: TokenResolution) => void;
  fail: (error: unknown) => void;
}

/** The token resolves of one store: those running and those waiting for a group. */
class ResolveGroups {
  running = 0;
  waiting: Waiting[] = [];
  /** Statements that served more than one request, and the requests they served. */
  readonly stats = { groups: 0, grouped: 0 };

  constructor(private readonly ctx: StoreContext) {}

  async resolve(request: TokenRequest): Promise<TokenResolution> {
    if (this.running >= RESOLVES_AT_ONCE) {
      return new Promise((done, fail) => this.waiting.push({ ...request, done, fail }));
    }
    this.running++;
    try {
      return await resolveOne(this.ctx, request);
    } finally {
      this.running--;
      this.next();
    }
  }

  private next(): void {
    while (this.running < RESOLVES_AT_ONCE && this.waiting.length > 0) {
      const group = this.waiting.splice(0, MAX_GROUP);
      this.running++;
      void this.runGroup(group).finally(() => {
        this.running--;
        this.next();
      });
    }
  }

  private async runGroup(group: Waiting[]): Promise<void> {
    if (group.length === 1) {
      const [one] = group as [Waiting];
      return resolveOne(this.ctx, one).then(one.done, one.fail);
    }
    const now = Date.now();
    let byOrdinal: Map<number, ResolveRow>;
    try {
      byOrdinal = await resolveMany(this.ctx, group, now);
    } catch {
      // The statement wrote nothing. Each request runs alone, and gets its own answer or error.
      await Promise.all(group.map((w) => resolveOne(this.ctx, w).then(w.done, w.fail)));
      return;
    }
    this.stats.groups++;
    this.stats.grouped += group.length;
    group.forEach((w, i) => {
      try {
        w.done(answer(this.ctx, byOrdinal.get(i + 1), w.hash, now, w.client, w.ip));
      } catch (error) {
        w.fail(error);
      }
    });
  }
}

const resolveGroups = new WeakMap<StoreContext, ResolveGroups>();

function groupsOf(ctx: StoreContext): ResolveGroups {
  let groups = resolveGroups.get(ctx);
  if (!groups) resolveGroups.set(ctx, (groups = new ResolveGroups(ctx)));
  return groups;
}

/**
 * How many token resolves ran grouped (statements, requests) and how many wait now, for tests
 * and benchmarks.
 */
export function resolveGroupStats(ctx: StoreContext): {
  groups: number;
  grouped: number;
  waiting: number;
} {
  const groups = groupsOf(ctx);
  return { ...groups.stats, waiting: groups.waiting.length };
}

/**
 * Authenticates a bearer token and resolves a name for its caller, audited as resolve: undefined
 * when the token is unknown or expired. On PostgreSQL, which reads the token on every request
 * (another server process may have revoked it), that is one statement, one round trip: the
 * token lookup, the read and the audit row together; under load, concurrent requests share one
 * statement (ResolveGroups). PGlite answers the token from memory, so there it is authenticate,
 * then resolve.
 */
export async function resolveForToken(
  ctx: StoreContext,
  token: string,
  client: string,
  ip: string,
  name: string,
  options: ResolveOptions,
): Promise<TokenResolution> {
  if (ctx.db.kind !== 'postgres') {
    const caller = await authenticate(ctx, token, client, ip);
    return caller && { caller, resolved: await resolve(ctx, caller, name, options) };
  }
  return groupsOf(ctx).resolve({ hash: hashToken(token), client, ip, name, options });
}
