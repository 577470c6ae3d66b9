/**
 * What the CLI start-up benchmarks share: a team server with one user and one secret to `get`,
 * the environment a `get` runs in, and wall times of command runs taken in turn.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ApiClient } from '../src/sync/client';
import { median } from './common';

/** Wall time of one run of `command args` in ms; throws when it fails. */
export function wall(command: string, args: string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const run = spawnSync(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.status !== 0) throw new Error(`${args.join(' ')} failed: ${run.stderr.toString()}`);
  return ms;
}

/** A command run to time: its name in the table, the command, its arguments, its environment. */
export type TimedCase = [name: string, command: string, args: string[], env: NodeJS.ProcessEnv];

/**
 * Times each case `runs` times, taken in turn (so a change in the machine's load touches all
 * alike), after one warm-up run each; the medians in ms, in the order of `cases`.
 */
export function timeInTurn(cases: TimedCase[], runs: number): number[] {
  for (const [, command, args, env] of cases) wall(command, args, env);
  const times = cases.map(() => [] as number[]);
  for (let i = 0; i < runs; i++)
    cases.forEach(([, command, args, env], c) => times[c]!.push(wall(command, args, env)));
  return times.map(median);
}

/** Prints the medians as a table, each also as a ratio to the first. */
export function printTimes(cases: TimedCase[], medians: number[]): void {
  const base = medians[0]!;
  cases.forEach(([name], c) => {
    const ms = medians[c]!;
    console.log(`  ${name.padEnd(40)} ${ms.toFixed(0).padStart(5)} ms  ${(ms / base).toFixed(2)}×`);
  });
}

export interface BenchServer {
  url: string;
  /** The environment of a `get API_KEY` as the bench user, with its config in `home`. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/**
 * Starts `serve` with `command args` (PGlite in `home`), adds a user with a token and a secret
 * API_KEY, and gives the environment a `get API_KEY` of that user runs in.
 */
export async function startBenchServer(
  command: string,
  args: string[],
  home: string,
): Promise<BenchServer> {
  const adminToken = `nsadmin_${randomBytes(16).toString('hex')}`;
  const server: ChildProcess = spawn(
    command,
    [
      ...args,
      'serve',
      '--port',
      '0',
      '--data',
      join(home, 'server'),
      '--rate-limit',
      '0',
      '--log-level',
      'warn',
    ],
    {
      env: {
        ...process.env,
        NOTEBOOK_SECRETS_ADMIN_TOKEN: adminToken,
        DATABASE_URL: '',
        HOME: home,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const stop = async () => {
    if (server.exitCode !== null) return;
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const match = /Listening on (\S+)/.exec(out);
        if (match) resolve(match[1]!);
      });
      server.once('exit', (code) => reject(new Error(`the server exited (${code})`)));
    });
    const admin = new ApiClient({ baseUrl: url, token: adminToken });
    await admin.createUser({ id: 'bench' });
    const { token } = await admin.createToken({ user: 'bench' });
    await new ApiClient({ baseUrl: url, token }).createSecret({
      name: 'API_KEY',
      value: randomBytes(20).toString('hex'),
    });
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      NOTEBOOK_SECRETS_CONFIG_DIR: join(home, 'config'),
      NOTEBOOK_SECRETS_KEYRING: '0',
      NOTEBOOK_SECRETS_SERVER: url,
      NOTEBOOK_SECRETS_TOKEN: token,
    };
    return { url, env, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
