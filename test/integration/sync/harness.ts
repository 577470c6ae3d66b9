/**
 * The real team server for the sync and CLI integration tests: the CLI bundled as `npm run build`
 * bundles it, run as `notebook-secrets serve` in a child process on a fixed loopback port (so it
 * can be stopped and started again at the same URL), on PGlite in a temp dir, or on PostgreSQL
 * when a DATABASE_URL is given.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testCacheHome } from '../cliCache';
import { buildCliInto, freePort } from '../server/serverProcess';
import { LocalSecretStore } from '../../../src/core/localStore';
import { ApiClient } from '../../../src/sync/client';
import { SyncEngine } from '../../../src/sync/engine';
import { MemoryKeyValueStore } from '../../../src/sync/memoryKeyValueStore';
import { syncClient } from '../../support/syncClient';
import { Link } from '../../support/twoClients';

/** The CLI bundled into out/test-cli (see buildCliInto). */
export function buildCli(): Promise<string> {
  return buildCliInto('test-cli');
}

export { freePort };

export interface RunningServer {
  url: string;
  adminToken: string;
  admin: ApiClient;
  dataDir: string;
  /** Everything the server wrote to stdout and stderr (to check that no value leaks). */
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

export interface ServerOptions {
  databaseUrl?: string;
  /** A port of its own (default: a free one). */
  port?: number;
  /** More environment for `serve` (e.g. the identity provider's settings). */
  env?: NodeJS.ProcessEnv;
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const cli = await buildCli();
  const port = options.port ?? (await freePort());
  const dataDir = mkdtempSync(join(tmpdir(), 'ns-sync-server-'));
  const adminToken = `nsadmin_${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NOTEBOOK_SECRETS_ADMIN_TOKEN: adminToken,
      XDG_CACHE_HOME: testCacheHome(),
      ...options.env,
    };
    delete env.DATABASE_URL;
    if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
    child = spawn(
      process.execPath,
      [
        cli,
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--data',
        dataDir,
        '--rate-limit',
        '0',
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<never>((_, reject) =>
      child!.once('exit', (code) =>
        reject(new Error(`The server exited (${code}) while starting:\n${output.slice(-2000)}`)),
      ),
    );
    const deadline = Date.now() + 60_000;
    const ready = (async () => {
      for (;;) {
        try {
          const response = await fetch(`${url}/v1/health`);
          if (response.ok) return;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline)
          throw new Error(`The server did not start:\n${output.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await Promise.race([ready, exited]);
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((r) => {
      proc.once('exit', () => r());
      proc.kill(signal);
    });
  };

  await start();
  return {
    url,
    adminToken,
    admin: new ApiClient({ baseUrl: url, token: adminToken }),
    dataDir,
    output: () => output,
    stop,
    start,
    dispose: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates a user (and their token) with the admin API. */
export async function addUser(
  server: RunningServer,
  id: string,
  teams: string[] = [],
): Promise<string> {
  await server.admin.createUser({ id });
  for (const team of teams) await server.admin.addTeamMember(team, id);
  return (await server.admin.createToken({ user: id })).token;
}

export async function addTeam(server: RunningServer, id: string): Promise<void> {
  await server.admin.createTeam({ id });
}

/** One device of a user: its own SecretStorage (in memory), local store, link and sync engine. */
export interface SyncDevice {
  user: string;
  kv: MemoryKeyValueStore;
  store: LocalSecretStore;
  api: ApiClient;
  engine: SyncEngine;
  link: Link;
  logs: string[];
}

export async function syncDevice(
  server: RunningServer,
  user: string,
  token: string,
  options: {
    kv?: MemoryKeyValueStore;
    fetch?: typeof fetch;
    pageLimit?: number;
    maxPages?: number;
  } = {},
): Promise<SyncDevice> {
  const link = new Link(options.fetch ?? globalThis.fetch);
  const client = await syncClient({
    user,
    baseUrl: server.url,
    token,
    fetch: link.fetch,
    timeoutMs: 10_000,
    ...(options.kv && { kv: options.kv }),
    ...(options.pageLimit !== undefined && { pageLimit: options.pageLimit }),
    ...(options.maxPages !== undefined && { maxPages: options.maxPages }),
  });
  return { user, ...client, link };
}
