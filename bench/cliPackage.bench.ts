/**
 * The npm package's start-up (npm run bench -- cli): `npm pack`, then `npm install -g` of the
 * tarball into an empty prefix (its dependencies from the registry, as a team installs it), then
 * wall times of the installed `notebook-secrets --version` and `get NAME`, run through the
 * package's bin as people run them, against a server the installed package serves (PGlite). Next
 * to them, in the same run and taken in turn: `node -e 0`, and the same two commands of the CLI
 * bundled in the repository (what `npm run bench -- cli`'s other part measures), so the ratios
 * say whether installing changes the start-up.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { bundleCli } from './cliBundle';
import { printTimes, startBenchServer, timeInTurn, type TimedCase } from './cliTimes';
import { runBench } from './common';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const ROOT = process.cwd();

function seconds(run: () => void): string {
  const start = process.hrtime.bigint();
  run();
  return `${(Number(process.hrtime.bigint() - start) / 1e9).toFixed(1)} s`;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'ns-bench-package-'));
  const home = join(work, 'home');
  mkdirSync(home);
  const prefix = join(work, 'prefix');
  let tarball = '';
  const packing = seconds(() => {
    const packed = execFileSync('npm', ['pack', '--pack-destination', work, '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [{ filename }] = JSON.parse(packed.slice(packed.indexOf('['))) as [{ filename: string }];
    tarball = join(work, filename);
  });
  const installing = seconds(() =>
    execFileSync(
      'npm',
      ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', tarball],
      { stdio: 'pipe' },
    ),
  );
  const bin = join(prefix, 'bin', 'notebook-secrets');
  const cli = await bundleCli('bench-cli-package');
  // The package's bin starts `node` from PATH: this one, as for the other cases.
  const server = await startBenchServer(bin, [], home);
  try {
    const node = process.execPath;
    const env = {
      ...server.env,
      PATH: [dirname(node), join(prefix, 'bin'), server.env.PATH].join(delimiter),
    };
    const cases: TimedCase[] = [
      ['node -e 0', node, ['-e', '0'], env],
      ['installed: notebook-secrets --version', bin, ['--version'], env],
      ['installed: notebook-secrets get API_KEY', bin, ['get', 'API_KEY'], env],
      ['repository bundle: --version', node, [cli, '--version'], env],
      ['repository bundle: get API_KEY', node, [cli, 'get', 'API_KEY'], env],
    ];
    const medians = timeInTurn(cases, RUNS);
    console.log(
      `npm package: ${(statSync(tarball).size / 1024).toFixed(0)} KiB packed in ${packing}, ` +
        `installed with its dependencies from the registry in ${installing}; the installed ` +
        `package served; median of ${RUNS} runs each:`,
    );
    printTimes(cases, medians);
    const ratio = (c: number) => (medians[c]! / medians[0]!).toFixed(2);
    console.log(
      `  installed vs repository bundle: --version ${ratio(1)}× vs ${ratio(3)}×, get ${ratio(2)}× vs ${ratio(4)}× node -e 0`,
    );
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

runBench(main);
