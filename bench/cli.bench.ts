/**
 * CLI start-up benchmark (npm run bench -- cli): wall time of `notebook-secrets --version` and of
 * one `notebook-secrets get NAME` against a local server (PGlite), next to `node -e 0` measured in
 * the same run, as medians of runs taken in turn, and as ratios to `node -e 0`, with the same
 * request made by a bare node:http script (what the server's answer costs), and `get` without the
 * code cache. Target: `get` within 2.5× `node -e 0`.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { bundleCli } from './cliBundle';
import { printTimes, startBenchServer, timeInTurn, type TimedCase } from './cliTimes';
import { runBench } from './common';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);

const kib = (file: string): string => `${(statSync(file).size / 1024).toFixed(0)} KiB`;

/** The code cache `get` runs from (see src/cli/bin.ts). */
function getCache(home: string): string {
  const dir = join(home, '.cache', 'notebook-secrets', 'compile');
  const name = readdirSync(dir).find((f) => f.endsWith('.get.cache'));
  if (!name) throw new Error(`no code cache for get in ${dir}`);
  return join(dir, name);
}

async function main(): Promise<void> {
  const cli = await bundleCli('bench-cli');
  const home = mkdtempSync(join(tmpdir(), 'ns-bench-cli-'));
  const server = await startBenchServer(process.execPath, [cli], home);
  try {
    const { env } = server;
    const node = process.execPath;
    // The same request made by a bare node:http script: Node's start plus the server's answer,
    // the floor under which no CLI `get` can go.
    const floor = `require('node:http').get(process.env.NOTEBOOK_SECRETS_SERVER + '/v1/resolve/API_KEY', { headers: { authorization: 'Bearer ' + process.env.NOTEBOOK_SECRETS_TOKEN } }, (r) => { if (r.statusCode !== 200) process.exit(1); r.resume(); })`;
    // Each command run keeps V8's compiled code in HOME's cache (src/cli/bin.ts); `get` without
    // it shows what the cache saves.
    const noCache = { ...env, NOTEBOOK_SECRETS_COMPILE_CACHE: '0' };
    const cases: TimedCase[] = [
      ['node -e 0', node, ['-e', '0'], env],
      ['notebook-secrets --version', node, [cli, '--version'], env],
      ['notebook-secrets get API_KEY', node, [cli, 'get', 'API_KEY'], env],
      ['node: the same request, bare', node, ['-e', floor], env],
      ['get API_KEY, no code cache', node, [cli, 'get', 'API_KEY'], noCache],
    ];
    const medians = timeInTurn(cases, RUNS);
    console.log(
      `CLI: loader ${kib(cli)}, bundle ${kib(join(dirname(cli), 'cli-main.js'))}, get's code cache ${kib(
        getCache(home),
      )} (server bundle ${kib(join(dirname(cli), 'cli-serve.js'))}, loaded only by serve); median of ${RUNS} runs each:`,
    );
    printTimes(cases, medians);
    console.log(`  get vs node -e 0: ${(medians[2]! / medians[0]!).toFixed(2)}× (target ≤ 2.5×)`);
    console.log(
      `  the CLI's own share of get (get minus the bare request): ${(
        medians[2]! - medians[3]!
      ).toFixed(0)} ms`,
    );
  } finally {
    await server.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

runBench(main);
