/**
 * Output redaction in real kernels, Python (ipykernel) then R (IRkernel): the wall time of a
 * cell printing 1,000 lines and 10 MB of text (until the frontend has every output and the
 * kernel is idle), in a kernel where no value was served (no redaction work: the baseline), one
 * value served, and 1,000 values served; the two kernels run the cell in turn. The values are
 * random characters, as the keys of different providers are, so that no two start alike. Prints
 * each as a ratio against the baseline measured in the same rounds. Target: ≤ 1.5 for 10 MB.
 */
import { createHash } from 'node:crypto';
import type { Kernel } from '@jupyterlab/services';
import {
  startKernelRig,
  type KernelLanguage,
  type KernelRig,
} from '../test/integration/kernel/fixtures';
import { runCell } from '../test/integration/kernel/harness';
import { runBench, median } from './common';

const N_VALUES = 1000;
// Random characters, as real keys of different providers are: no two values start alike.
const VALUE = (i: number) =>
  createHash('sha256').update(String(i)).digest('base64url').slice(0, 40);

interface Language {
  label: string;
  kernel: KernelLanguage;
  small: string;
  large: string;
  /** A cell that prints the value of `name` as the kernel returns it. */
  print(name: string): string;
  /** A cell that reads the first `n` values. */
  serve(n: number): string;
  runs: { small: number; large: number };
}

const LANGUAGES: Language[] = [
  {
    label: 'Python',
    kernel: 'python3',
    small: 'for i in range(1000):\n    print(i, "a line of ordinary output, no value in it")',
    // 10,000 lines of 1,000 characters plus newline: 10 MB.
    large: 'line = "x" * 999\nfor i in range(10000):\n    print(line)',
    print: (name) => `print(get_secret('${name}'))`,
    serve: (n) => `for _i in range(${n}): get_secret('V%d' % _i)`,
    runs: { small: 9, large: 5 },
  },
  {
    label: 'R',
    kernel: 'ir',
    small: 'for (i in 1:1000) cat(i, "a line of ordinary output, no value in it\\n")',
    large: 'line <- strrep("x", 999)\nfor (i in 1:10000) cat(line, "\\n", sep = "")',
    print: (name) => `cat(get_secret("${name}"), "\\n")`,
    serve: (n) => `for (i in seq_len(${n}) - 1L) get_secret(sprintf("V%d", i))`,
    runs: { small: 5, large: 5 },
  },
];

async function wall(kernel: Kernel.IKernelConnection, code: string, expectBytes: number) {
  const started = performance.now();
  const r = await runCell(kernel, code);
  const ms = performance.now() - started;
  if (r.error) throw new Error(`${r.error.ename}: ${r.error.evalue}`);
  if (r.stdout.length < expectBytes) throw new Error(`output lost: ${r.stdout.length} bytes`);
  return ms;
}

/** The figures mean something only if the kernel under test does redact: check it does. */
async function redacts(kernel: Kernel.IKernelConnection, lang: Language, i: number) {
  const r = await runCell(kernel, lang.print(`V${i}`));
  if (!r.stdout.includes(`[secret V${i}]`) || r.stdout.includes(VALUE(i)))
    throw new Error(`the ${lang.label} kernel did not redact V${i}`);
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
  process.stderr.write(' ms (without/with redaction)\n');
  return [median(times[0]), median(times[1])];
}

async function measure(rig: KernelRig, lang: Language): Promise<void> {
  const [{ kernel: plain }, { kernel: redacting }] = await Promise.all([
    rig.startInjected(lang.kernel, `file:///bench-plain-${lang.kernel}.ipynb`),
    rig.startInjected(lang.kernel, `file:///bench-redacting-${lang.kernel}.ipynb`),
  ]);
  try {
    await redacts(redacting, lang, 0);
    const { small, large, runs } = lang;
    const [smallBase, smallOne] = await pair(plain, redacting, small, 40_000, runs.small);
    const [largeBase, largeOne] = await pair(plain, redacting, large, 10_000_000, runs.large);
    const served = await runCell(redacting, lang.serve(N_VALUES));
    if (served.error) throw new Error(served.error.evalue);
    await redacts(redacting, lang, N_VALUES - 1);
    const [smallBase2, smallMany] = await pair(plain, redacting, small, 40_000, runs.small);
    const [largeBase2, largeMany] = await pair(plain, redacting, large, 10_000_000, runs.large);
    const figures: [string, number, number][] = [
      ['print 1,000 lines, 1 value served', smallOne, smallBase],
      [`print 1,000 lines, ${N_VALUES} values served`, smallMany, smallBase2],
      ['print 10 MB, 1 value served', largeOne, largeBase],
      [`print 10 MB, ${N_VALUES} values served`, largeMany, largeBase2],
    ];
    console.log(
      `${lang.label}: cell wall time, redacting kernel / kernel without a value served (same rounds)`,
    );
    console.log(
      `  baseline: 1,000 lines ${smallBase.toFixed(0)} ms, 10 MB ${largeBase.toFixed(0)} ms`,
    );
    for (const [label, ms, base] of figures) {
      console.log(
        `  ${label.padEnd(36)} ${ms.toFixed(0).padStart(6)} ms   ratio ${(ms / base).toFixed(2)}`,
      );
    }
  } finally {
    await Promise.all([plain.shutdown(), redacting.shutdown()]);
  }
}

async function main(): Promise<void> {
  // The default IOPub data rate limit (1 MB/s) would pause a 10 MB output and time the pause.
  const rig = await startKernelRig({ serverArgs: ['--ServerApp.iopub_data_rate_limit=1e12'] });
  for (let i = 0; i < N_VALUES; i++) rig.fx.source.set(`V${i}`, VALUE(i));
  try {
    for (const lang of LANGUAGES) await measure(rig, lang);
    console.log('  target: ratio ≤ 1.5 for 10 MB');
  } finally {
    await rig.stop();
  }
}

runBench(main);
