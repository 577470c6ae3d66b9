/**
 * The team server at the size of a company (npm run bench -- scaleServer, or with the other scale
 * parts, npm run bench -- scale), on PostgreSQL with a 256 MB cache: one database of 10,000
 * secrets (one user) beside one of 1,000,000 (ten users of 100,000 each; NS_BENCH_SCALE_COUNT
 * changes the 100,000), both served at once. For one user of each, one request at a time, each to
 * one database followed by the same to the other: a page of 1,000 of a full listing (every page of
 * it), an incremental page after one change, and GET /v1/resolve/{name} for names picked at
 * random; each the median of many. Target: each within 1.5× at 1,000,000 of the same at 10,000.
 * And the database's size per 100,000 secrets.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Keyring, parseKey } from '../src/server/crypto';
import { startServer } from '../src/server/server';
import {
  findPostgresBin,
  startPostgres,
  type PostgresCluster,
} from '../test/integration/server/postgres';
import type { ChildProcess } from 'node:child_process';
import {
  benchRequest,
  runBench,
  scaleServerConfig,
  spawnRole,
  type BenchReply,
  median,
} from './common';
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
  const server = await startServer(scaleServerConfig(dataDir, databaseUrl, key, ADMIN_TOKEN));
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

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

const request = (
  url: string,
  method: string,
  token: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<BenchReply> => benchRequest(agent, url, method, token, body, headers);

interface Figures {
  secrets: number;
  seedS: number;
  listingPageMs: number;
  incrementalPageMs: number;
  resolveMs: number;
  databaseBytes: number;
}

interface Page {
  changes: { kind: string; secret?: { id: string } }[];
  next: string;
  more: boolean;
}

/** One database and its server, and one user of it, whom the steps act as. */
class ServerSide {
  readonly pages: number[] = [];
  readonly incremental: number[] = [];
  readonly resolves: number[] = [];
  private listing: string | undefined;
  private readonly ids: string[] = [];
  private cursor: string | undefined;

  private constructor(
    readonly secrets: number,
    readonly count: number,
    readonly seedS: number,
    private readonly databaseUrl: string,
    private readonly child: { line: string; proc: ChildProcess },
    private readonly url: string,
    private readonly token: string,
  ) {}

  static async start(
    cluster: PostgresCluster,
    users: number,
    count: number,
    dirs: string[],
  ): Promise<ServerSide> {
    const databaseUrl = await cluster.createDatabase();
    const dataDir = mkdtempSync(join(tmpdir(), 'ns-scale-server-'));
    dirs.push(dataDir);
    const seedStart = performance.now();
    const args = ['server', dataDir, databaseUrl, String(users), String(count)];
    const child = await spawnRole(__filename, args);
    const seedS = (performance.now() - seedStart) / 1000;
    const [url, ...tokens] = child.line.split(' ') as [string, ...string[]];
    const token = tokens[Math.floor(users / 2)]!;
    return new ServerSide(users * count, count, seedS, databaseUrl, child, url, token);
  }

  /** The next page of a full listing, starting one over when the last one ended. */
  async listingPage(): Promise<boolean> {
    const since = this.listing === undefined ? '' : `&since=${this.listing}`;
    const r = await request(`${this.url}/v1/changes?limit=1000${since}`, 'GET', this.token);
    const page = JSON.parse(r.text) as Page;
    this.pages.push(r.ms);
    const first = this.cursor === undefined;
    if (first) for (const c of page.changes) if (c.secret) this.ids.push(c.secret.id);
    this.listing = page.more ? page.next : undefined;
    if (!page.more && first) {
      if (this.ids.length !== this.count) throw new Error(`listed ${this.ids.length}`);
      this.cursor = page.next;
    }
    return page.more;
  }

  /** One change, then the incremental page that brings it. */
  async incrementalPage(i: number): Promise<void> {
    const id = this.ids[Math.floor(Math.random() * this.ids.length)]!;
    const { version } = JSON.parse(
      (await request(`${this.url}/v1/secrets/${id}`, 'GET', this.token)).text,
    ) as { version: number };
    await request(
      `${this.url}/v1/secrets/${id}`,
      'PATCH',
      this.token,
      { description: `changed ${i}` },
      { 'if-match': `"${version}"` },
    );
    const r = await request(`${this.url}/v1/changes?since=${this.cursor}`, 'GET', this.token);
    const page = JSON.parse(r.text) as Page;
    if (page.changes.length !== 1)
      throw new Error(`an incremental page had ${page.changes.length}`);
    this.cursor = page.next;
    this.incremental.push(r.ms);
  }

  async resolve(): Promise<void> {
    const name = seededName(Math.floor(Math.random() * this.count));
    const r = await request(`${this.url}/v1/resolve/${name}`, 'GET', this.token);
    if (r.status !== 200) throw new Error(`resolve: ${r.status} ${r.text}`);
    this.resolves.push(r.ms);
  }

  async figures(): Promise<Figures> {
    const db = new pg.Client({ connectionString: this.databaseUrl });
    await db.connect();
    const [size] = (
      await db.query<{ bytes: string }>('SELECT pg_database_size(current_database()) AS bytes')
    ).rows;
    await db.end();
    return {
      secrets: this.secrets,
      seedS: this.seedS,
      listingPageMs: median(this.pages),
      incrementalPageMs: median(this.incremental),
      resolveMs: median(this.resolves),
      databaseBytes: Number(size!.bytes),
    };
  }

  async stop(): Promise<void> {
    this.child.proc.kill('SIGTERM');
    await new Promise((r) => this.child.proc.once('exit', r));
  }
}

/**
 * Both databases at once, each request to one followed by the same to the other, so that the
 * machine's other work weighs on both alike.
 */
async function measureBoth(cluster: PostgresCluster, dirs: string[]): Promise<Figures[]> {
  const sides: ServerSide[] = [];
  try {
    sides.push(await ServerSide.start(cluster, 1, 10_000, dirs));
    sides.push(await ServerSide.start(cluster, USERS, PER_USER, dirs));
    const [small, large] = sides as [ServerSide, ServerSide];
    // Every page of the larger listing once, beside pages of the smaller, read over and over.
    await small.listingPage();
    while (await large.listingPage()) await small.listingPage();
    while (await small.listingPage());
    for (let i = 0; i < 25; i++) for (const side of sides) await side.incrementalPage(i);
    for (let i = 0; i < 300; i++) for (const side of sides) await side.resolve();
    return await Promise.all(sides.map((side) => side.figures()));
  } finally {
    for (const side of sides) await side.stop();
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
    const [small, large] = (await measureBoth(cluster, dirs)) as [Figures, Figures];
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
