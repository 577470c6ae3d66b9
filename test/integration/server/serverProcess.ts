/**
 * The real `notebook-secrets serve` in a child process: the CLI bundled the way esbuild.mjs bundles
 * dist/ (its bin, src/cli/bin.ts, and the CLI itself, src/cli/main.ts), into out/, so tests never
 * race a developer's build.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { cliBundle } from '../../../scripts/bundles.mjs';
import { testCacheHome } from '../cliCache';

const ROOT = resolve(__dirname, '../../..');
const builds = new Map<string, Promise<string>>();

/**
 * Bundles the CLI as esbuild.mjs does (scripts/bundles.mjs), once per test process, into
 * out/`dir` (each suite its own folder, so suites running in parallel never write one file).
 */
export function buildCliInto(dir: string): Promise<string> {
  let built = builds.get(dir);
  if (!built) {
    built = (async () => {
      const outdir = join(ROOT, 'out', dir);
      await esbuild.build({ ...cliBundle({ outdir }), sourcemap: false, logLevel: 'error' });
      return join(outdir, 'cli.js');
    })();
    builds.set(dir, built);
  }
  return built;
}

export function buildServerCli(): Promise<string> {
  return buildCliInto('test-server-cli');
}

export async function freePort(): Promise<number> {
  return new Promise((done, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  kill(signal: NodeJS.Signals): Promise<number | string>;
}

export interface ServeOptions {
  dataDir: string;
  port: number;
  env?: Record<string, string | undefined>;
  /** More arguments for `serve` (--tls-cert, --host, …). */
  args?: string[];
}

/** Spawns `serve`; resolves once it prints its address (or rejects with its output if it exits). */
export async function serve(options: ServeOptions): Promise<ServeProcess> {
  const cli = await buildServerCli();
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env))
    if (name.startsWith('NOTEBOOK_SECRETS_') || name === 'DATABASE_URL') delete env[name];
  env.XDG_CACHE_HOME = testCacheHome();
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value !== undefined) env[name] = value;
  }
  const child = spawn(
    process.execPath,
    [
      cli,
      'serve',
      '--data',
      options.dataDir,
      '--port',
      String(options.port),
      '--rate-limit',
      '0',
      ...(options.args ?? []),
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | string>((done) =>
    child.once('exit', (code, signal) => done(code ?? signal ?? -1)),
  );
  const ready = (async () => {
    const deadline = Date.now() + 90_000;
    while (!stdout.includes('Listening on')) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      if (Date.now() > deadline) throw new Error(`serve did not start:\n${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await Promise.race([ready, exited]);
  return {
    url: /Listening on (\S+)/.exec(stdout)?.[1] ?? `http://127.0.0.1:${options.port}`,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
