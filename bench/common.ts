/** What the bench files share: how they run, and how kernel call series are reported. */

/** Runs a bench's `main` and exits: 0 when it finished, 1 with the error printed. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/** A secret's value as the kernel benches serve it. */
export const BENCH_VALUE = 'sk-bench-' + 'v'.repeat(48);

/** A series of calls measured in a kernel: latencies in µs, and calls per second. */
export interface CallFigures {
  p50: number;
  p99: number;
  rate: number;
}

/** One line of a CallFigures table. */
export const formatCalls = (f: CallFigures): string =>
  `p50 ${f.p50.toFixed(0).padStart(5)} µs   p99 ${f.p99.toFixed(0).padStart(6)} µs   ${f.rate
    .toFixed(0)
    .padStart(6)} calls/s`;
