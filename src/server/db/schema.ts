/**
 * The one SQL schema, as ordered migrations that run unchanged on PGlite and PostgreSQL. Applied
 * under an advisory lock, so several servers starting on one database migrate it once.
 */
import { randomBytes } from 'node:crypto';
import type { SqlDriver, SqlExecutor } from './driver';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The users (as 'user:' keys) among a change's audience keys, with the members of its teams and
 * projects: feed_readers(keys). Every write calls it, so each branch reads its members by index:
 * the team and project ids are taken out of the keys first (a condition such as
 * `'team:' || tm.team_id = ANY(keys)` reads every member of every team, 1.8 ms at 20,000 members).
 */
export const FEED_READERS = `  SELECT COALESCE(array_agg(DISTINCT r.k ORDER BY r.k), '{}'::text[]) FROM (
    SELECT k FROM unnest(keys) AS k WHERE k LIKE 'user:%'
    UNION SELECT 'user:' || tm.user_id FROM team_members tm
      WHERE tm.team_id = ANY(ARRAY(SELECT substr(k, 6) FROM unnest(keys) AS k WHERE k LIKE 'team:%'))
    UNION SELECT pm.principal FROM project_members pm
      WHERE pm.project_id = ANY(ARRAY(
          SELECT substr(k, 9) FROM unnest(keys) AS k WHERE k LIKE 'project:%'))
        AND substr(pm.principal, 1, 5) = 'user:'
    UNION SELECT 'user:' || tm.user_id FROM project_members pm
      JOIN team_members tm ON tm.team_id = substr(pm.principal, 6)
      WHERE pm.project_id = ANY(ARRAY(
          SELECT substr(k, 9) FROM unnest(keys) AS k WHERE k LIKE 'project:%'))
        AND substr(pm.principal, 1, 5) = 'team:'
  ) AS r`;

/**
 * feed_readers in PL/pgSQL, whose plans are kept for the connection (see migration 11). No
 * semicolon may end a line inside the body: see splitStatements.
 */
const FEED_READERS_PLPGSQL = `
CREATE OR REPLACE FUNCTION feed_readers(keys text[]) RETURNS text[] LANGUAGE plpgsql STABLE AS $$
BEGIN RETURN (
${FEED_READERS}); END
$$;
`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE meta (
  key text PRIMARY KEY,
  value text NOT NULL
);

-- One row per counter. Every write transaction increments 'changes' as its last step; the row lock
-- serializes writers, so change-feed sequence numbers commit in order and without gaps.
CREATE TABLE counters (
  name text PRIMARY KEY,
  value bigint NOT NULL
);
INSERT INTO counters (name, value) VALUES ('changes', 0);

-- Keys this database's values were written with (id and an encrypted check value), so a server
-- without one of them refuses to start instead of serving values it cannot read.
CREATE TABLE key_checks (
  key_id text PRIMARY KEY,
  nonce bytea NOT NULL,
  ciphertext bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  id text PRIMARY KEY,
  name text NOT NULL,
  admin boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE teams (
  id text PRIMARY KEY,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE team_members (
  team_id text NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

CREATE TABLE projects (
  id text PRIMARY KEY,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- principal is 'user:<id>' or 'team:<id>'.
CREATE TABLE project_members (
  project_id text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  principal text NOT NULL,
  PRIMARY KEY (project_id, principal)
);
CREATE INDEX project_members_principal ON project_members (principal);

CREATE TABLE tokens (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name text NOT NULL,
  hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz
);

-- A personal secret's scope_id is its creator's user id: that is the namespace of its name.
CREATE TABLE secrets (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  scope_kind text NOT NULL CHECK (scope_kind IN ('personal', 'project', 'team')),
  scope_id text NOT NULL,
  encoding text NOT NULL CHECK (encoding IN ('text', 'base64')),
  type text NOT NULL,
  description text NOT NULL,
  version integer NOT NULL CHECK (version >= 1),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  created_by text NOT NULL
);
CREATE UNIQUE INDEX secrets_scope_name ON secrets (scope_kind, scope_id, name);
CREATE INDEX secrets_name ON secrets (name);

-- One row per version. ciphertext is NULL once the value was destroyed (only the last N stay).
CREATE TABLE secret_versions (
  secret_id uuid NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
  version integer NOT NULL,
  kind text NOT NULL CHECK (kind IN ('create', 'update', 'share', 'restore')),
  encoding text NOT NULL,
  author text NOT NULL,
  at timestamptz NOT NULL,
  key_id text,
  nonce bytea,
  ciphertext bytea,
  PRIMARY KEY (secret_id, version)
);
CREATE INDEX secret_versions_key ON secret_versions (key_id) WHERE ciphertext IS NOT NULL;

-- principal is 'user:<id>' or 'team:<id>'.
CREATE TABLE grants (
  secret_id uuid NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
  principal text NOT NULL,
  role text NOT NULL CHECK (role IN ('owner', 'reader')),
  PRIMARY KEY (secret_id, principal)
);
CREATE INDEX grants_principal ON grants (principal);

-- The change feed. audience: the principals ('user:x', 'team:t', 'project:p') that could see the
-- secret before or after this change, so a caller who lost it gets a tombstone and a stranger
-- learns nothing. No foreign key: rows outlive deleted secrets.
CREATE TABLE changes (
  seq bigint PRIMARY KEY,
  secret_id uuid NOT NULL,
  kind text NOT NULL,
  audience text[] NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX changes_secret ON changes (secret_id, seq);

-- The audit log: who did what to which secret, never values. Outlives deleted secrets.
CREATE TABLE audit (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  secret_id uuid NOT NULL,
  secret_name text NOT NULL,
  version integer,
  client text NOT NULL,
  ip text NOT NULL
);
CREATE INDEX audit_secret ON audit (secret_id, id);
CREATE INDEX audit_actor ON audit (actor, id);
`,
  },
  {
    version: 2,
    name: 'change feed audience as users at the time of the change',
    // A change's audience named teams and projects, matched against the caller's teams at read
    // time: someone who joined later saw tombstones of secrets they never could see. Now it names
    // the users who could see the secret when it changed; old rows are expanded with today's
    // memberships (the best this database still knows).
    sql: `
CREATE FUNCTION feed_readers(keys text[]) RETURNS text[] LANGUAGE sql STABLE AS $$
${FEED_READERS}
$$;

UPDATE changes SET audience = feed_readers(audience);
`,
  },
  {
    version: 3,
    name: 'where tokens come from',
    // from_env: the token registered from NOTEBOOK_SECRETS_ADMIN_TOKEN (a restart with another one
    // revokes it). created_by: the admin who created it (NULL: created at start-up, or before
    // this migration).
    sql: `
ALTER TABLE tokens ADD COLUMN from_env boolean NOT NULL DEFAULT false;
ALTER TABLE tokens ADD COLUMN created_by text;
UPDATE tokens SET from_env = true WHERE user_id = 'admin' AND name = 'NOTEBOOK_SECRETS_ADMIN_TOKEN';
`,
  },
  {
    version: 4,
    name: 'token events and the token of each audited request',
    sql: `
ALTER TABLE audit ALTER COLUMN secret_id DROP NOT NULL;
ALTER TABLE audit ALTER COLUMN secret_name DROP NOT NULL;
ALTER TABLE audit ADD COLUMN subject text;
ALTER TABLE audit ADD COLUMN token_id text;
ALTER TABLE audit ADD COLUMN token_created_by text;
CREATE INDEX audit_subject ON audit (subject, id) WHERE subject IS NOT NULL;
`,
  },
  {
    version: 5,
    name: 'change feed ordered by transaction id, numbered from a sequence',
    // Writers numbered their feed rows by incrementing the 'changes' counter row, whose lock they
    // held until commit: every write in the database waited for the one before it to commit. Now
    // a row takes a sequence number and its transaction's id, with no lock, and a reader stops
    // where no running transaction can still commit (see store/feed.ts). Rows written before get
    // xid 0, ordered first by their old numbers, so cursors issued before read on. The counter row
    // goes, so a server of an older version still running on this database fails its writes
    // rather than numbering rows that collide with the sequence.
    sql: `
CREATE SEQUENCE changes_seq OWNED BY changes.seq;
SELECT setval('changes_seq', value + 1, false) FROM counters WHERE name = 'changes';
ALTER TABLE changes ALTER COLUMN seq SET DEFAULT nextval('changes_seq');
ALTER TABLE changes ADD COLUMN xid xid8 NOT NULL DEFAULT '0';
ALTER TABLE changes ALTER COLUMN xid SET DEFAULT pg_current_xact_id();
CREATE INDEX changes_position ON changes (xid, seq);
DELETE FROM counters WHERE name = 'changes';
`,
  },
  {
    version: 6,
    name: 'sign-in with an identity provider',
    // A sign-in is a session: a refresh token (hashed), the provider's refresh token sealed with
    // the server's key, and short-lived access tokens (rows of tokens) that go with it. Users
    // carry the provider's subject; teams made from a groups claim are marked, so only they are
    // kept in step with it.
    sql: `
CREATE TABLE sessions (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  refresh_hash text NOT NULL UNIQUE,
  provider_key_id text,
  provider_nonce bytea,
  provider_refresh bytea,
  created_at timestamptz NOT NULL DEFAULT now(),
  refreshed_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
ALTER TABLE tokens ADD COLUMN session_id text REFERENCES sessions (id) ON DELETE CASCADE;
ALTER TABLE users ADD COLUMN oidc_subject text UNIQUE;
ALTER TABLE teams ADD COLUMN from_provider boolean NOT NULL DEFAULT false;
`,
  },
  {
    version: 7,
    name: 'indexes for reads that page through large catalogues',
    // A full listing pages through a caller's secrets by id: their grants and the secrets of their
    // teams' and projects' scopes, each read in id order from the cursor on. The change feed walks
    // a caller's rows in feed order and keeps each secret's last one, looked up by secret and
    // position. These replace indexes that are their prefixes.
    sql: `
CREATE INDEX grants_principal_secret ON grants (principal, secret_id);
DROP INDEX grants_principal;
CREATE INDEX secrets_scope_id ON secrets (scope_kind, scope_id, id) WHERE scope_kind <> 'personal';
CREATE INDEX changes_secret_position ON changes (secret_id, xid, seq);
DROP INDEX changes_secret;
`,
  },
  {
    version: 8,
    name: "grants carry their secret's name",
    // A resolve found its candidates by name among every user's secrets: a name many users have
    // (OPENAI_API_KEY) cost a check per secret of that name. A grant now carries its secret's
    // name, so the candidates shared with the caller come from an index of their grants. Triggers
    // keep the name right whoever writes: a grant inserted without it takes its secret's, and a
    // rename renames the secret's grants.
    sql: `
ALTER TABLE grants ADD COLUMN name text;
UPDATE grants g SET name = s.name FROM secrets s WHERE s.id = g.secret_id;
CREATE FUNCTION grants_take_name() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.name IS NULL THEN SELECT s.name INTO NEW.name FROM secrets s WHERE s.id = NEW.secret_id; END IF; RETURN NEW; END $$;
CREATE TRIGGER grants_take_name BEFORE INSERT ON grants FOR EACH ROW EXECUTE FUNCTION grants_take_name();
CREATE FUNCTION secrets_rename_grants() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE grants SET name = NEW.name WHERE secret_id = NEW.id; RETURN NULL; END $$;
CREATE TRIGGER secrets_rename_grants AFTER UPDATE OF name ON secrets FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION secrets_rename_grants();
CREATE INDEX grants_principal_name ON grants (principal, name);
`,
  },
  {
    version: 9,
    name: 'browser sign-ins in the database',
    // A browser sign-in waiting for the provider's redirect back, and the one-time code it ends
    // with, lived in the memory of the process that started it: behind a load balancer the
    // redirect back or the redemption could reach another process. Now each is a row any process
    // reads once (DELETE … RETURNING): its id the SHA-256 of its handle (the id of a request a
    // client pushed, the state sent to the provider, or the code), what it holds sealed with the
    // server's key, gone once used or expired.
    sql: `
CREATE TABLE sign_in_requests (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('pushed', 'pending', 'code')),
  key_id text NOT NULL,
  nonce bytea NOT NULL,
  sealed bytea NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX sign_in_requests_expiry ON sign_in_requests (expires_at);
`,
  },
  {
    version: 10,
    name: 'sign-ins in the audit log',
    // Sign-ins, refreshes and their failures are audited (actions sign_in, refresh,
    // sign_in_failed, refresh_failed): detail says how the person signed in or why it failed.
    sql: `
ALTER TABLE audit ADD COLUMN detail text;
`,
  },
  {
    version: 11,
    name: 'change feed audience planned once per connection',
    // Every write calls feed_readers. PostgreSQL plans the body of a LANGUAGE sql function that it
    // cannot inline anew on every call (0.16 ms, against 0.02 ms to run it: a third of a create's
    // time in the database); PL/pgSQL keeps the plan for the connection. Same query, same result.
    sql: FEED_READERS_PLPGSQL,
  },
  {
    version: 12,
    name: 'change feed audience read by index',
    // feed_readers read every team and project member on each write (see FEED_READERS): the
    // same answers, now from the members of the teams and projects named.
    sql: FEED_READERS_PLPGSQL,
  },
];

/** A database migrated by a newer server than this one. */
export class SchemaTooNew extends Error {}

const MIGRATION_LOCK = 7_428_311_902;
/** The migration that orders the change feed by transaction id. */
const FEED_BY_XID = 5;

/**
 * Brings the schema up to date; returns the database id (stable for the life of the database).
 * `migrations` is for tests that start from an older schema.
 */
export async function migrate(
  db: SqlDriver,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<string> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const applied = new Set(
      (await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) =>
        Number(r.version),
      ),
    );
    const newest = Math.max(0, ...applied);
    const known = Math.max(...migrations.map((m) => m.version));
    if (newest > known) {
      // Migrations run forward only: an older server must not write to a schema it does not know.
      throw new SchemaTooNew(
        `The database schema is version ${newest}, newer than this server knows (${known}): a newer notebook-secrets has migrated it. Refusing to start; run that version or a newer one (npm install -g notebook-secrets@latest).`,
      );
    }
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
    }
    await tx.query(
      `INSERT INTO meta (key, value) VALUES ('database_id', $1) ON CONFLICT (key) DO NOTHING`,
      [randomBytes(16).toString('hex')],
    );
    if (known >= FEED_BY_XID) await adoptForeignTransactionIds(tx);
    const rows = await tx.query<{ value: string }>(
      `SELECT value FROM meta WHERE key = 'database_id'`,
    );
    return rows[0]!.value;
  });
}

/**
 * The change feed orders rows by the id of the transaction that wrote them (store/feed.ts). A
 * database copied into another cluster (pg_dump and restore) brings ids of that cluster, which
 * this one's new transactions may fall below, and cursors that point among them. Rows with an id
 * this cluster has not reached yet are such a copy: all rows become xid 0 (in sequence order, the
 * sequence comes along with a dump), and the database takes a new id, so every cursor issued
 * before gets a full listing instead of an order it no longer fits.
 */
async function adoptForeignTransactionIds(tx: SqlExecutor): Promise<void> {
  const [copy] = await tx.query<{ copied: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM changes WHERE xid >= pg_snapshot_xmax(pg_current_snapshot()))
       AS copied`,
  );
  if (!copy?.copied) return;
  await tx.query(`UPDATE changes SET xid = '0' WHERE xid <> '0'`);
  await tx.query(`UPDATE meta SET value = $1 WHERE key = 'database_id'`, [
    randomBytes(16).toString('hex'),
  ]);
}

/** Splits a migration on semicolons at line ends (our SQL has no semicolons inside statements). */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s !== '');
}
