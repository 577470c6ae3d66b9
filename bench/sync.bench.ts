/**
 * Sync of 10,000 secrets against the real team server (in process; on a throwaway PostgreSQL
 * cluster when Debian's postgresql is installed, else PGlite in a temp dir; NS_BENCH_SYNC_DB=pglite
 * forces PGlite): the
 * initial sync of a fresh client (full change-feed listing plus every value), then an incremental
 * sync after one change among the 10,000, in bytes received and time, as ratios to the full sync
 * measured in the same run. Target: incremental bytes at most 1/1000 of the full sync.
 * NS_BENCH_SYNC_COUNT changes the number of secrets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LocalSecretStore } from '../src/core/localStore';
import { configFromEnv, startServer } from '../src/server/server';
import {
  findPostgresBin,
  startPostgres,
  type PostgresCluster,
} from '../test/integration/server/postgres';
import { ApiClient } from '../src/sync/client';
import { SyncEngine } from '../src/sync/engine';
import { MemoryKeyValueStore } from '../src/sync/memoryKeyValueStore';
import { runBench } from './common';

const COUNT = Number(process.env.NS_BENCH_SYNC_COUNT ?? 10_000);

async function inParallel<T>(
  items: T[],
  width: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ns-sync-bench-'));
  const adminToken = 'nsbench_admin_token_0123456789abcdef';
  const usePostgres = process.env.NS_BENCH_SYNC_DB !== 'pglite' && findPostgresBin() !== undefined;
  const cluster: PostgresCluster | undefined = usePostgres ? await startPostgres() : undefined;
  const databaseUrl = cluster ? await cluster.createDatabase() : undefined;
  console.log(`server storage: ${cluster ? 'PostgreSQL' : 'PGlite'}`);
  const server = await startServer({
    ...configFromEnv({}),
    ...(databaseUrl && { databaseUrl }),
    dataDir,
    port: 0,
    adminToken,
    rateLimit: { perSecond: 1e9, burst: 1e9 },
    logStream: false,
  });
  try {
    const admin = new ApiClient({ baseUrl: server.url, token: adminToken });
    await admin.createUser({ id: 'bench' });
    const { token } = await admin.createToken({ user: 'bench' });
    const writer = new ApiClient({ baseUrl: server.url, token });

    const seedStart = performance.now();
    const ids: string[] = [];
    await inParallel(
      Array.from({ length: COUNT }, (_, i) => i),
      32,
      async (i) => {
        const meta = await writer.createSecret({
          name: `SECRET_${String(i).padStart(5, '0')}`,
          value: `value-${i}-${'x'.repeat(32)}`,
          description: `benchmark secret ${i}`,
        });
        ids.push(meta.id);
      },
    );
    console.log(
      `seeded ${COUNT} secrets in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
    );

    const kv = new MemoryKeyValueStore();
    const store = new LocalSecretStore(kv, { user: 'bench' });
    await store.load();
    const client = new ApiClient({ baseUrl: server.url, token });
    const engine = new SyncEngine({ client, store, kv, pageLimit: 1000, concurrency: 16 });
    await engine.init();

    const fullStart = performance.now();
    await engine.sync();
    const fullMs = performance.now() - fullStart;
    const full = { ...client.stats };
    if (store.list().length !== COUNT) throw new Error(`synced ${store.list().length} of ${COUNT}`);

    await writer.updateSecret(ids[Math.floor(COUNT / 2)]!, 1, { value: 'changed' });
    client.stats.bytesReceived = 0;
    client.stats.requests = 0;
    const incStart = performance.now();
    await engine.sync();
    const incMs = performance.now() - incStart;
    const inc = { ...client.stats };

    const bytesRatio = inc.bytesReceived / full.bytesReceived;
    console.log(
      `full sync of ${COUNT}: ${full.requests} requests, ${(full.bytesReceived / 1024).toFixed(0)} KiB, ${fullMs.toFixed(0)} ms (baseline 1.0)`,
    );
    console.log(
      `incremental after 1 change: ${inc.requests} requests, ${inc.bytesReceived} B, ${incMs.toFixed(1)} ms`,
    );
    console.log(
      `ratio to full: bytes ${bytesRatio.toExponential(2)} (1/${Math.round(1 / bytesRatio)}), time ${(incMs / fullMs).toExponential(2)} (1/${Math.round(fullMs / incMs)})`,
    );
    console.log(`target bytes <= 1/1000 of full: ${bytesRatio <= 1 / 1000 ? 'met' : 'NOT met'}`);
  } finally {
    await server.close();
    await cluster?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runBench(main);
