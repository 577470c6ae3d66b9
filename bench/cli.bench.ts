/**
 * CLI start-up benchmark (npm run bench -- cli): wall time of `notebook-secrets --version` and of
 * one `notebook-secrets get NAME` against a local server (PGlite), next to `node -e 0` measured in
 * the same run, as medians of runs taken in turn, and as ratios to `node -e 0`, with the same
 * request made by a bare node:http script (what the server's answer costs), and `get` without the
 * code cache. Target: `get` within 2.5× `node -e 0`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ApiClient } from '../src/sync/client';
import { bundleCli } from './cliBundle';
import { runBench } from './common';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
function wall(args: string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const run = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.status !== 0) throw new Error(`${args.join(' ')} failed: ${run.stderr.toString()}`);
  return ms;
}

const kib = (file: string): string => `${(statSync(file).size / 1024).toFixed(0)} KiB`;

/** The code cache `get` runs from (see src/cli/bin.ts). */
function getCache(home: string): string {
  const dir = join(home, '.cache', 'notebook-secrets', 'compile');
  const name = readdirSync(dir).find((f) => f.endsWith('.get.cache'));
  if (!name) throw new Error(`no code cache for get in ${dir}`);
  return join(dir, name);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const cli = await bundleCli('bench-cli');
  const dataDir = mkdtempSync(join(tmpdir(), 'ns-bench-cli-'));
  const adminToken = `nsadmin_${randomBytes(16).toString('hex')}`;
  const server = spawn(
    process.execPath,
    [cli, 'serve', '--port', '0', '--data', dataDir, '--rate-limit', '0', '--log-level', 'warn'],
    {
      env: { ...process.env, NOTEBOOK_SECRETS_ADMIN_TOKEN: adminToken, DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (d: Buffer) => {
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
      HOME: dataDir,
      NOTEBOOK_SECRETS_CONFIG_DIR: join(dataDir, 'config'),
      NOTEBOOK_SECRETS_KEYRING: '0',
      NOTEBOOK_SECRETS_SERVER: url,
      NOTEBOOK_SECRETS_TOKEN: token,
    };
    // The same request made by a bare node:http script: Node's start plus the server's answer,
    // the floor under which no CLI `get` can go.
    const floor = `require('node:http').get(process.env.NOTEBOOK_SECRETS_SERVER + '/v1/resolve/API_KEY', { headers: { authorization: 'Bearer ' + process.env.NOTEBOOK_SECRETS_TOKEN } }, (r) => { if (r.statusCode !== 200) process.exit(1); r.resume(); })`;
    // Each command run keeps V8's compiled code in HOME's cache (src/cli/bin.ts); `get` without
    // it shows what the cache saves.
    const noCache = { ...env, NOTEBOOK_SECRETS_COMPILE_CACHE: '0' };
    const cases: [string, string[], NodeJS.ProcessEnv][] = [
      ['node -e 0', ['-e', '0'], env],
      ['notebook-secrets --version', [cli, '--version'], env],
      ['notebook-secrets get API_KEY', [cli, 'get', 'API_KEY'], env],
      ['node: the same request, bare', ['-e', floor], env],
      ['get API_KEY, no code cache', [cli, 'get', 'API_KEY'], noCache],
    ];
    for (const [, args, caseEnv] of cases) wall(args, caseEnv); // warm the file and code caches
    const times = cases.map(() => [] as number[]);
    for (let i = 0; i < RUNS; i++)
      cases.forEach(([, args, caseEnv], c) => times[c]!.push(wall(args, caseEnv)));
    const base = median(times[0]!);
    console.log(
      `CLI: loader ${kib(cli)}, bundle ${kib(join(dirname(cli), 'cli-main.js'))}, get's code cache ${kib(
        getCache(dataDir),
      )} (server bundle ${kib(join(dirname(cli), 'cli-serve.js'))}, loaded only by serve); median of ${RUNS} runs each:`,
    );
    cases.forEach(([name], c) => {
      const ms = median(times[c]!);
      console.log(
        `  ${name.padEnd(30)} ${ms.toFixed(0).padStart(5)} ms  ${(ms / base).toFixed(2)}×`,
      );
    });
    const ratio = median(times[2]!) / base;
    console.log(`  get vs node -e 0: ${ratio.toFixed(2)}× (target ≤ 2.5×)`);
    console.log(
      `  the CLI's own share of get (get minus the bare request): ${(
        median(times[2]!) - median(times[3]!)
      ).toFixed(0)} ms`,
    );
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runBench(main);
