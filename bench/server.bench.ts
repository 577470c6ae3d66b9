/**
 * Server benchmark (npm run bench -- server):
 * 1. GET /v1/resolve/{name}: requests/s and p99 with 50 concurrent clients, on PGlite and on
 *    PostgreSQL, next to two baselines (same run, same load generator), reported as ratios: a bare
 *    Node HTTP server answering a constant, and per backend a minimal node:http handler that makes
 *    the same store call (the same SQL statements on the same driver; on PostgreSQL, concurrent
 *    resolves grouped into one statement as the server groups them) without the framework and
 *    our routes, so the database's share of the cost shows apart from ours. Each server runs in
 *    its own child process.
 * 1b. Writes: creates and PATCHes per second with 50 concurrent clients on both backends, on
 *    PostgreSQL with fsync off (as the tests run it) and on (commits wait for the WAL flush), and
 *    with fsync on against a minimal script making the same rows in the same transactions on the
 *    same database (target: the server at least 0.5× the script).
 * 2. /v1/changes: time and bytes of a full read of 10,000 secrets versus an incremental read
 *    after one change.
 * 3. Values of 500 secrets: 500 `GET /v1/secrets/{id}/value` (8 at a time, as the sync engine did)
 *    versus one `POST /v1/values`, in requests, bytes and time.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { SqlDriver } from '../src/server/db/driver';
import { openStore, startServer, type ServerConfig } from '../src/server/server';
import {
  findPostgresBin,
  startPostgres,
  type PostgresCluster,
} from '../test/integration/server/postgres';
import { benchRequest, runBench, spawnRole, type BenchReply, median } from './common';

const CONCURRENCY = 50;
/** The flush time of a network disk, for the writes part. */
const SLOW_FLUSH_MS = 5;
const WARMUP_MS = 1_000;
const MEASURE_MS = Number(process.env.BENCH_SECONDS ?? 5) * 1000;
/** Rounds of the fsync-on server and its script baseline, in turns (writes part). */
const WRITE_ROUNDS = 3;
const SECRETS = Number(process.env.BENCH_SECRETS ?? 10_000);
// Children inherit the parent's admin token through the environment.
const ADMIN_TOKEN = (process.env.BENCH_ADMIN_TOKEN ??=
  'bench-admin-token-' + randomBytes(16).toString('hex'));
const RESOLVE_BODY = JSON.stringify({
  id: '00000000-0000-4000-8000-000000000000',
  name: 'API_KEY',
  scope: { kind: 'personal' },
  type: 'generic',
  value: 'x'.repeat(40),
  encoding: 'text',
  version: 1,
});

function config(dataDir: string, databaseUrl?: string): ServerConfig {
  return {
    dataDir,
    ...(databaseUrl ? { databaseUrl } : {}),
    host: '127.0.0.1',
    port: 0,
    key: randomBytes(32).toString('base64'),
    adminToken: ADMIN_TOKEN,
    maxValueBytes: 65_536,
    keepValues: 10,
    rateLimit: { perSecond: 0, burst: 0 },
    requestTimeoutMs: 30_000,
    logLevel: 'info',
  };
}

// ---------------------------------------------------------------------------------------------
// Child roles: a server that prints its URL as the first line of stdout.

async function child(role: string): Promise<void> {
  if (role === 'bare') {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(RESOLVE_BODY);
    });
    server.keepAliveTimeout = 10_000;
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      process.stdout.write(
        `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}\n`,
      );
    });
    return;
  }
  const dataDir = process.argv[3]!;
  const databaseUrl = process.argv[4];
  if (role === 'direct') {
    await direct(config(dataDir, databaseUrl));
    return;
  }
  const server = await startServer(config(dataDir, databaseUrl));
  process.stdout.write(`${server.url}\n`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

/**
 * The second baseline: node:http and the store, nothing else. Per request the same store call
 * as the server's route (resolveForToken: the token, the read and its audit row), so the same SQL
 * statements on the same driver: on PostgreSQL, concurrent requests grouped into one statement
 * as the server groups them. No framework, no routing, no validation, no logging. Prints its URL
 * and a user's token.
 */
async function direct(serverConfig: ServerConfig): Promise<void> {
  const { store } = await openStore(serverConfig);
  const admin = (await store.authenticate(ADMIN_TOKEN, 'bench', '127.0.0.1'))!;
  const id = 'bench-' + randomBytes(3).toString('hex');
  await store.createUser({ id, admin: false });
  const { token } = await store.createToken(admin, { user: id });
  const owner = (await store.authenticate(token, 'bench', '127.0.0.1'))!;
  await store.create(owner, {
    name: 'API_KEY',
    value: 'x'.repeat(40),
    encoding: 'text',
    type: 'generic',
    description: '',
    scope: { kind: 'personal' },
  });
  const server = http.createServer((req, res) => {
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const name = decodeURIComponent((req.url ?? '').split('?')[0]!.split('/').pop() ?? '');
    void (async () => {
      const found = await store.resolveForToken(
        bearer,
        String(req.headers['user-agent'] ?? ''),
        '127.0.0.1',
        name,
        {},
      );
      const resolved = found?.resolved;
      res.writeHead(resolved ? 200 : 404, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(resolved ?? {}));
    })().catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  server.keepAliveTimeout = 10_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    process.stdout.write(`http://127.0.0.1:${port} ${token}\n`);
  });
}

/** A child in `role` that prints its URL first; see spawnRole. */
async function startRole(args: string[]): Promise<{ url: string; proc: ChildProcess }> {
  const { line, proc } = await spawnRole(__filename, args, 'ignore');
  return { url: line, proc };
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers and the load generator

let agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

/** A request through the load generator's current agent. */
const request = (
  url: string,
  method: string,
  token?: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<BenchReply> => benchRequest(agent, url, method, token, body, headers);

async function ok(
  url: string,
  method: string,
  token: string,
  body?: unknown,
  headers?: Record<string, string>,
) {
  const r = await request(url, method, token, body, headers);
  if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${r.text}`);
  return JSON.parse(r.text === '' ? 'null' : r.text) as Record<string, unknown>;
}

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(url: string, token: string | undefined): Promise<LoadResult> {
  return loadWith(() => async () => (await request(url, 'GET', token)).status === 200);
}

/**
 * Runs CONCURRENCY workers, each calling its own operation (made by `makeWorker`) in a loop; an
 * operation resolves to whether it succeeded.
 */
async function loadWith(makeWorker: (n: number) => () => Promise<boolean>): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let measuring = false;
  let stop = false;
  let n = 0;
  const worker = async () => {
    const operation = makeWorker(n++);
    while (!stop) {
      const start = performance.now();
      try {
        if (!(await operation())) errors++;
      } catch {
        errors++;
      }
      if (measuring) latencies.push(performance.now() - start);
    }
  };
  const workers = Array.from({ length: CONCURRENCY }, worker);
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  measuring = true;
  const began = performance.now();
  await new Promise((r) => setTimeout(r, MEASURE_MS));
  measuring = false;
  const elapsed = (performance.now() - began) / 1000;
  stop = true;
  await Promise.all(workers);
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), errors };
}

/** Creates a user with a token and one secret; returns the user's token. */
async function prepare(url: string): Promise<string> {
  const id = 'bench-' + randomBytes(3).toString('hex');
  await ok(`${url}/v1/users`, 'POST', ADMIN_TOKEN, { id });
  const token = (await ok(`${url}/v1/tokens`, 'POST', ADMIN_TOKEN, { user: id })).token as string;
  await ok(`${url}/v1/secrets`, 'POST', token, { name: 'API_KEY', value: 'x'.repeat(40) });
  return token;
}

function fmt(n: number, digits = 1): string {
  return n.toLocaleString('en-US', {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

// ---------------------------------------------------------------------------------------------

async function resolveBench(cluster: PostgresCluster | undefined, dirs: string[]): Promise<void> {
  console.log(
    `\n/v1/resolve with ${CONCURRENCY} concurrent clients, ${MEASURE_MS / 1000} s each (after ${WARMUP_MS / 1000} s warm-up)`,
  );
  const rows: { name: string; result: LoadResult }[] = [];
  const bare = await startRole(['bare']);
  rows.push({
    name: 'bare Node HTTP (constant)',
    result: await load(`${bare.url}/v1/resolve/API_KEY`, undefined),
  });
  bare.proc.kill('SIGTERM');

  const backends: { name: string; args: string[] }[] = [];
  const pgliteDir = mkdtempSync(join(tmpdir(), 'ns-bench-'));
  dirs.push(pgliteDir);
  backends.push({ name: 'server on PGlite', args: ['server', pgliteDir] });
  if (cluster) {
    const pgDir = mkdtempSync(join(tmpdir(), 'ns-bench-'));
    dirs.push(pgDir);
    backends.push({
      name: 'server on PostgreSQL',
      args: ['server', pgDir, await cluster.createDatabase()],
    });
  }
  const directRows = new Map<string, LoadResult>();
  for (const backend of backends) {
    const directDir = mkdtempSync(join(tmpdir(), 'ns-bench-'));
    dirs.push(directDir);
    const directArgs = ['direct', directDir, ...backend.args.slice(2)];
    if (backend.args[2]) directArgs[2] = await cluster!.createDatabase();
    const plain = await startRole(directArgs);
    const [plainUrl, plainToken] = plain.url.split(' ');
    const result = await load(`${plainUrl!}/v1/resolve/API_KEY`, plainToken);
    directRows.set(backend.name, result);
    rows.push({ name: `node:http + store (${backend.name.replace('server on ', '')})`, result });
    plain.proc.kill('SIGTERM');

    const server = await startRole(backend.args);
    const token = await prepare(server.url);
    rows.push({
      name: backend.name,
      result: await load(`${server.url}/v1/resolve/API_KEY`, token),
    });
    server.proc.kill('SIGTERM');
  }
  const base = rows[0]!.result;
  console.log(
    '| target | req/s | p50 ms | p99 ms | req/s vs bare | p99 vs bare | req/s vs node:http + store | errors |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const { name, result } of rows) {
    const plain = directRows.get(name);
    console.log(
      `| ${name} | ${fmt(result.rps, 0)} | ${fmt(result.p50, 2)} | ${fmt(result.p99, 2)} | ` +
        `${fmt(result.rps / base.rps, 3)}× | ${fmt(result.p99 / base.p99, 1)}× | ` +
        `${plain ? fmt(result.rps / plain.rps, 2) + '×' : ''} | ${result.errors} |`,
    );
  }
  if (!cluster)
    console.log('(PostgreSQL skipped: no PostgreSQL binaries found; install Debian postgresql)');
}

/** Creates and PATCHes per second with CONCURRENCY clients: each creates a secret, then edits it. */
async function writesBench(cluster: PostgresCluster | undefined, dirs: string[]): Promise<void> {
  console.log(
    `\nWrites with ${CONCURRENCY} concurrent clients, ${MEASURE_MS / 1000} s each: every client creates a secret, then PATCHes its value, alternately`,
  );
  console.log('| target | writes/s | p50 ms | p99 ms | errors |');
  console.log('|---|---:|---:|---:|---:|');
  const targets: { name: string; databaseUrl?: string }[] = [{ name: 'server on PGlite' }];
  // The shared cluster runs with fsync off, as the tests do; a second one waits for each commit's
  // WAL flush, as a deployment does. A local disk flushes in well under a millisecond; on a
  // network disk a flush takes milliseconds, simulated by commit_delay (each commit waits that
  // long before its flush, which then covers every commit that arrived meanwhile). Writers that
  // queue on one lock held through commit pay that wait one after another.
  let durable: PostgresCluster | undefined;
  if (cluster) {
    targets.push({
      name: 'server on PostgreSQL, fsync off',
      databaseUrl: await cluster.createDatabase(),
    });
    durable = await startPostgres({ durable: true });
    targets.push({
      name: 'server on PostgreSQL, fsync on',
      databaseUrl: await durable.createDatabase(),
    });
    const slow = await durable.createDatabase();
    const admin = new pg.Client({ connectionString: slow });
    await admin.connect();
    const name = (await admin.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    await admin.query(`ALTER DATABASE ${name} SET commit_delay = ${SLOW_FLUSH_MS * 1000}`);
    await admin.query(`ALTER DATABASE ${name} SET commit_siblings = 0`);
    await admin.end();
    targets.push({
      name: `server on PostgreSQL, fsync on, flush ${SLOW_FLUSH_MS} ms`,
      databaseUrl: slow,
    });
  }
  const rates: number[] = [];
  const ratios: number[] = [];
  let script: number | undefined;
  try {
    for (const [i, target] of targets.entries()) {
      const server = await serverWrites(target, dirs);
      try {
        // fsync on: the server and its baseline, a script that makes the same rows in the same
        // transactions on the same database, take turns, so that both meet the machine alike.
        const baseline = i === 2 ? await scriptWrites(target.databaseUrl!) : undefined;
        const served: number[] = [];
        const scripted: number[] = [];
        for (let round = 0; round < (baseline ? WRITE_ROUNDS : 1); round++) {
          served.push(await server.measure());
          if (baseline) scripted.push(await baseline.measure());
        }
        await baseline?.close();
        rates.push(median(served));
        if (baseline) {
          script = median(scripted);
          ratios.push(...served.map((rate, round) => rate / scripted[round]!));
        }
      } finally {
        server.stop();
      }
    }
  } finally {
    await durable?.stop();
  }
  if (script !== undefined) {
    const ratio = median(ratios);
    console.log(
      `| minimal script, same rows and transactions, PostgreSQL fsync on (median of ${WRITE_ROUNDS}, in turns with the server's) | ${fmt(script, 0)} | | | |`,
    );
    console.log(
      `| server / script, fsync on, median of the rounds' ratios (${ratios.map((r) => fmt(r, 2)).join(', ')}; target ≥ 0.5×) | ${fmt(ratio, 2)}× ${ratio >= 0.5 ? 'met' : 'NOT met'} | | | |`,
    );
  }
  // Near 1 when concurrent commits share their flushes; far below when each pays its own.
  for (const i of [2, 3]) {
    if (rates[i] !== undefined)
      console.log(
        `| ${targets[i]!.name.replace('server on ', '')} / fsync off | ${fmt(rates[i] / rates[1]!, 2)}× | | | |`,
      );
  }
}

/**
 * The writes load (serverWrites and scriptWrites alike), a round per call: each worker creates a
 * secret, then changes it, alternately. `create` answers the new secret's id (undefined: it
 * failed), `change` whether the change was made.
 */
function createThenChange(
  create: (name: string) => Promise<string | undefined>,
  change: (id: string, version: number) => Promise<boolean>,
): () => Promise<LoadResult> {
  let round = 0;
  return () => {
    round++;
    return loadWith((worker) => {
      let created = 0;
      let current: { id: string; version: number } | undefined;
      return async () => {
        if (!current || current.version >= 2) {
          const id = await create(`W_${round}_${worker}_${created++}`);
          if (id === undefined) return false;
          current = { id, version: 1 };
          return true;
        }
        const done = await change(current.id, current.version);
        current.version++;
        return done;
      };
    });
  };
}

/**
 * A server process of its own on one target, whose `measure` runs the writes load and prints a
 * row (each round its own).
 */
async function serverWrites(
  target: { name: string; databaseUrl?: string },
  dirs: string[],
): Promise<{ measure(): Promise<number>; stop(): void }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ns-bench-'));
  dirs.push(dataDir);
  const server = await startRole([
    'server',
    dataDir,
    ...(target.databaseUrl ? [target.databaseUrl] : []),
  ]);
  const token = await prepare(server.url);
  let round = 0;
  const load = createThenChange(
    async (name) => {
      const r = await request(`${server.url}/v1/secrets`, 'POST', token, {
        name,
        value: 'x'.repeat(40),
      });
      return r.status === 201 ? (JSON.parse(r.text) as { id: string }).id : undefined;
    },
    async (id, version) => {
      const r = await request(
        `${server.url}/v1/secrets/${id}`,
        'PATCH',
        token,
        { value: 'y'.repeat(40) },
        { 'if-match': `"${version}"` },
      );
      return r.status === 200;
    },
  );
  const measure = async () => {
    const result = await load();
    round++;
    console.log(
      `| ${target.name}${round > 1 ? `, round ${round}` : ''} | ${fmt(result.rps, 0)} | ${fmt(result.p50, 2)} | ${fmt(result.p99, 2)} | ${result.errors} |`,
    );
    return result.rps;
  };
  return { measure, stop: () => server.proc.kill('SIGTERM') };
}

/**
 * Writes/s of a minimal script on `databaseUrl`: CONCURRENCY workers on a pool of the server's
 * size, each creating a secret and then changing it, alternately, as serverWrites's clients do. Each
 * write is one transaction making the rows the server's makes (secret, owner grant, version with
 * a value-sized ciphertext, audit row, change-feed row; a change: the secret's new version, its
 * version, audit and change-feed rows), in one statement, with nothing else: no HTTP, no token,
 * no access check, no encryption.
 */
async function scriptWrites(
  databaseUrl: string,
): Promise<{ measure(): Promise<number>; close(): Promise<void> }> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  const user = 'script-' + randomBytes(3).toString('hex');
  await pool.query(`INSERT INTO users (id, name) VALUES ($1, $1)`, [user]);
  const sealed = () => [randomBytes(12), randomBytes(56)];
  const load = createThenChange(
    async (name) => {
      const id = randomUUID();
      await pool.query(
        `WITH s AS (
             INSERT INTO secrets (id, name, scope_kind, scope_id, encoding, type, description,
               version, created_at, updated_at, created_by)
             VALUES ($1, $2, 'personal', $3, 'text', 'generic', '', 1, now(), now(), $3)
             RETURNING id, name),
           g AS (INSERT INTO grants (secret_id, principal, role, name)
             SELECT id, 'user:' || $3, 'owner', name FROM s),
           v AS (INSERT INTO secret_versions (secret_id, version, kind, encoding, author, at,
               key_id, nonce, ciphertext)
             SELECT id, 1, 'create', 'text', $3, now(), 'script', $4, $5 FROM s),
           a AS (INSERT INTO audit (actor, action, secret_id, secret_name, version, client, ip)
             SELECT $3, 'create', id, name, 1, 'script', '127.0.0.1' FROM s),
           c AS (INSERT INTO changes (secret_id, kind, audience)
             SELECT id, 'create', ARRAY['user:' || $3] FROM s)
           SELECT 1 FROM s`,
        [id, name, user, ...sealed()],
      );
      return id;
    },
    async (id, version) => {
      const { rowCount } = await pool.query(
        `WITH s AS (
             UPDATE secrets SET version = version + 1, updated_at = now()
             WHERE id = $1 AND version = $2 RETURNING id, name, version),
           v AS (INSERT INTO secret_versions (secret_id, version, kind, encoding, author, at,
               key_id, nonce, ciphertext)
             SELECT id, version, 'update', 'text', $3, now(), 'script', $4, $5 FROM s),
           a AS (INSERT INTO audit (actor, action, secret_id, secret_name, version, client, ip)
             SELECT $3, 'update', id, name, version, 'script', '127.0.0.1' FROM s),
           c AS (INSERT INTO changes (secret_id, kind, audience)
             SELECT id, 'update', ARRAY['user:' || $3] FROM s)
           SELECT 1 FROM s`,
        [id, version, user, ...sealed()],
      );
      return rowCount === 1;
    },
  );
  return { measure: async () => (await load()).rps, close: () => pool.end() };
}

async function changesBench(
  name: string,
  databaseUrl: string | undefined,
  dirs: string[],
): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ns-bench-'));
  dirs.push(dataDir);
  const server = await startServer({ ...config(dataDir, databaseUrl), logStream: false });
  try {
    const token = await prepare(server.url);
    const user = ((await ok(`${server.url}/v1/me`, 'GET', token)).user as { id: string }).id;
    const seedStart = performance.now();
    await seed(server.store.db, user, SECRETS);
    const seedSeconds = (performance.now() - seedStart) / 1000;

    const read = async (since: string | undefined) => {
      let bytes = 0;
      let requests = 0;
      let changes = 0;
      let cursor = since;
      const start = performance.now();
      for (;;) {
        const r = await request(
          `${server.url}/v1/changes?limit=1000${cursor ? `&since=${cursor}` : ''}`,
          'GET',
          token,
        );
        requests++;
        bytes += r.bytes;
        const page = JSON.parse(r.text) as { changes: unknown[]; next: string; more: boolean };
        changes += page.changes.length;
        cursor = page.next;
        if (!page.more) break;
      }
      return { ms: performance.now() - start, bytes, requests, changes, cursor };
    };
    // Sockets idle through the seeding may have been closed by the server: start afresh.
    agent.destroy();
    agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const full = await read(undefined);
    const list = (await ok(`${server.url}/v1/secrets?q=SECRET_42`, 'GET', token)).secrets as {
      id: string;
    }[];
    const target = list.find(() => true)!;
    await ok(
      `${server.url}/v1/secrets/${target.id}`,
      'PATCH',
      token,
      { description: 'changed' },
      { 'if-match': '"1"' },
    );
    const incremental = await read(full.cursor);
    console.log(
      `\n/v1/changes on ${name}, ${SECRETS.toLocaleString('en-US')} secrets (seeded in ${fmt(seedSeconds)} s):`,
    );
    console.log('| read | changes | requests | bytes | ms |');
    console.log('|---|---:|---:|---:|---:|');
    console.log(
      `| full | ${full.changes} | ${full.requests} | ${full.bytes.toLocaleString('en-US')} | ${fmt(full.ms)} |`,
    );
    console.log(
      `| incremental after one change | ${incremental.changes} | ${incremental.requests} | ${incremental.bytes.toLocaleString('en-US')} | ${fmt(incremental.ms)} |`,
    );
    console.log(
      `| incremental / full | | | ${fmt(incremental.bytes / full.bytes, 5)} | ${fmt(incremental.ms / full.ms, 4)} |`,
    );
  } finally {
    await server.close();
  }
}

const VALUE_COUNT = 500;

async function valuesBench(
  name: string,
  databaseUrl: string | undefined,
  dirs: string[],
): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ns-bench-'));
  dirs.push(dataDir);
  const server = await startServer({ ...config(dataDir, databaseUrl), logStream: false });
  try {
    const token = await prepare(server.url);
    // Through the API, so the values are sealed with the server's key (seed() writes dummies).
    const ids: string[] = [];
    for (let i = 0; i < VALUE_COUNT; i++) {
      const created = await ok(`${server.url}/v1/secrets`, 'POST', token, {
        name: `VALUE_${i}`,
        value: 'x'.repeat(40),
      });
      ids.push(created.id as string);
    }
    const single = async () => {
      let bytes = 0;
      let next = 0;
      const start = performance.now();
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < ids.length) {
            const r = await request(`${server.url}/v1/secrets/${ids[next++]!}/value`, 'GET', token);
            if (r.status !== 200) throw new Error(`GET value: ${r.status}`);
            bytes += r.bytes;
          }
        }),
      );
      return { requests: ids.length, bytes, ms: performance.now() - start };
    };
    const batch = async () => {
      const start = performance.now();
      const r = await request(`${server.url}/v1/values`, 'POST', token, { ids });
      if (r.status !== 200) throw new Error(`POST /v1/values: ${r.status}`);
      return { requests: 1, bytes: r.bytes, ms: performance.now() - start };
    };
    await single(); // warm-up
    await batch();
    const a = await single();
    const b = await batch();
    console.log(`\nValues of ${VALUE_COUNT} secrets on ${name} (each read audited):`);
    console.log('| read | requests | bytes | ms |');
    console.log('|---|---:|---:|---:|');
    console.log(
      `| GET /v1/secrets/{id}/value, 8 in parallel | ${a.requests} | ${a.bytes.toLocaleString('en-US')} | ${fmt(a.ms)} |`,
    );
    console.log(
      `| POST /v1/values | ${b.requests} | ${b.bytes.toLocaleString('en-US')} | ${fmt(b.ms)} |`,
    );
    console.log(
      `| batch / single | ${fmt(b.requests / a.requests, 4)} | ${fmt(b.bytes / a.bytes, 2)} | ${fmt(b.ms / a.ms, 3)} |`,
    );
  } finally {
    await server.close();
  }
}

/**
 * Writes `count` personal secrets of `user` in one transaction, row for row what POST /v1/secrets
 * writes (secret, owner grant, version with a value-sized ciphertext, change-feed row), but in
 * bulk: seeding 10,000 through the API would dominate the benchmark's run time.
 */
async function seed(db: SqlDriver, user: string, count: number): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO secrets (id, name, scope_kind, scope_id, encoding, type, description, version,
         created_at, updated_at, created_by)
       SELECT gen_random_uuid(), 'SECRET_' || i, 'personal', $1, 'text', 'generic',
         'benchmark secret number ' || i, 1, now(), now(), $1
       FROM generate_series(0, $2::int - 1) AS i`,
      [user, count],
    );
    await tx.query(
      `INSERT INTO grants (secret_id, principal, role)
       SELECT id, 'user:' || $1, 'owner' FROM secrets WHERE created_by = $1 AND name LIKE 'SECRET\\_%'`,
      [user],
    );
    await tx.query(
      `INSERT INTO secret_versions (secret_id, version, kind, encoding, author, at, key_id, nonce, ciphertext)
       SELECT id, 1, 'create', 'text', $1, now(), 'bench', decode(substr(md5(random()::text), 1, 24), 'hex'),
         decode(md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex')
       FROM secrets WHERE created_by = $1 AND name LIKE 'SECRET\\_%'`,
      [user],
    );
    await tx.query(
      `INSERT INTO changes (secret_id, kind, audience)
       SELECT id, 'create', ARRAY['user:' || $1]
       FROM secrets WHERE created_by = $1 AND name LIKE 'SECRET\\_%' ORDER BY name`,
      [user],
    );
  });
}

/**
 * BENCH_PARTS (e.g. `writes` or `resolve,changes`) runs only those parts; all of them without it.
 */
function part(name: string): boolean {
  const parts = process.env.BENCH_PARTS;
  return !parts || parts.split(',').includes(name);
}

async function main(): Promise<void> {
  const dirs: string[] = [];
  let cluster: PostgresCluster | undefined;
  try {
    if (findPostgresBin()) cluster = await startPostgres();
    if (part('resolve')) await resolveBench(cluster, dirs);
    if (part('writes')) await writesBench(cluster, dirs);
    if (part('changes')) {
      await changesBench('PGlite', undefined, dirs);
      if (cluster) await changesBench('PostgreSQL', await cluster.createDatabase(), dirs);
    }
    if (part('values')) {
      await valuesBench('PGlite', undefined, dirs);
      if (cluster) await valuesBench('PostgreSQL', await cluster.createDatabase(), dirs);
    }
  } finally {
    agent.destroy();
    await cluster?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

const role = process.argv[2];
if (role) {
  void child(role);
} else {
  runBench(main);
}
