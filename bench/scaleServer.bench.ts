/**
 * The team server at the size of a company (npm run bench -- scaleServer, or with the other scale
 * parts, npm run bench -- scale), on PostgreSQL with a 256 MB cache: one database of 10,000
 * secrets (one user) beside one of 1,000,000 (ten users of 100,000 each; NS_BENCH_SCALE_COUNT
 * changes the 100,000). For one user of each, one request at a time: a page of 1,000 of a full
 * listing (every page of it), an incremental page after one change, and GET /v1/resolve/{name}
 * for names picked at random; each the median of many. Target: each within 1.5× at 1,000,000 of
 * the same at 10,000. And the database's size per 100,000 secrets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Keyring, parseKey } from '../src/server/crypto';
import { startServer, type ServerConfig } from '../src/server/server';
import {
  findPostgresBin,
  startPostgres,
  type PostgresCluster,
} from '../test/integration/server/postgres';
import { runBench } from './common';
import { seedSecrets, seededName } from './seed';

const PER_USER = Number(process.env.NS_BENCH_SCALE_COUNT ?? 100_000);
const USERS = 10;
const ADMIN_TOKEN = (process.env.BENCH_ADMIN_TOKEN ??=
  'bench-admin-token-' + randomBytes(16).toString('hex'));

/** A server on `databaseUrl` with `users` users of `count` secrets; prints its URL and tokens. */
async function serverRole(
  dataDir: string,
  databaseUrl: string,
  users: number,
  count: number,
): Promise<void> {
  const key = randomBytes(32).toString('base64');
  const config: ServerConfig = {
    dataDir,
    databaseUrl,
    host: '127.0.0.1',
    port: 0,
    key,
    adminToken: ADMIN_TOKEN,
    maxValueBytes: 65_536,
    keepValues: 10,
    rateLimit: { perSecond: 0, burst: 0 },
    requestTimeoutMs: 120_000,
    logStream: false,
  };
  const server = await startServer(config);
  const admin = (await server.store.authenticate(ADMIN_TOKEN, 'bench', '127.0.0.1'))!;
  const keyring = new Keyring(parseKey(key, 'bench'));
  const tokens: string[] = [];
  for (let u = 0; u < users; u++) {
    const id = `user${u}`;
    await server.store.createUser({ id, admin: false });
    tokens.push((await server.store.createToken(admin, { user: id })).token);
    await seedSecrets(server.store.db, keyring, id, count);
  }
  await server.store.db.query('ANALYZE');
  process.stdout.write(`${server.url} ${tokens.join(' ')}\n`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

function spawnRole(args: string[]): Promise<{ line: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [__filename, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve({ line: line.trim(), proc });
    });
    proc.once('exit', (code) => reject(new Error(`bench role ${args[0]} exited with ${code}`)));
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(
  url: string,
  method: string,
  token: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; ms: number }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload && { 'content-type': 'application/json' }),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            ms: performance.now() - start,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface Figures {
  secrets: number;
  seedS: number;
  listingPageMs: number;
  incrementalPageMs: number;
  resolveMs: number;
  databaseBytes: number;
}

async function measure(
  cluster: PostgresCluster,
  users: number,
  count: number,
  dirs: string[],
): Promise<Figures> {
  const databaseUrl = await cluster.createDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'ns-scale-server-'));
  dirs.push(dataDir);
  const seedStart = performance.now();
  const child = await spawnRole(['server', dataDir, databaseUrl, String(users), String(count)]);
  const seedS = (performance.now() - seedStart) / 1000;
  const [url, ...tokens] = child.line.split(' ') as [string, ...string[]];
  const token = tokens[Math.floor(users / 2)]!;
  try {
    // A full listing, page by page; then incremental pages after one change each.
    const pages: number[] = [];
    const ids: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const r = await request(
        `${url}/v1/changes?limit=1000${cursor ? `&since=${cursor}` : ''}`,
        'GET',
        token,
      );
      const page = JSON.parse(r.text) as {
        changes: { secret: { id: string } }[];
        next: string;
        more: boolean;
      };
      pages.push(r.ms);
      for (const c of page.changes) ids.push(c.secret.id);
      cursor = page.next;
      if (!page.more) break;
    }
    if (ids.length !== count) throw new Error(`listed ${ids.length} of ${count}`);
    const incremental: number[] = [];
    for (let i = 0; i < 25; i++) {
      const id = ids[Math.floor(Math.random() * ids.length)]!;
      const current = JSON.parse((await request(`${url}/v1/secrets/${id}`, 'GET', token)).text) as {
        version: number;
      };
      await request(
        `${url}/v1/secrets/${id}`,
        'PATCH',
        token,
        { description: `changed ${i}` },
        { 'if-match': `"${current.version}"` },
      );
      const r = await request(`${url}/v1/changes?since=${cursor}`, 'GET', token);
      const page = JSON.parse(r.text) as { changes: unknown[]; next: string };
      if (page.changes.length !== 1)
        throw new Error(`an incremental page had ${page.changes.length}`);
      cursor = page.next;
      incremental.push(r.ms);
    }
    const resolves: number[] = [];
    for (let i = 0; i < 300; i++) {
      const r = await request(
        `${url}/v1/resolve/${seededName(Math.floor(Math.random() * count))}`,
        'GET',
        token,
      );
      if (r.status !== 200) throw new Error(`resolve: ${r.status} ${r.text}`);
      resolves.push(r.ms);
    }
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    const [size] = (
      await db.query<{ bytes: string }>('SELECT pg_database_size(current_database()) AS bytes')
    ).rows;
    await db.end();
    return {
      secrets: users * count,
      seedS,
      // The first pages read what the seeding left in the cache; the median is the steady page.
      listingPageMs: median(pages),
      incrementalPageMs: median(incremental),
      resolveMs: median(resolves),
      databaseBytes: Number(size!.bytes),
    };
  } finally {
    child.proc.kill('SIGTERM');
    await new Promise((r) => child.proc.once('exit', r));
  }
}

const fmt = (n: number, digits = 1) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  if (!findPostgresBin()) {
    console.log('(skipped: no PostgreSQL binaries found; install Debian postgresql)');
    return;
  }
  const dirs: string[] = [];
  const cluster = await startPostgres({ sharedBuffers: '256MB' });
  try {
    const small = await measure(cluster, 1, 10_000, dirs);
    const large = await measure(cluster, USERS, PER_USER, dirs);
    console.log(
      '| secrets in all (one user’s) | seeded in s | listing page ms | incremental page ms | resolve ms | database size | per 100,000 secrets |',
    );
    console.log('|---:|---:|---:|---:|---:|---:|---:|');
    for (const [f, mine] of [
      [small, 10_000],
      [large, PER_USER],
    ] as const) {
      console.log(
        `| ${f.secrets.toLocaleString('en-US')} (${mine.toLocaleString('en-US')}) | ${fmt(f.seedS)} | ${fmt(f.listingPageMs)} | ${fmt(f.incrementalPageMs)} | ${fmt(f.resolveMs, 2)} | ${fmt(f.databaseBytes / 1024 / 1024, 0)} MB | ${fmt(((f.databaseBytes / f.secrets) * 100_000) / 1024 / 1024, 0)} MB |`,
      );
    }
    const verdict = (name: string, a: number, b: number) =>
      console.log(
        `- ${name}: ${fmt(b / a, 2)}× its time at 10,000 (≤ 1.5×): ${b <= 1.5 * a ? 'met' : 'NOT met'}`,
      );
    console.log(`targets at ${large.secrets.toLocaleString('en-US')}:`);
    verdict('a page of a full listing', small.listingPageMs, large.listingPageMs);
    verdict('an incremental page', small.incrementalPageMs, large.incrementalPageMs);
    verdict('a resolve', small.resolveMs, large.resolveMs);
  } finally {
    agent.destroy();
    await cluster.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

const role = process.argv[2];
if (role === 'server') {
  void serverRole(
    process.argv[3]!,
    process.argv[4]!,
    Number(process.argv[5]),
    Number(process.argv[6]),
  );
} else {
  runBench(main);
}
