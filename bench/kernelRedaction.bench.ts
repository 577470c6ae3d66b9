/**
 * Output redaction in a real kernel: the wall time of a cell printing 1,000 lines and 10 MB of
 * text (until the frontend has every output and the kernel is idle), in a kernel where no value
 * was served (no redaction hook: the baseline), one value served, and 1,000 values served; the
 * two kernels run the cell in turn. Prints each as a ratio against the baseline measured in the
 * same rounds. Target: ≤ 1.5 for 10 MB.
 */
import type { Kernel } from '@jupyterlab/services';
import { startKernelRig } from '../test/integration/kernel/fixtures';
import { runCell } from '../test/integration/kernel/harness';
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

/** The figures mean something only if the kernel under test does redact: check it does. */
async function redacts(kernel: Kernel.IKernelConnection, name: string) {
  const r = await runCell(kernel, `print(get_secret('${name}'))`);
  if (!r.stdout.includes(`[secret ${name}]`) || r.stdout.includes('sk-bench-'))
    throw new Error(`the kernel did not redact ${name}`);
}

/**
 * Medians of the same cell in the kernel without the hook and in the redacting one, run in turn
 * (one, then the other) so that the load of a shared machine weighs on both alike.
 */
async function pair(
  plain: Kernel.IKernelConnection,
  redacting: Kernel.IKernelConnection,
  code: string,
  expectBytes: number,
  runs: number,
): Promise<[number, number]> {
  await wall(plain, code, expectBytes); // warm-up
  await wall(redacting, code, expectBytes);
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < runs; i++) {
    times[0].push(await wall(plain, code, expectBytes));
    times[1].push(await wall(redacting, code, expectBytes));
    process.stderr.write(` ${times[0][i]!.toFixed(0)}/${times[1][i]!.toFixed(0)}`);
  }
  process.stderr.write(' ms (without/with the hook)\n');
  const median = (t: number[]) => [...t].sort((x, y) => x - y)[Math.floor(t.length / 2)]!;
  return [median(times[0]), median(times[1])];
}

async function main(): Promise<void> {
  // The default IOPub data rate limit (1 MB/s) would pause a 10 MB output and time the pause.
  const rig = await startKernelRig({ serverArgs: ['--ServerApp.iopub_data_rate_limit=1e12'] });
  for (let i = 0; i < N_VALUES; i++) rig.fx.source.set(`V${i}`, VALUE(i));
  try {
    const [{ kernel: plain }, { kernel: redacting }] = await Promise.all([
      rig.startInjected('python3', 'file:///bench-plain.ipynb'),
      rig.startInjected('python3', 'file:///bench-redacting.ipynb'),
    ]);
    await runCell(redacting, "_v = get_secret('V0')");
    await redacts(redacting, 'V0');

    const figures: [string, number, number][] = [];
    const [smallBase, smallOne] = await pair(plain, redacting, SMALL, 40_000, 9);
    const [largeBase, largeOne] = await pair(plain, redacting, LARGE, 10_000_000, 5);
    const served = await runCell(redacting, `for _i in range(${N_VALUES}): get_secret('V%d' % _i)`);
    if (served.error) throw new Error(served.error.evalue);
    await redacts(redacting, `V${N_VALUES - 1}`);
    const [smallBase2, smallMany] = await pair(plain, redacting, SMALL, 40_000, 9);
    const [largeBase2, largeMany] = await pair(plain, redacting, LARGE, 10_000_000, 5);
    figures.push(
      ['print 1,000 lines, 1 value served', smallOne, smallBase],
      [`print 1,000 lines, ${N_VALUES} values served`, smallMany, smallBase2],
      ['print 10 MB, 1 value served', largeOne, largeBase],
      [`print 10 MB, ${N_VALUES} values served`, largeMany, largeBase2],
    );
    console.log(
      'output redaction: cell wall time, redacting kernel / kernel without the hook (same rounds)',
    );
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
    await rig.stop();
  }
}

runBench(main);
