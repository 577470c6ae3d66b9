/**
 * Sync at the size of a company's catalogue (npm run bench -- scaleSync, or with the other scale
 * parts, npm run bench -- scale): 10,000 and 100,000 secrets (NS_BENCH_SCALE_COUNT changes the
 * larger), on PostgreSQL (a throwaway cluster, when Debian's postgresql is installed) and PGlite,
 * the server in a child process of its own. For each:
 * - a fresh client's full sync: time, requests and bytes, against the transfer floor, the same
 *   client (the extension's HTTP client, nodeFetch) downloading the same number of bytes in the
 *   same requests from a bare Node HTTP server. Targets at 100,000: at most 10 s, and at most 15×
 *   the floor. FULL_SYNC_RUNS fresh clients sync, each followed by its floor (the fastest of five
 *   runs); the figures are the medians of the runs' times and of their ratios, so that a spell
 *   of a slower machine weighs on a sync and its floor alike.
 * - the client's heap (store, sync engine and the Secrets view, after a full collection) above the
 *   same with no secrets. Target: at most 50 MB for 100,000.
 * - an incremental sync after one change on the server (median of nine, alternating between the
 *   sizes): bytes, at most 1/10,000 of the full sync's, and time, at most 1.5× the same at 10,000.
 * - one more fresh client's full sync at the larger size, its store on sealed files as the
 *   extension keeps it in VS Code for the Web (src/extension/storage/sealedFileStore.ts), every
 *   value written and synced to disk: its time against the median full sync. No target.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LocalSecretStore } from '../src/core/localStore';
import { Keyring, parseKey } from '../src/server/crypto';
import { startServer } from '../src/server/server';
import { ApiClient } from '../src/sync/client';
import { nodeFetch } from '../src/sync/nodeFetch';
import { SyncEngine } from '../src/sync/engine';
import { MemoryKeyValueStore } from '../src/sync/memoryKeyValueStore';
import type { KeyValueSecretStore } from '../src/core/keyValueStore';
import { SealedFileStore } from '../src/extension/storage/sealedFileStore';
import { SecretsTreeProvider } from '../src/extension/views/secretsTree';
import { ViewState } from '../src/extension/views/viewState';
import {
  findPostgresBin,
  startPostgres,
  type PostgresCluster,
} from '../test/integration/server/postgres';
import { runBench, scaleServerConfig, spawnRole, median } from './common';
import type { ChildProcess } from 'node:child_process';
import { clusterPids, cpuSeconds } from './cpu';
import { seedSecrets, seededValue } from './seed';

const LARGE = Number(process.env.NS_BENCH_SCALE_COUNT ?? 100_000);
const SMALL = Math.min(10_000, LARGE);
const INCREMENTAL_RUNS = 9;
const FULL_SYNC_RUNS = 3;
const ADMIN_TOKEN = (process.env.BENCH_ADMIN_TOKEN ??=
  'bench-admin-token-' + randomBytes(16).toString('hex'));

// ---------------------------------------------------------------------------------------------
// Child roles

/** A server seeded with `count` secrets of user `bench`; prints its URL and the user's token. */
async function serverRole(dataDir: string, databaseUrl: string, count: number): Promise<void> {
  const key = randomBytes(32).toString('base64');
  const url = databaseUrl === '-' ? undefined : databaseUrl;
  const server = await startServer(scaleServerConfig(dataDir, url, key, ADMIN_TOKEN));
  const admin = (await server.store.authenticate(ADMIN_TOKEN, 'bench', '127.0.0.1'))!;
  await server.store.createUser({ id: 'bench', admin: false });
  const { token } = await server.store.createToken(admin, { user: 'bench' });
  await seedSecrets(server.store.db, new Keyring(parseKey(key, 'bench')), 'bench', count);
  // A catalogue that grew over months has statistics; one inserted in bulk a moment ago has
  // none until autovacuum's next pass (PGlite's: the server's maintenance, each minute), and
  // without them a change-feed page is read by a scan of the whole feed.
  await server.store.db.query('ANALYZE');
  process.stdout.write(`${server.url} ${token}\n`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

/** The transfer floor's server: answers /bytes/<n> with n bytes of JSON-ish text, nothing else. */
function bareRole(): void {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const n = Number(/\/bytes\/(\d+)/.exec(req.url ?? '')?.[1] ?? 0);
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': n,
      });
      res.end(Buffer.alloc(n, 0x20));
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(
      `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}\n`,
    );
  });
}

// ---------------------------------------------------------------------------------------------

/** Heap in use after a full collection (npm run bench starts node with --expose-gc). */
function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

/** Shows every group, as the view does (in a frame of its own, which keeps no node alive). */
function expandAll(tree: SecretsTreeProvider): void {
  for (const group of tree.getChildren()) tree.getChildren(group);
}

interface Recorded {
  method: string;
  path: string;
  bodyBytes: number;
  bytes: number;
  /** From sending the request to the last byte of the answer. */
  ms: number;
}

/** One fresh client's full sync. */
interface FullSync {
  ms: number;
  requests: number;
  bytes: number;
  /** The same requests' transfer floor, the fastest of five runs. */
  floorMs: number;
  /** CPU seconds the sync cost the client, the server process and the database. */
  cpu: { client: number; server: number; database: number };
}

interface Figures {
  count: number;
  seedS: number;
  /** Medians over the FULL_SYNC_RUNS fresh clients, and each run's ratio to its floor. */
  fullMs: number;
  ratio: number;
  ratios: number[];
  requests: number;
  bytes: number;
  floorMs: number;
  heapBytes: number;
  incMs: number;
  incBytes: number;
  /** CPU seconds the full sync cost the client, the server process and the database. */
  cpu: { client: number; server: number; database: number };
  /** Median time of a change-feed page and of a value batch during the full sync. */
  pageMs: number;
  valuesMs: number;
  /** One more fresh client's full sync, into sealed files (the local store in a Web UI). */
  sealedMs: number | undefined;
}

/**
 * One size on one backend: its server, seeded, and a client as the extension builds it (store,
 * sync engine with its default page size, the Secrets view), which the steps drive one by one.
 */
class SyncSide {
  /** The requests of the sync being recorded, from sending to the last byte of each answer. */
  recorded: Recorded[] = [];
  recording = false;
  store: LocalSecretStore | undefined;
  engine: SyncEngine | undefined;
  view: ViewState | undefined;
  tree: SecretsTreeProvider | undefined;
  /** What an empty store, engine and view hold. */
  emptyBytes = 0;
  readonly inc = { ms: [] as number[], bytes: [] as number[] };
  /** The first full sync's requests (page and value batch times), and every run's figures. */
  firstRecorded: Recorded[] = [];
  readonly fulls: FullSync[] = [];
  heapBytes = 0;
  sealedMs: number | undefined;

  private constructor(
    readonly count: number,
    readonly seedS: number,
    private readonly child: { line: string; proc: ChildProcess },
    // SecretStorage keeps its data outside the extension host; this stand-in keeps it here, so
    // its share of the heap is left out of the figure (see release()).
    readonly kv: MemoryKeyValueStore,
    private readonly client: ApiClient,
    private readonly writer: ApiClient,
  ) {}

  static async start(databaseUrl: string | undefined, count: number, dirs: string[]) {
    const dataDir = mkdtempSync(join(tmpdir(), 'ns-scale-sync-'));
    dirs.push(dataDir);
    const seedStart = performance.now();
    const child = await spawnRole(__filename, [
      'server',
      dataDir,
      databaseUrl ?? '-',
      String(count),
    ]);
    const seedS = (performance.now() - seedStart) / 1000;
    const [url, token] = child.line.split(' ') as [string, string];
    let side: SyncSide | undefined = undefined;
    // The extension's HTTP client (nodeFetch, over node:http), which answers once the whole body
    // has come: the time to its answer is the time to the last byte.
    const recordingFetch: typeof fetch = async (input, init) => {
      const start = performance.now();
      const response = await nodeFetch(input, init);
      if (!side?.recording) return response;
      side.recorded.push({
        method: init?.method ?? 'GET',
        path: new URL(input instanceof Request ? input.url : input).pathname,
        bodyBytes: typeof init?.body === 'string' ? Buffer.byteLength(init.body) : 0,
        bytes: Buffer.byteLength(await response.text()),
        ms: performance.now() - start,
      });
      return response;
    };
    const client = new ApiClient({ baseUrl: url, token, fetch: recordingFetch });
    side = new SyncSide(
      count,
      seedS,
      child,
      new MemoryKeyValueStore(),
      client,
      new ApiClient({ baseUrl: url, token }),
    );
    const empty = heapUsed();
    Object.assign(side, await side.newClient(side.kv));
    side.emptyBytes = heapUsed() - empty;
    return side;
  }

  /**
   * A client as the extension builds it: store, sync engine and the Secrets view, shown. The
   * store keeps its keys in `kv`, the engine its state in `stateKv` (SecretStorage).
   */
  private async newClient(kv: KeyValueSecretStore, stateKv = kv) {
    const store = new LocalSecretStore(kv, { user: 'bench' });
    await store.load();
    const engine = new SyncEngine({ client: this.client, store, kv: stateKv });
    await engine.init();
    const view = new ViewState();
    const tree = new SecretsTreeProvider(store, view);
    expandAll(tree);
    return { store, engine, view, tree };
  }

  /**
   * A fresh client's full sync, its CPU and requests, and the transfer floor of its requests:
   * the first on this side's own client (kept for the heap and the incremental syncs), the
   * others on clients of their own, dropped after.
   */
  async fullSync(clusterDir: string | undefined, bareUrl: string): Promise<void> {
    const first = this.fulls.length === 0;
    const fresh = first ? undefined : await this.newClient(new MemoryKeyValueStore());
    const { store, engine } = fresh ?? this;
    const cpuOf = (pids: number[]) => new Map(pids.map((pid) => [pid, cpuSeconds(pid)]));
    const databasePids = () => (clusterDir ? clusterPids(clusterDir) : []);
    const databaseBefore = cpuOf(databasePids());
    const serverBefore = cpuSeconds(this.child.proc.pid!);
    const clientBefore = process.cpuUsage();
    this.client.stats.requests = 0;
    this.client.stats.bytesReceived = 0;
    this.recorded = [];
    this.recording = true;
    const start = performance.now();
    await engine!.sync();
    const ms = performance.now() - start;
    this.recording = false;
    const clientCpu = process.cpuUsage(clientBefore);
    let database = 0;
    for (const [pid, seconds] of cpuOf(databasePids())) {
      database += seconds - (databaseBefore.get(pid) ?? 0);
    }
    const cpu = {
      client: (clientCpu.user + clientCpu.system) / 1e6,
      server: cpuSeconds(this.child.proc.pid!) - serverBefore,
      database,
    };
    const count = store!.list().length;
    if (count !== this.count) throw new Error(`synced ${count} of ${this.count}`);
    const probe = store!.list()[Math.floor(this.count / 3)]!;
    const probeIndex = Number(probe.name.slice('SECRET_'.length));
    if ((await store!.getValue(probe.id)).value !== seededValue(probeIndex)) {
      throw new Error(`the value of ${probe.name} did not arrive`);
    }
    if (fresh) dropClient(fresh);
    else this.firstRecorded = this.recorded;
    // The floor: the same requests and byte counts from a server that only sends bytes.
    const floorRuns: number[] = [];
    for (let run = 0; run < 5; run++) {
      const floorStart = performance.now();
      for (const r of this.recorded) {
        const response = await nodeFetch(`${bareUrl}/bytes/${r.bytes}`, {
          method: r.method,
          ...(r.bodyBytes > 0 && { body: ' '.repeat(r.bodyBytes) }),
          headers: { 'content-type': 'application/json' },
        });
        await response.text();
      }
      floorRuns.push(performance.now() - floorStart);
    }
    this.fulls.push({
      ms,
      requests: this.client.stats.requests,
      bytes: this.client.stats.bytesReceived,
      floorMs: Math.min(...floorRuns),
      cpu,
    });
  }

  /**
   * A fresh client's full sync into the sealed files the extension keeps its local store in, in
   * VS Code for the Web: every value written and synced to this machine's disk.
   */
  async sealedSync(dirs: string[]): Promise<void> {
    const root = mkdtempSync(join(tmpdir(), 'ns-scale-sealed-'));
    dirs.push(root);
    const files = new SealedFileStore(new MemoryKeyValueStore(), root);
    const fresh = await this.newClient(files, new MemoryKeyValueStore());
    const start = performance.now();
    await fresh.engine.sync();
    this.sealedMs = performance.now() - start;
    const count = fresh.store.list().length;
    dropClient(fresh);
    files.dispose();
    if (count !== this.count) throw new Error(`synced ${count} of ${this.count} into sealed files`);
  }

  /** One change on the server, then an incremental sync. */
  async incremental(run: number): Promise<void> {
    const target =
      this.store!.list()[Math.floor((this.count * (run + 1)) / (INCREMENTAL_RUNS + 1))]!;
    await this.writer.updateSecret(target.id, target.version, { value: `changed-${run}` });
    this.client.stats.bytesReceived = 0;
    const start = performance.now();
    const report = await this.engine!.sync();
    this.inc.ms.push(performance.now() - start);
    if (report.pulled !== 1) throw new Error(`an incremental sync pulled ${report.pulled}`);
    this.inc.bytes.push(this.client.stats.bytesReceived);
  }

  /** Drops the store, engine and view (the key-value stand-in stays). */
  release(): void {
    this.tree?.dispose();
    this.view?.dispose();
    this.engine?.dispose();
    [this.tree, this.view, this.engine, this.store] = [undefined, undefined, undefined, undefined];
  }

  async stop(): Promise<void> {
    this.child.proc.kill('SIGTERM');
    await new Promise((r) => this.child.proc.once('exit', r));
  }

  figures(): Figures {
    const path = (p: string) =>
      median(this.firstRecorded.filter((r) => r.path === p).map((r) => r.ms));
    const ratios = this.fulls.map((f) => f.ms / f.floorMs);
    // The run whose time is the median: its requests, bytes, floor and CPU.
    const byTime = [...this.fulls].sort((a, b) => a.ms - b.ms);
    const mid = byTime[Math.floor(byTime.length / 2)]!;
    return {
      count: this.count,
      seedS: this.seedS,
      fullMs: mid.ms,
      ratio: median(ratios),
      ratios,
      requests: mid.requests,
      bytes: mid.bytes,
      floorMs: mid.floorMs,
      heapBytes: this.heapBytes,
      incMs: median(this.inc.ms),
      incBytes: median(this.inc.bytes),
      cpu: mid.cpu,
      pageMs: path('/v1/changes'),
      valuesMs: path('/v1/values'),
      sealedMs: this.sealedMs,
    };
  }
}

/** Drops a fresh client's view, tree and engine (newClient's). */
function dropClient(client: {
  tree: { dispose(): void };
  view: { dispose(): void };
  engine: { dispose(): void };
}): void {
  client.tree.dispose();
  client.view.dispose();
  client.engine.dispose();
}

/**
 * Both sizes on one backend. The first full syncs run one after the other; the incremental syncs
 * alternate between the sizes, so that the machine's other work weighs on both alike; the heaps
 * are measured by dropping one client, then the other; then the other fresh clients sync.
 */
async function measureBoth(
  databaseUrl: () => Promise<string | undefined>,
  clusterDir: string | undefined,
  bareUrl: string,
  dirs: string[],
): Promise<[Figures, Figures]> {
  const sides: SyncSide[] = [];
  try {
    for (const count of [SMALL, LARGE]) {
      const side = await SyncSide.start(await databaseUrl(), count, dirs);
      sides.push(side);
      await side.fullSync(clusterDir, bareUrl);
    }
    for (let run = 0; run < INCREMENTAL_RUNS; run++) {
      for (const side of sides) await side.incremental(run);
    }
    for (const side of sides) expandAll(side.tree!);
    let heap = heapUsed();
    for (const side of sides) {
      side.release();
      const without = heapUsed();
      side.heapBytes = heap - without - side.emptyBytes;
      heap = without;
    }
    // Used after the measures, so that nothing the stand-ins hold was counted as released.
    if (sides.some((side) => side.kv.data.size === 0)) throw new Error('a store kept nothing');
    for (let run = 1; run < FULL_SYNC_RUNS; run++) {
      for (const side of sides) await side.fullSync(clusterDir, bareUrl);
    }
    await sides[1]!.sealedSync(dirs);
    return [sides[0]!.figures(), sides[1]!.figures()];
  } finally {
    for (const side of sides) await side.stop();
  }
}

const fmt = (n: number, digits = 1) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const mb = (n: number) => `${fmt(n / 1024 / 1024)} MB`;
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');

function report(backend: string, small: Figures, large: Figures): void {
  console.log(`\n${backend}`);
  console.log(
    '| secrets | seeded in s | full sync ms (median) | requests | bytes | floor ms | full / floor (median) | page ms | 500 values ms | CPU s client / server / database | heap above empty | incremental ms | incremental bytes |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const f of [small, large]) {
    console.log(
      `| ${f.count.toLocaleString('en-US')} | ${fmt(f.seedS)} | ${fmt(f.fullMs, 0)} | ${f.requests} | ${f.bytes.toLocaleString('en-US')} | ${fmt(f.floorMs, 0)} | ${fmt(f.ratio)}× | ${fmt(f.pageMs)} | ${fmt(f.valuesMs)} | ${fmt(f.cpu.client)} / ${fmt(f.cpu.server)} / ${fmt(f.cpu.database)} | ${mb(f.heapBytes)} | ${fmt(f.incMs)} | ${f.incBytes.toLocaleString('en-US')} |`,
    );
  }
  const n = large.count.toLocaleString('en-US');
  const bytesRatio = large.incBytes / large.bytes;
  const timeRatio = large.incMs / small.incMs;
  console.log(`targets at ${n}:`);
  console.log(
    `- full sync ${fmt(large.fullMs / 1000, 2)} s (≤ 10 s): ${verdict(large.fullMs <= 10_000)}`,
  );
  console.log(
    `- full sync ${fmt(large.ratio)}× the transfer floor (≤ 15×; median over ${large.ratios.length} fresh clients, each against its own floor: ${large.ratios.map((r) => `${fmt(r)}×`).join(', ')}): ${verdict(large.ratio <= 15)}`,
  );
  console.log(
    `- heap ${mb(large.heapBytes)} above empty (≤ 50 MB): ${verdict(large.heapBytes <= 50 * 1024 * 1024)}`,
  );
  console.log(
    `- incremental bytes 1/${Math.round(1 / bytesRatio).toLocaleString('en-US')} of the full sync's (≤ 1/10,000): ${verdict(bytesRatio <= 1 / 10_000)}`,
  );
  console.log(
    `- incremental time ${fmt(timeRatio, 2)}× its time at ${small.count.toLocaleString('en-US')} (≤ 1.5×): ${verdict(timeRatio <= 1.5)}`,
  );
  if (large.sealedMs !== undefined) {
    console.log(
      `- a full sync into sealed files, as the local store is kept in VS Code for the Web (no target): ${fmt(large.sealedMs / 1000, 2)} s, ${fmt(large.sealedMs / large.fullMs, 2)}× the full sync above`,
    );
  }
}

async function main(): Promise<void> {
  const dirs: string[] = [];
  const bare = await spawnRole(__filename, ['bare']);
  let cluster: PostgresCluster | undefined;
  try {
    const backends: {
      name: string;
      databaseUrl: () => Promise<string | undefined>;
      dir?: string;
    }[] = [];
    if (process.env.NS_BENCH_SCALE_DB !== 'pglite' && findPostgresBin()) {
      // A cache that holds the database, as a deployment's would (the tests' cluster has 32 MB).
      cluster = await startPostgres({ sharedBuffers: '256MB' });
      const pg = cluster;
      backends.push({
        name: 'PostgreSQL',
        databaseUrl: () => pg.createDatabase(),
        dir: pg.dataDir,
      });
    } else {
      console.log('(PostgreSQL skipped: no PostgreSQL binaries found; install Debian postgresql)');
    }
    if (process.env.NS_BENCH_SCALE_DB !== 'postgres') {
      backends.push({ name: 'PGlite', databaseUrl: () => Promise.resolve(undefined) });
    }
    for (const backend of backends) {
      const [small, large] = await measureBoth(backend.databaseUrl, backend.dir, bare.line, dirs);
      report(backend.name, small, large);
    }
  } finally {
    bare.proc.kill('SIGTERM');
    await cluster?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

const role = process.argv[2];
if (role === 'server') {
  void serverRole(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
} else if (role === 'bare') {
  bareRole();
} else {
  runBench(main);
}
