/**
 * A throwaway PostgreSQL cluster for integration tests: Debian's `postgresql` binaries
 * (initdb/postgres from /usr/lib/postgresql/<version>/bin, installed by .ci/run), a temp data
 * directory, and a Unix socket in that directory (no TCP port). PostgreSQL refuses to run as
 * root, so as root the cluster runs as the `postgres` OS user (runuser). Other suites reuse it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgresCluster {
  /** The socket directory; connection strings use `?host=<dir>`. */
  socketDir: string;
  dataDir: string;
  /** A connection string to a new, empty database. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

/** The bin directory of the newest installed PostgreSQL, or undefined. */
export function findPostgresBin(): string | undefined {
  if (process.env.PG_BIN && existsSync(join(process.env.PG_BIN, 'initdb')))
    return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(base, versions[0], 'bin');
}

export const POSTGRES_MISSING =
  'PostgreSQL binaries were not found (looked in /usr/lib/postgresql/*/bin and $PG_BIN). ' +
  'Install Debian `postgresql` (.ci/run does: apt-get install postgresql); the server suite needs a real PostgreSQL.';

function asPostgresUser(): string[] {
  return process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
}

/**
 * Starts a cluster; throws a clear error when PostgreSQL is not installed. Tests run it with
 * fsync off; `durable` keeps PostgreSQL's default (a commit waits for its WAL flush), for
 * benchmarks of writes. `sharedBuffers` (default 32MB) sizes its cache, for benchmarks of large
 * databases.
 */
export async function startPostgres(
  options: { durable?: boolean; sharedBuffers?: string } = {},
): Promise<PostgresCluster> {
  const bin = findPostgresBin();
  if (!bin) throw new Error(POSTGRES_MISSING);
  const root = mkdtempSync(join(tmpdir(), 'ns-pg-'));
  const dataDir = join(root, 'data');
  const wrap = asPostgresUser();
  if (wrap.length > 0) {
    const { uid, gid } = userIds('postgres');
    chownSync(root, uid, gid);
  }
  chmodSync(root, 0o755);
  const run = (cmd: string, args: string[]) => {
    const argv = [...wrap, join(bin, cmd), ...args];
    return execFileSync(argv[0]!, argv.slice(1), { stdio: 'pipe' });
  };
  run('initdb', [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
    '--locale=C',
  ]);
  const argv = [
    ...wrap,
    join(bin, 'postgres'),
    '-D',
    dataDir,
    '-k',
    root,
    '-c',
    'listen_addresses=',
    ...(options.durable ? [] : ['-c', 'fsync=off']),
    '-c',
    'max_connections=200',
    '-c',
    `shared_buffers=${options.sharedBuffers ?? '32MB'}`,
  ];
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const adminUrl = `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(root)}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`PostgreSQL exited while starting:\n${log}`);
    const client = new pg.Client({ connectionString: adminUrl });
    try {
      await client.connect();
      await client.end();
      break;
    } catch {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`PostgreSQL did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    socketDir: root,
    dataDir,
    async createDatabase(name = `ns_${randomBytes(6).toString('hex')}`) {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgresql://postgres@localhost/${name}?host=${encodeURIComponent(root)}`;
    },
    async stop() {
      if (child.exitCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          try {
            run('pg_ctl', ['-D', dataDir, 'stop', '-m', 'fast', '-w']);
          } catch {
            child.kill('SIGINT');
          }
          setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
        });
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function userIds(name: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', name]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', name]).toString().trim());
  return { uid, gid };
}
