/**
 * Output redaction in a real kernel: the wall time of a cell printing 1,000 lines and 10 MB of
 * text (until the frontend has every output and the kernel is idle), in a kernel where no value
 * was served (no redaction hook: the baseline), one value served, and 1,000 values served.
 * Prints each as a ratio against the baseline. Target: ≤ 1.5 for 10 MB with one value.
 */
import type { Kernel } from '@jupyterlab/services';
import { injectBroker, startBroker } from '../test/integration/kernel/fixtures';
import { runCell, startJupyterServer, startKernel } from '../test/integration/kernel/harness';
import { runBench } from './common';

const N_VALUES = 1000;
const VALUE = (i: number) => `sk-bench-${String(i).padStart(4, '0')}-${'v'.repeat(40)}`;
const SMALL = 'for i in range(1000):\n    print(i, "a line of ordinary output, no value in it")';
// 10,000 lines of 1,000 characters plus newline: 10 MB.
const LARGE = 'line = "x" * 999\nfor i in range(10000):\n    print(line)';

async function wall(kernel: Kernel.IKernelConnection, code: string, expectBytes: number) {
  const started = performance.now();
  const r = await runCell(kernel, code);
  const ms = performance.now() - started;
  if (r.error) throw new Error(`${r.error.ename}: ${r.error.evalue}`);
  if (r.stdout.length < expectBytes) throw new Error(`output lost: ${r.stdout.length} bytes`);
  return ms;
}

async function median(
  kernel: Kernel.IKernelConnection,
  code: string,
  expectBytes: number,
  runs: number,
) {
  await wall(kernel, code, expectBytes); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    times.push(await wall(kernel, code, expectBytes));
    process.stderr.write(` ${times[i]!.toFixed(0)}`);
  }
  process.stderr.write(' ms\n');
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function main(): Promise<void> {
  const [server, fx] = await Promise.all([
    // The default IOPub data rate limit (1 MB/s) would pause a 10 MB output and time the pause.
    startJupyterServer({ args: ['--ServerApp.iopub_data_rate_limit=1e12'] }),
    startBroker(),
  ]);
  for (let i = 0; i < N_VALUES; i++) fx.source.set(`V${i}`, VALUE(i));
  try {
    const [plain, redacting] = await Promise.all([startKernel(server), startKernel(server)]);
    await injectBroker(fx, plain, 'file:///bench-plain.ipynb');
    await injectBroker(fx, redacting, 'file:///bench-redacting.ipynb');
    await runCell(redacting, "_v = get_secret('V0')");

    const figures: [string, number, number][] = [];
    const smallBase = await median(plain, SMALL, 40_000, 9);
    const smallOne = await median(redacting, SMALL, 40_000, 9);
    const largeBase = await median(plain, LARGE, 10_000_000, 3);
    const largeOne = await median(redacting, LARGE, 10_000_000, 3);
    const served = await runCell(redacting, `for _i in range(${N_VALUES}): get_secret('V%d' % _i)`);
    if (served.error) throw new Error(served.error.evalue);
    const smallMany = await median(redacting, SMALL, 40_000, 9);
    const largeMany = await median(redacting, LARGE, 10_000_000, 3);
    figures.push(
      ['print 1,000 lines, 1 value served', smallOne, smallBase],
      [`print 1,000 lines, ${N_VALUES} values served`, smallMany, smallBase],
      ['print 10 MB, 1 value served', largeOne, largeBase],
      [`print 10 MB, ${N_VALUES} values served`, largeMany, largeBase],
    );
    console.log('output redaction: cell wall time, redacting kernel / kernel without the hook');
    console.log(
      `  baseline: 1,000 lines ${smallBase.toFixed(0)} ms, 10 MB ${largeBase.toFixed(0)} ms`,
    );
    for (const [label, ms, base] of figures) {
      console.log(
        `  ${label.padEnd(36)} ${ms.toFixed(0).padStart(6)} ms   ratio ${(ms / base).toFixed(2)}`,
      );
    }
    console.log('  target: ratio ≤ 1.5 for 10 MB');
  } finally {
    await fx.broker.stop();
    await server.stop();
  }
}

runBench(main);
