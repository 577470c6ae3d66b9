/**
 * The server's domain operations over the storage driver. Every change is one transaction that
 * writes the secret row, its version row, its audit row and its change-feed row together; updates
 * are guarded by version (`UPDATE … WHERE id = $ AND version = $`), never read-then-write.
 */
import { randomUUID } from 'node:crypto';
import type {
  AccessList,
  AuditEntry,
  AuditPage,
  Change,
  ChangeKind,
  ChangesPage,
  CreatedToken,
  IdentifiedValue,
  Me,
  Project,
  ResolvedSecret,
  Team,
  TokenInfo,
  User,
  VersionEntry,
} from '../core/api';
import type { Grant, Principal, Role, Scope, SecretMetadata, SecretValue } from '../core/model';
import { checkCursor, encodeCursor } from './cursor';
import type { Keyring } from './crypto';
import { KeyError } from './crypto';
import type { Row, SqlDriver, SqlExecutor } from './db/driver';
import { isForeignKeyViolation, isUniqueViolation } from './db/driver';
import { HttpError, notFound, ownersOnly } from './httpError';
import { generateToken, hashToken, sameHash } from './tokens';

/** Who is calling, resolved from their token once per request. */
export interface Caller {
  userId: string;
  admin: boolean;
  tokenId: string;
  /** The admin who created the caller's token for them (null: their own, or from start-up). */
  tokenCreatedBy: string | null;
  teams: string[];
  projects: string[];
  /** Grant principals that mean the caller: `user:<id>` and `team:<id>` of each team. */
  principals: string[];
  /** The client as it names itself, and its address (for audit rows). */
  client: string;
  ip: string;
}

export interface StoreOptions {
  /** How many versions keep their value for restore (older values are destroyed). */
  keepValues: number;
}

export interface NewSecret {
  name: string;
  value: string;
  encoding: 'text' | 'base64';
  type: string;
  description: string;
  scope: Scope;
}

export interface SecretPatch {
  /** A new name in the same scope (a rename keeps the id, versions and grants). */
  name?: string;
  value?: string;
  encoding?: 'text' | 'base64';
  description?: string;
  type?: string;
}

interface PendingChange {
  secretIds: string[];
  kind: string;
  /** Who can see these secrets ('user:', 'team:' or 'project:' keys); stored as the users. */
  audience: string[];
}

// The caller's role on secret `s`: the best grant to them or their teams, else reader through
// membership of the secret's team or project scope. 'owner' < 'reader', so min() picks owner.
// Parameters $1 principals, $2 teams, $3 projects are bound by every query that uses it.
const ROLE = `COALESCE(
  (SELECT min(g.role) FROM grants g WHERE g.secret_id = s.id AND g.principal = ANY($1::text[])),
  CASE WHEN (s.scope_kind = 'team' AND s.scope_id = ANY($2::text[]))
         OR (s.scope_kind = 'project' AND s.scope_id = ANY($3::text[])) THEN 'reader' END)`;

const METADATA_COLUMNS = `s.id, s.name, s.scope_kind, s.scope_id, s.encoding, s.type, s.description,
  s.version, s.created_at, s.updated_at, s.created_by, r.role,
  CASE WHEN r.role = 'owner' THEN (
    SELECT json_agg(json_build_object('principal', g.principal, 'role', g.role) ORDER BY g.principal)
    FROM grants g WHERE g.secret_id = s.id) END AS access`;

const FROM_VISIBLE = `FROM secrets s CROSS JOIN LATERAL (SELECT ${ROLE} AS role) r`;

interface SecretRow extends Row {
  id: string;
  name: string;
  scope_kind: 'personal' | 'project' | 'team';
  scope_id: string;
  encoding: 'text' | 'base64';
  type: string;
  description: string;
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
  created_by: string;
  role: Role | null;
  access: { principal: string; role: Role }[] | string | null;
}

function iso(value: unknown): string {
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
}

export function parsePrincipal(key: string): Principal {
  const at = key.indexOf(':');
  return { kind: key.slice(0, at) as Principal['kind'], id: key.slice(at + 1) };
}

export function principalKey(principal: Principal): string {
  return `${principal.kind}:${principal.id}`;
}

function scopeOf(row: { scope_kind: string; scope_id: string }): Scope {
  return row.scope_kind === 'personal'
    ? { kind: 'personal' }
    : { kind: row.scope_kind as 'project' | 'team', id: row.scope_id };
}

function toMetadata(row: SecretRow): SecretMetadata {
  const raw = typeof row.access === 'string' ? JSON.parse(row.access) : row.access;
  const access: Grant[] = ((raw as { principal: string; role: Role }[] | null) ?? []).map((g) => ({
    principal: parsePrincipal(g.principal),
    role: g.role,
  }));
  return {
    id: row.id,
    name: row.name,
    encoding: row.encoding,
    type: row.type as SecretMetadata['type'],
    description: row.description,
    scope: scopeOf(row),
    version: Number(row.version),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    created_by: row.created_by,
    access,
    ...(row.role ? { role: row.role } : {}),
  };
}

function callerParams(caller: Caller): unknown[] {
  return [caller.principals, caller.teams, caller.projects];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A secret id from a request, in the form values are sealed with (lower case): an id typed in
 * upper case must neither fail to decrypt nor seal a value that its own id cannot open later.
 */
function secretId(id: string): string {
  if (!UUID.test(id)) throw notFound();
  return id.toLowerCase();
}

export class Store {
  constructor(
    readonly db: SqlDriver,
    private readonly keyring: Keyring,
    readonly databaseId: string,
    private readonly options: StoreOptions,
  ) {}

  // -------------------------------------------------------------------------------------------
  // Start-up checks and bootstrap

  /**
   * Refuses to start (throws KeyError) when the database holds values under a key this server
   * lacks, or a key check value does not decrypt; records the current key otherwise.
   */
  async checkKeys(): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [7_428_311_903]);
      // Needed: every key that stored values use, and the key the last server started with (so a
      // second server with another key cannot start on a database that has no values yet).
      const checks = await tx.query<{ key_id: string; nonce: Buffer; ciphertext: Buffer }>(
        'SELECT key_id, nonce, ciphertext FROM key_checks ORDER BY created_at DESC, key_id',
      );
      const used = await tx.query<{ key_id: string }>(
        'SELECT DISTINCT key_id FROM secret_versions WHERE ciphertext IS NOT NULL',
      );
      const needed = new Set(used.map((u) => u.key_id));
      if (checks[0]) needed.add(checks[0].key_id);
      const missing = [...needed].filter((id) => !this.keyring.has(id));
      if (missing.length > 0) {
        throw new KeyError(
          `This database has values encrypted with key id ${missing.join(', ')}, which this server does not have ` +
            `(it has ${this.keyring.ids().join(', ')}). Start it with the key this database was created with ` +
            `(NOTEBOOK_SECRETS_KEY, or the key file of its data directory); keep old keys in NOTEBOOK_SECRETS_OLD_KEYS.`,
        );
      }
      for (const check of checks.filter((c) => this.keyring.has(c.key_id))) {
        const text = this.keyring.open(
          {
            keyId: check.key_id,
            nonce: Buffer.from(check.nonce),
            ciphertext: Buffer.from(check.ciphertext),
          },
          'key-check',
        );
        if (text !== 'notebook-secrets')
          throw new KeyError(`Key ${check.key_id} fails its check value.`);
      }
      // One stored value per key must decrypt too: damaged data is refused, not served empty.
      for (const { key_id } of used) {
        const [sample] = await tx.query<{ secret_id: string; nonce: Buffer; ciphertext: Buffer }>(
          `SELECT secret_id, nonce, ciphertext FROM secret_versions
           WHERE key_id = $1 AND ciphertext IS NOT NULL LIMIT 1`,
          [key_id],
        );
        if (sample) this.open(sample.secret_id, key_id, sample.nonce, sample.ciphertext);
      }
      const sealed = this.keyring.seal('notebook-secrets', 'key-check');
      await tx.query(
        `INSERT INTO key_checks (key_id, nonce, ciphertext) VALUES ($1, $2, $3)
         ON CONFLICT (key_id) DO UPDATE SET created_at = now()`,
        [sealed.keyId, sealed.nonce, sealed.ciphertext],
      );
    });
  }

  /**
   * Makes sure the admin user exists and has a token. With `envToken`, that token is registered
   * (idempotently); without, a new token is created only when the admin has none. Returns a newly
   * created token (to print once) or undefined.
   */
  async bootstrapAdmin(envToken: string | undefined): Promise<string | undefined> {
    return this.db.transaction(async (tx) => {
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

  // -------------------------------------------------------------------------------------------
  // Callers

  /** Resolves a bearer token to its caller, or undefined (unknown or expired token). */
  async authenticate(token: string, client: string, ip: string): Promise<Caller | undefined> {
    const hash = hashToken(token);
    const [row] = await this.db.queryStable<{
      token_id: string;
      hash: string;
      expires_at: Date | null;
      created_by: string | null;
      user_id: string;
      admin: boolean;
      teams: string[];
      projects: string[];
    }>(
      `SELECT t.id AS token_id, t.hash, t.expires_at, t.created_by, u.id AS user_id, u.admin,
         ARRAY(SELECT tm.team_id FROM team_members tm WHERE tm.user_id = u.id ORDER BY 1) AS teams,
         ARRAY(SELECT DISTINCT pm.project_id FROM project_members pm
               WHERE pm.principal = 'user:' || u.id
                  OR pm.principal IN (SELECT 'team:' || tm.team_id FROM team_members tm WHERE tm.user_id = u.id)
               ORDER BY 1) AS projects
       FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1`,
      [hash],
      ['tokens', 'users', 'teams', 'team_members', 'projects', 'project_members'],
    );
    // The index lookup finds the row; the constant-time compare is the check that counts.
    if (!row || !sameHash(row.hash, hash)) return undefined;
    if (row.expires_at && new Date(row.expires_at).getTime() <= Date.now()) return undefined;
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

  async me(caller: Caller): Promise<Me> {
    const [user] = await this.db.query(
      'SELECT id, name, admin, created_at FROM users WHERE id = $1',
      [caller.userId],
    );
    const teams = await this.db.query(
      'SELECT id, name, created_at FROM teams WHERE id = ANY($1::text[]) ORDER BY id',
      [caller.teams],
    );
    const projects = await this.db.query(
      'SELECT id, name, created_at FROM projects WHERE id = ANY($1::text[]) ORDER BY id',
      [caller.projects],
    );
    return {
      user: toUser(user!),
      teams: teams.map(toGroup),
      projects: projects.map(toGroup),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Secrets

  async create(caller: Caller, input: NewSecret): Promise<SecretMetadata> {
    let scopeId: string;
    if (input.scope.kind === 'personal') scopeId = caller.userId;
    else {
      const mine = input.scope.kind === 'team' ? caller.teams : caller.projects;
      if (!mine.includes(input.scope.id)) {
        throw new HttpError(
          403,
          'access_denied',
          `You can create secrets only in your own scope, or a team or project you are a member of; you are not a member of ${input.scope.kind} '${input.scope.id}'.`,
          { field: 'scope.id' },
        );
      }
      scopeId = input.scope.id;
    }
    const id = randomUUID();
    const now = new Date();
    const owner = `user:${caller.userId}`;
    const audience =
      input.scope.kind === 'personal' ? [owner] : [owner, `${input.scope.kind}:${scopeId}`];
    try {
      await this.write(async (tx) => {
        await tx.query(
          `INSERT INTO secrets (id, name, scope_kind, scope_id, encoding, type, description, version,
             created_at, updated_at, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8, $9)`,
          [
            id,
            input.name,
            input.scope.kind,
            scopeId,
            input.encoding,
            input.type,
            input.description,
            now,
            caller.userId,
          ],
        );
        await tx.query(`INSERT INTO grants (secret_id, principal, role) VALUES ($1, $2, 'owner')`, [
          id,
          owner,
        ]);
        await this.insertVersion(
          tx,
          id,
          1,
          'create',
          input.encoding,
          caller,
          now,
          this.seal(id, input.value),
        );
        await this.audit(tx, caller, 'create', id, input.name, 1);
        return { result: undefined, changes: [{ secretIds: [id], kind: 'create', audience }] };
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new HttpError(
          409,
          'name_taken',
          `A secret named '${input.name}' already exists in this scope; pick another name or update that one.`,
          { field: 'name' },
        );
      }
      throw error;
    }
    return {
      id,
      name: input.name,
      encoding: input.encoding,
      type: input.type as SecretMetadata['type'],
      description: input.description,
      scope: input.scope.kind === 'personal' ? { kind: 'personal' } : input.scope,
      version: 1,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
      created_by: caller.userId,
      access: [{ principal: { kind: 'user', id: caller.userId }, role: 'owner' }],
      role: 'owner',
    };
  }

  async list(
    caller: Caller,
    filter: { scope?: { kind: string; id?: string }; type?: string; q?: string },
  ): Promise<SecretMetadata[]> {
    const params = callerParams(caller);
    const where: string[] = ['r.role IS NOT NULL'];
    if (filter.scope) {
      params.push(filter.scope.kind);
      where.push(`s.scope_kind = $${params.length}`);
      if (filter.scope.kind === 'personal') {
        params.push(caller.userId);
        where.push(`s.scope_id = $${params.length}`);
      } else if (filter.scope.id !== undefined) {
        params.push(filter.scope.id);
        where.push(`s.scope_id = $${params.length}`);
      }
    }
    if (filter.type) {
      params.push(filter.type);
      where.push(`s.type = $${params.length}`);
    }
    if (filter.q) {
      params.push(`%${filter.q.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c)}%`);
      where.push(
        `(lower(s.name) LIKE $${params.length} OR lower(s.description) LIKE $${params.length})`,
      );
    }
    const rows = await this.db.query<SecretRow>(
      `SELECT ${METADATA_COLUMNS} ${FROM_VISIBLE} WHERE ${where.join(' AND ')}
       ORDER BY s.name, s.scope_kind, s.scope_id`,
      params,
    );
    return rows.map(toMetadata);
  }

  /** The secret as the caller sees it, or undefined when it does not exist for them. */
  async get(
    caller: Caller,
    id: string,
    db: SqlExecutor = this.db,
  ): Promise<SecretMetadata | undefined> {
    if (!UUID.test(id)) return undefined;
    id = id.toLowerCase();
    const [row] = await db.query<SecretRow>(
      `SELECT ${METADATA_COLUMNS} ${FROM_VISIBLE} WHERE s.id = $4 AND r.role IS NOT NULL`,
      [...callerParams(caller), id],
    );
    return row ? toMetadata(row) : undefined;
  }

  async readValue(caller: Caller, id: string): Promise<SecretValue> {
    id = secretId(id);
    const [row] = await this.auditedRead<{
      name: string;
      version: number;
      encoding: 'text' | 'base64';
      key_id: string;
      nonce: Buffer;
      ciphertext: Buffer;
    }>(
      `SELECT s.id, s.name, s.version, s.encoding, v.key_id, v.nonce, v.ciphertext ${FROM_VISIBLE}
       JOIN secret_versions v ON v.secret_id = s.id AND v.version = s.version
       WHERE s.id = $4 AND r.role IS NOT NULL`,
      [...callerParams(caller), id],
      caller,
      'read_value',
    );
    if (!row) throw notFound();
    const value = this.open(id, row.key_id, row.nonce, row.ciphertext);
    return { value, encoding: row.encoding, version: Number(row.version) };
  }

  /**
   * The current values of the secrets `ids` the caller can see, in the order asked, audited
   * `read_value` one row per secret in the same statement as the read (as readValue). The others
   * (invisible or nonexistent: they look alike) are `missing`.
   */
  async readValues(
    caller: Caller,
    ids: string[],
  ): Promise<{ values: IdentifiedValue[]; missing: string[] }> {
    const wanted = ids.filter((id) => UUID.test(id));
    const rows =
      wanted.length === 0
        ? []
        : await this.auditedRead<{
            id: string;
            name: string;
            version: number;
            encoding: 'text' | 'base64';
            key_id: string;
            nonce: Buffer;
            ciphertext: Buffer;
          }>(
            `SELECT s.id, s.name, s.version, s.encoding, v.key_id, v.nonce, v.ciphertext ${FROM_VISIBLE}
             JOIN secret_versions v ON v.secret_id = s.id AND v.version = s.version
             WHERE s.id = ANY($4::uuid[]) AND r.role IS NOT NULL`,
            [...callerParams(caller), wanted],
            caller,
            'read_value',
          );
    const byId = new Map(rows.map((row) => [String(row.id).toLowerCase(), row]));
    const values: IdentifiedValue[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const row = UUID.test(id) ? byId.get(id.toLowerCase()) : undefined;
      if (!row) {
        missing.push(id);
        continue;
      }
      const value = this.open(String(row.id), row.key_id, row.nonce, row.ciphertext);
      values.push({ id, value, encoding: row.encoding, version: Number(row.version) });
    }
    return { values, missing };
  }

  async resolve(
    caller: Caller,
    name: string,
    options: { project?: string; scope?: { kind: string; id?: string } },
  ): Promise<ResolvedSecret | undefined> {
    const params: unknown[] = [...callerParams(caller), name, caller.userId];
    const where = ['s.name = $4', 'r.role IS NOT NULL'];
    if (options.project !== undefined) {
      params.push(options.project);
      where.push(`(s.scope_kind <> 'project' OR s.scope_id = $${params.length})`);
    }
    if (options.scope) {
      params.push(options.scope.kind);
      where.push(`s.scope_kind = $${params.length}`);
      if (options.scope.kind === 'personal') where.push('s.scope_id = $5');
      else if (options.scope.id !== undefined) {
        params.push(options.scope.id);
        where.push(`s.scope_id = $${params.length}`);
      }
    }
    // Own personal > project > team > someone else's personal secret shared with the caller.
    const [row] = await this.auditedRead<{
      id: string;
      name: string;
      scope_kind: string;
      scope_id: string;
      type: string;
      version: number;
      encoding: 'text' | 'base64';
      key_id: string;
      nonce: Buffer;
      ciphertext: Buffer;
    }>(
      `SELECT s.id, s.name, s.scope_kind, s.scope_id, s.type, s.version, v.encoding, v.key_id, v.nonce, v.ciphertext
       ${FROM_VISIBLE}
       JOIN secret_versions v ON v.secret_id = s.id AND v.version = s.version
       WHERE ${where.join(' AND ')}
       ORDER BY CASE WHEN s.scope_kind = 'personal' AND s.scope_id = $5 THEN 0
                     WHEN s.scope_kind = 'project' THEN 1
                     WHEN s.scope_kind = 'team' THEN 2 ELSE 3 END, s.scope_id
       LIMIT 1`,
      params,
      caller,
      'resolve',
    );
    if (!row) return undefined;
    const value = this.open(row.id, row.key_id, row.nonce, row.ciphertext);
    return {
      id: row.id,
      name: row.name,
      scope: scopeOf(row),
      type: row.type as ResolvedSecret['type'],
      value,
      encoding: row.encoding,
      version: Number(row.version),
    };
  }

  async update(
    caller: Caller,
    id: string,
    ifMatch: number,
    patch: SecretPatch,
  ): Promise<SecretMetadata> {
    id = secretId(id);
    const now = new Date();
    return this.write(async (tx) => {
      const [row] = await tx
        .query<{ version: number; name: string; encoding: 'text' | 'base64' }>(
          `UPDATE secrets s SET version = s.version + 1, updated_at = $6,
           description = COALESCE($7, s.description), type = COALESCE($8, s.type),
           encoding = COALESCE($9, s.encoding), name = COALESCE($10, s.name)
         WHERE s.id = $4 AND s.version = $5 AND ${ROLE} = 'owner'
         RETURNING s.version, s.name, s.encoding`,
          [
            ...callerParams(caller),
            id,
            ifMatch,
            now,
            patch.description ?? null,
            patch.type ?? null,
            patch.encoding ?? null,
            patch.name ?? null,
          ],
        )
        .catch((error: unknown) => {
          if (isUniqueViolation(error)) {
            throw new HttpError(
              409,
              'name_taken',
              `A secret named '${patch.name}' already exists in this scope; pick another name or delete that one first.`,
              { field: 'name' },
            );
          }
          throw error;
        });
      if (!row) throw await this.whyNot(tx, caller, id, 'edit it');
      const version = Number(row.version);
      const sealed =
        patch.value !== undefined
          ? this.seal(id, patch.value)
          : await this.copyValue(tx, id, version - 1);
      await this.insertVersion(tx, id, version, 'update', row.encoding, caller, now, sealed);
      await this.destroyOldValues(tx, id, version);
      await this.audit(tx, caller, 'update', id, row.name, version);
      const audience = await this.audienceOf(tx, id);
      const meta = await this.get(caller, id, tx);
      return { result: meta!, changes: [{ secretIds: [id], kind: 'update', audience }] };
    });
  }

  async remove(caller: Caller, id: string, ifMatch: number | undefined): Promise<void> {
    id = secretId(id);
    await this.write(async (tx) => {
      // Lock the row first so the audience read below cannot race a concurrent share.
      await tx.query('SELECT 1 FROM secrets WHERE id = $1 FOR UPDATE', [id]);
      const audience = await this.audienceOf(tx, id);
      const [row] = await tx.query<{ version: number; name: string }>(
        `DELETE FROM secrets s WHERE s.id = $4 AND ($5::integer IS NULL OR s.version = $5)
           AND ${ROLE} = 'owner'
         RETURNING s.version, s.name`,
        [...callerParams(caller), id, ifMatch ?? null],
      );
      if (!row) throw await this.whyNot(tx, caller, id, 'delete it', ifMatch !== undefined);
      // Versions and grants went with the row (ON DELETE CASCADE): every value is destroyed.
      await this.audit(tx, caller, 'delete', id, row.name, Number(row.version));
      return { result: undefined, changes: [{ secretIds: [id], kind: 'delete', audience }] };
    });
  }

  async getAccess(caller: Caller, id: string): Promise<AccessList> {
    const meta = await this.get(caller, id);
    if (!meta) throw notFound();
    if (meta.role !== 'owner') throw ownersOnly('see who it is shared with');
    return { access: meta.access, version: meta.version };
  }

  async putAccess(
    caller: Caller,
    id: string,
    grants: Grant[],
    ifMatch: number | undefined,
  ): Promise<AccessList> {
    id = secretId(id);
    const keys = grants.map((g) => principalKey(g.principal));
    const duplicate = keys.find((k, i) => keys.indexOf(k) !== i);
    if (duplicate) {
      throw new HttpError(
        400,
        'invalid_input',
        `The access list names ${duplicate} twice; give each principal one role.`,
        {
          field: 'access',
        },
      );
    }
    const now = new Date();
    return this.write(async (tx) => {
      const [row] = await tx.query<{ version: number; name: string; encoding: 'text' | 'base64' }>(
        `UPDATE secrets s SET version = s.version + 1, updated_at = $6
         WHERE s.id = $4 AND ($5::integer IS NULL OR s.version = $5) AND ${ROLE} = 'owner'
         RETURNING s.version, s.name, s.encoding`,
        [...callerParams(caller), id, ifMatch ?? null, now],
      );
      if (!row) throw await this.whyNot(tx, caller, id, 'share it', ifMatch !== undefined);
      if (!grants.some((g) => g.role === 'owner')) {
        throw new HttpError(
          422,
          'last_owner',
          'A secret must keep at least one owner; add an owner to the access list before removing the last one.',
        );
      }
      await this.assertPrincipalsExist(
        tx,
        grants.map((g) => g.principal),
      );
      const before = await this.audienceOf(tx, id);
      await tx.query('DELETE FROM grants WHERE secret_id = $1', [id]);
      for (const grant of grants) {
        await tx.query('INSERT INTO grants (secret_id, principal, role) VALUES ($1, $2, $3)', [
          id,
          principalKey(grant.principal),
          grant.role,
        ]);
      }
      const after = await this.audienceOf(tx, id);
      const version = Number(row.version);
      await this.insertVersion(
        tx,
        id,
        version,
        'share',
        row.encoding,
        caller,
        now,
        await this.copyValue(tx, id, version - 1),
      );
      await this.destroyOldValues(tx, id, version);
      await this.audit(tx, caller, 'share', id, row.name, version);
      const access = [...grants].sort((a, b) =>
        principalKey(a.principal).localeCompare(principalKey(b.principal)),
      );
      return {
        result: { access, version },
        changes: [
          { secretIds: [id], kind: 'share', audience: [...new Set([...before, ...after])] },
        ],
      };
    });
  }

  async versions(caller: Caller, id: string): Promise<VersionEntry[]> {
    const meta = await this.get(caller, id);
    if (!meta) throw notFound();
    const rows = await this.db.query<{
      version: number;
      kind: ChangeKind;
      author: string;
      at: Date;
      restorable: boolean;
    }>(
      `SELECT version, kind, author, at, ciphertext IS NOT NULL AS restorable
       FROM secret_versions WHERE secret_id = $1 ORDER BY version DESC`,
      [id],
    );
    return rows.map((r) => ({
      version: Number(r.version),
      kind: r.kind,
      author: r.author,
      at: iso(r.at),
      restorable: Boolean(r.restorable),
    }));
  }

  async restore(
    caller: Caller,
    id: string,
    n: number,
    ifMatch: number | undefined,
  ): Promise<SecretMetadata> {
    id = secretId(id);
    const now = new Date();
    return this.write(async (tx) => {
      const [row] = await tx.query<{ version: number; name: string }>(
        `UPDATE secrets s SET version = s.version + 1, updated_at = $6
         WHERE s.id = $4 AND ($5::integer IS NULL OR s.version = $5) AND ${ROLE} = 'owner'
         RETURNING s.version, s.name`,
        [...callerParams(caller), id, ifMatch ?? null, now],
      );
      if (!row) throw await this.whyNot(tx, caller, id, 'restore a version', ifMatch !== undefined);
      const version = Number(row.version);
      const [old] = await tx.query<{
        encoding: 'text' | 'base64';
        key_id: string | null;
        nonce: Buffer | null;
        ciphertext: Buffer | null;
      }>(
        'SELECT encoding, key_id, nonce, ciphertext FROM secret_versions WHERE secret_id = $1 AND version = $2',
        [id, n],
      );
      if (!old || n >= version) {
        throw new HttpError(404, 'not_found', `This secret has no version ${n}.`);
      }
      if (!old.ciphertext || !old.key_id || !old.nonce) {
        throw new HttpError(
          404,
          'not_found',
          `The value of version ${n} was destroyed: the server keeps the values of the last ${this.options.keepValues} versions.`,
        );
      }
      // Re-encrypt under the current key, so restoring also moves the value off an old key.
      const value = this.open(id, old.key_id, old.nonce, old.ciphertext);
      await tx.query('UPDATE secrets SET encoding = $2 WHERE id = $1', [id, old.encoding]);
      await this.insertVersion(
        tx,
        id,
        version,
        'restore',
        old.encoding,
        caller,
        now,
        this.seal(id, value),
      );
      await this.destroyOldValues(tx, id, version);
      await this.audit(tx, caller, 'restore', id, row.name, version);
      const audience = await this.audienceOf(tx, id);
      const meta = await this.get(caller, id, tx);
      return { result: meta!, changes: [{ secretIds: [id], kind: 'restore', audience }] };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Change feed

  async changes(caller: Caller, since: string | undefined, limit: number): Promise<ChangesPage> {
    const [counter] = await this.db.query<{ value: number }>(
      `SELECT value FROM counters WHERE name = 'changes'`,
    );
    const head = Number(counter!.value);
    const check = checkCursor(since, this.databaseId, head);
    const from = check.kind === 'incremental' ? check.since : 0;
    const reset = check.kind === 'reset';
    // For each secret changed in (from, head], its latest change; then its current state for the
    // caller: an upsert when visible, a tombstone when a change touched the caller but they can no
    // longer see it. Bounded by head, so the page is consistent with `next` even under concurrent
    // writers (sequence numbers commit in order).
    const rows = await this.db.query<
      SecretRow & { change_id: string; seq: number; present: boolean }
    >(
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
      next: encodeCursor({ databaseId: this.databaseId, seq: nextSeq }),
      more,
      reset,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Audit

  async auditLog(
    caller: Caller,
    query: { secret?: string; before?: string; limit: number },
  ): Promise<AuditPage> {
    const params: unknown[] = [];
    const where: string[] = [];
    if (query.secret !== undefined) {
      if (!caller.admin) {
        const meta = UUID.test(query.secret) ? await this.get(caller, query.secret) : undefined;
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
    const rows = await this.db.query<{
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
    }>(
      `SELECT a.id, a.at, a.actor, a.action, a.secret_id, a.secret_name, a.version, a.client, a.ip,
         a.subject, a.token_id, a.token_created_by
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
      })),
      next: rows.length > query.limit ? String(page[page.length - 1]!.id) : null,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Administration

  async createUser(input: { id: string; name?: string; admin: boolean }): Promise<User> {
    return this.insertEntity('users', 'user', input.id, () =>
      this.db.query(
        'INSERT INTO users (id, name, admin) VALUES ($1, $2, $3) RETURNING id, name, admin, created_at',
        [input.id, input.name ?? input.id, input.admin],
      ),
    ).then(toUser);
  }

  async listUsers(): Promise<User[]> {
    return (await this.db.query('SELECT id, name, admin, created_at FROM users ORDER BY id')).map(
      toUser,
    );
  }

  async createGroup(
    table: 'teams' | 'projects',
    input: { id: string; name?: string },
  ): Promise<Team | Project> {
    return this.insertEntity(table, table === 'teams' ? 'team' : 'project', input.id, () =>
      this.db.query(
        `INSERT INTO ${table} (id, name) VALUES ($1, $2) RETURNING id, name, created_at`,
        [input.id, input.name ?? input.id],
      ),
    ).then(toGroup);
  }

  async listGroups(table: 'teams' | 'projects'): Promise<(Team | Project)[]> {
    return (await this.db.query(`SELECT id, name, created_at FROM ${table} ORDER BY id`)).map(
      toGroup,
    );
  }

  async members(kind: 'team' | 'project', id: string): Promise<Principal[]> {
    await this.assertGroup(this.db, kind, id);
    const rows =
      kind === 'team'
        ? await this.db.query<{ p: string }>(
            `SELECT 'user:' || user_id AS p FROM team_members WHERE team_id = $1 ORDER BY 1`,
            [id],
          )
        : await this.db.query<{ p: string }>(
            'SELECT principal AS p FROM project_members WHERE project_id = $1 ORDER BY 1',
            [id],
          );
    return rows.map((r) => parsePrincipal(r.p));
  }

  /**
   * Adds or removes a member. Either way every secret reachable through that membership gets a
   * change-feed row for the member, so their next sync brings the upserts or tombstones.
   */
  async setMember(
    kind: 'team' | 'project',
    id: string,
    member: Principal,
    present: boolean,
  ): Promise<Principal[]> {
    if (kind === 'team' && member.kind !== 'user') {
      throw new HttpError(400, 'invalid_input', 'Team members are users; teams cannot be nested.', {
        field: 'user',
      });
    }
    const key = principalKey(member);
    await this.write(async (tx) => {
      await this.assertGroup(tx, kind, id);
      let touched: number;
      if (present) {
        await this.assertPrincipalsExist(tx, [member]);
        touched =
          kind === 'team'
            ? await tx.execute(
                'INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
                [id, member.id],
              )
            : await tx.execute(
                'INSERT INTO project_members (project_id, principal) VALUES ($1, $2) ON CONFLICT DO NOTHING',
                [id, key],
              );
      } else {
        touched =
          kind === 'team'
            ? await tx.execute('DELETE FROM team_members WHERE team_id = $1 AND user_id = $2', [
                id,
                member.id,
              ])
            : await tx.execute(
                'DELETE FROM project_members WHERE project_id = $1 AND principal = $2',
                [id, key],
              );
        if (touched === 0)
          throw new HttpError(404, 'not_found', `${key} is not a member of ${kind} '${id}'.`);
      }
      if (touched === 0) return { result: undefined, changes: [] };
      const secretIds =
        kind === 'team'
          ? await tx.query<{ id: string }>(
              `SELECT s.id FROM secrets s
               WHERE (s.scope_kind = 'team' AND s.scope_id = $1)
                  OR s.id IN (SELECT g.secret_id FROM grants g WHERE g.principal = 'team:' || $1)
                  OR (s.scope_kind = 'project' AND s.scope_id IN (
                        SELECT pm.project_id FROM project_members pm WHERE pm.principal = 'team:' || $1))`,
              [id],
            )
          : await tx.query<{ id: string }>(
              `SELECT s.id FROM secrets s WHERE s.scope_kind = 'project' AND s.scope_id = $1`,
              [id],
            );
      return {
        result: undefined,
        changes: [
          {
            secretIds: secretIds.map((r) => r.id),
            kind: present ? 'member_added' : 'member_removed',
            audience: [key],
          },
        ],
      };
    });
    return this.members(kind, id);
  }

  async createToken(
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
      const row = await this.db.transaction(async (tx) => {
        const [inserted] = await tx.query(
          `INSERT INTO tokens (id, user_id, name, hash, expires_at, created_by)
           VALUES ($1, $2, $3, $4, $5, $6)
           RETURNING id, user_id, name, created_at, expires_at`,
          [id, input.user, input.name ?? 'token', hashToken(token), expires, caller.userId],
        );
        await this.auditToken(tx, caller, 'create_token', input.user, id);
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

  async listTokens(user: string | undefined): Promise<TokenInfo[]> {
    const rows = await this.db.query(
      `SELECT id, user_id, name, created_at, expires_at FROM tokens
       WHERE ($1::text IS NULL OR user_id = $1) ORDER BY created_at`,
      [user ?? null],
    );
    return rows.map(toToken);
  }

  async revokeToken(caller: Caller, id: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const [row] = await tx.query<{ user_id: string }>(
        'DELETE FROM tokens WHERE id = $1 RETURNING user_id',
        [id],
      );
      if (!row) throw new HttpError(404, 'not_found', `There is no token with id '${id}'.`);
      await this.auditToken(tx, caller, 'revoke_token', row.user_id, id);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  /**
   * Runs one write transaction. Its change-feed rows are numbered last, by incrementing the
   * counter row: that row lock serializes writers from here to commit, so sequence numbers
   * become visible in order and without gaps.
   */
  private async write<T>(
    fn: (tx: SqlExecutor) => Promise<{ result: T; changes: PendingChange[] }>,
  ): Promise<T> {
    return this.db.transaction(async (tx) => {
      const { result, changes } = await fn(tx);
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
      return result;
    });
  }

  /** Explains why a guarded write matched no row: 404, 403 or 412 with the current version. */
  private async whyNot(
    tx: SqlExecutor,
    caller: Caller,
    id: string,
    action: string,
    versioned = true,
  ): Promise<HttpError> {
    const meta = await this.get(caller, id, tx);
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

  private async audienceOf(tx: SqlExecutor, id: string): Promise<string[]> {
    const rows = await tx.query<{ p: string }>(
      `SELECT g.principal AS p FROM grants g WHERE g.secret_id = $1
       UNION SELECT s.scope_kind || ':' || s.scope_id FROM secrets s WHERE s.id = $1 AND s.scope_kind <> 'personal'`,
      [id],
    );
    return rows.map((r) => r.p);
  }

  private async assertPrincipalsExist(tx: SqlExecutor, principals: Principal[]): Promise<void> {
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

  private async assertGroup(tx: SqlExecutor, kind: 'team' | 'project', id: string): Promise<void> {
    const rows = await tx.query(
      `SELECT 1 FROM ${kind === 'team' ? 'teams' : 'projects'} WHERE id = $1`,
      [id],
    );
    if (rows.length === 0) throw new HttpError(404, 'not_found', `There is no ${kind} '${id}'.`);
  }

  private async insertEntity<T extends Row>(
    table: string,
    what: string,
    id: string,
    insert: () => Promise<T[]>,
  ): Promise<T> {
    try {
      return (await insert())[0]!;
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new HttpError(409, 'already_exists', `A ${what} with id '${id}' already exists.`, {
          field: 'id',
        });
      }
      throw error;
    }
  }

  private seal(secretId: string, value: string) {
    return this.keyring.seal(value, secretId);
  }

  private open(secretId: string, keyId: string, nonce: Uint8Array, ciphertext: Uint8Array): string {
    return this.keyring.open(
      { keyId, nonce: Buffer.from(nonce), ciphertext: Buffer.from(ciphertext) },
      secretId,
    );
  }

  private async copyValue(tx: SqlExecutor, id: string, version: number) {
    const [row] = await tx.query<{ key_id: string; nonce: Buffer; ciphertext: Buffer }>(
      'SELECT key_id, nonce, ciphertext FROM secret_versions WHERE secret_id = $1 AND version = $2',
      [id, version],
    );
    if (!row?.ciphertext)
      throw new HttpError(500, 'internal', 'The current value of this secret is missing.');
    return {
      keyId: row.key_id,
      nonce: Buffer.from(row.nonce),
      ciphertext: Buffer.from(row.ciphertext),
    };
  }

  private async insertVersion(
    tx: SqlExecutor,
    id: string,
    version: number,
    kind: ChangeKind,
    encoding: string,
    caller: Caller,
    at: Date,
    sealed: { keyId: string; nonce: Buffer; ciphertext: Buffer },
  ): Promise<void> {
    await tx.query(
      `INSERT INTO secret_versions (secret_id, version, kind, encoding, author, at, key_id, nonce, ciphertext)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        id,
        version,
        kind,
        encoding,
        caller.userId,
        at,
        sealed.keyId,
        sealed.nonce,
        sealed.ciphertext,
      ],
    );
  }

  private async destroyOldValues(tx: SqlExecutor, id: string, version: number): Promise<void> {
    await tx.query(
      `UPDATE secret_versions SET key_id = NULL, nonce = NULL, ciphertext = NULL
       WHERE secret_id = $1 AND version <= $2 AND ciphertext IS NOT NULL`,
      [id, version - this.options.keepValues],
    );
  }

  /**
   * Runs a value read (a SELECT of rows with id, name and version) and writes one audit row per
   * row read in the same statement: one round trip, and no value leaves without its audit row.
   */
  private async auditedRead<T extends Row>(
    select: string,
    params: unknown[],
    caller: Caller,
    action: 'read_value' | 'resolve',
  ): Promise<T[]> {
    const n = params.length;
    return this.db.query<T>(
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
    );
  }

  private async audit(
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

  /** Audits a token created or revoked by `caller` for `subject`. */
  private async auditToken(
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
}

function toUser(row: Row): User {
  return {
    id: String(row.id),
    name: String(row.name),
    admin: Boolean(row.admin),
    created_at: iso(row.created_at),
  };
}

function toGroup(row: Row): Team {
  return { id: String(row.id), name: String(row.name), created_at: iso(row.created_at) };
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
