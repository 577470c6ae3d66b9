/**
 * The server suite's backends and HTTP helpers. The same conformance suite runs against each
 * backend: PGlite in a temp directory, and a real PostgreSQL (a throwaway cluster).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startServer, type RunningServer, type ServerConfig } from '../../../src/server/server';
import { startPostgres, type PostgresCluster } from './postgres';

export interface Backend {
  name: 'PGlite' | 'PostgreSQL';
  /** Config for a fresh database on this backend. */
  config(): Promise<Pick<ServerConfig, 'dataDir' | 'databaseUrl'>>;
  dispose(): Promise<void>;
}

export function pgliteBackend(): Backend {
  const dirs: string[] = [];
  return {
    name: 'PGlite',
    async config() {
      const dataDir = mkdtempSync(join(tmpdir(), 'ns-server-'));
      dirs.push(dataDir);
      return { dataDir };
    },
    async dispose() {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function postgresBackend(): Backend {
  let cluster: Promise<PostgresCluster> | undefined;
  const dirs: string[] = [];
  return {
    name: 'PostgreSQL',
    async config() {
      cluster ??= startPostgres();
      const dataDir = mkdtempSync(join(tmpdir(), 'ns-server-'));
      dirs.push(dataDir);
      return { dataDir, databaseUrl: await (await cluster).createDatabase() };
    },
    async dispose() {
      if (cluster) await (await cluster).stop();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const BACKENDS: (() => Backend)[] = [pgliteBackend, postgresBackend];

export class LogCollector extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

export interface TestServer {
  server: RunningServer;
  url: string;
  adminToken: string;
  key: string;
  logs: LogCollector;
  config: ServerConfig;
}

export async function startTestServer(
  backend: Backend,
  overrides: Partial<ServerConfig> = {},
): Promise<TestServer> {
  const logs = new LogCollector();
  const adminToken = 'admin_' + randomBytes(24).toString('base64url');
  const key = randomBytes(32).toString('base64');
  const config: ServerConfig = {
    ...(await backend.config()),
    host: '127.0.0.1',
    port: 0,
    key,
    adminToken,
    maxValueBytes: 65_536,
    keepValues: 3,
    rateLimit: { perSecond: 0, burst: 0 },
    requestTimeoutMs: 30_000,
    logStream: logs,
    logLevel: 'info',
    ...overrides,
  };
  const server = await startServer(config);
  return { server, url: server.url, adminToken, key, logs, config };
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests inspect any shape
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is (for malformed bodies). */
  raw?: string;
  headers?: Record<string, string>;
}

/** An HTTP client for one token (undefined: no Authorization header). */
export function client(base: string, token: string | undefined) {
  return async (method: string, path: string, options: RequestOptions = {}): Promise<Reply> => {
    const headers: Record<string, string> = { ...options.headers };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (
      body !== undefined &&
      !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')
    ) {
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(base + path, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: tests look at `text`
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  };
}

export type Client = ReturnType<typeof client>;

/** A unique suffix so tests sharing one server do not see each other's users and names. */
export function unique(prefix: string): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

export interface World {
  ids: {
    alice: string;
    bob: string;
    carol: string;
    dave: string;
    eve: string;
    team: string;
    project: string;
  };
  admin: Client;
  alice: Client;
  bob: Client;
  carol: Client;
  dave: Client;
  eve: Client;
  anonymous: Client;
  tokens: Record<'alice' | 'bob' | 'carol' | 'dave' | 'eve', string>;
}

/**
 * Five users: alice (will own secrets), bob (gets direct reader grants), carol (member of the
 * team), dave (member of the project), eve (a stranger). alice is in the project too, so she can
 * create project secrets.
 */
export async function makeWorld(t: TestServer): Promise<World> {
  const admin = client(t.url, t.adminToken);
  const s = randomBytes(3).toString('hex');
  const ids = {
    alice: `alice-${s}`,
    bob: `bob-${s}`,
    carol: `carol-${s}`,
    dave: `dave-${s}`,
    eve: `eve-${s}`,
    team: `team-${s}`,
    project: `project-${s}`,
  };
  const tokens = {} as World['tokens'];
  for (const who of ['alice', 'bob', 'carol', 'dave', 'eve'] as const) {
    await expectOk(admin('POST', '/v1/users', { body: { id: ids[who] } }));
    tokens[who] = (
      await expectOk(admin('POST', '/v1/tokens', { body: { user: ids[who] } }))
    ).body.token;
  }
  await expectOk(admin('POST', '/v1/teams', { body: { id: ids.team } }));
  await expectOk(admin('POST', `/v1/teams/${ids.team}/members`, { body: { user: ids.carol } }));
  await expectOk(admin('POST', '/v1/projects', { body: { id: ids.project } }));
  for (const who of ['alice', 'dave'] as const) {
    await expectOk(
      admin('POST', `/v1/projects/${ids.project}/members`, {
        body: { principal: { kind: 'user', id: ids[who] } },
      }),
    );
  }
  return {
    ids,
    admin,
    alice: client(t.url, tokens.alice),
    bob: client(t.url, tokens.bob),
    carol: client(t.url, tokens.carol),
    dave: client(t.url, tokens.dave),
    eve: client(t.url, tokens.eve),
    anonymous: client(t.url, undefined),
    tokens,
  };
}

export async function expectOk(reply: Promise<Reply>): Promise<Reply> {
  const r = await reply;
  if (r.status >= 300) throw new Error(`Expected success, got ${r.status}: ${r.text}`);
  return r;
}

/**
 * A project secret owned by alice, shared as reader with bob (user grant) and with the team
 * (team grant, so carol reads it); dave reads it as a project member.
 */
export async function sharedSecret(w: World, value: string, name = unique('S_')) {
  const created = await expectOk(
    w.alice('POST', '/v1/secrets', {
      body: { name, value, scope: { kind: 'project', id: w.ids.project } },
    }),
  );
  const id: string = created.body.id;
  const shared = await expectOk(
    w.alice('PUT', `/v1/secrets/${id}/access`, {
      body: {
        access: [
          { principal: { kind: 'user', id: w.ids.alice }, role: 'owner' },
          { principal: { kind: 'user', id: w.ids.bob }, role: 'reader' },
          { principal: { kind: 'team', id: w.ids.team }, role: 'reader' },
        ],
      },
    }),
  );
  return { id, name, version: shared.body.version as number };
}
