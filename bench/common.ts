/**
 * What the bench files share: how they run, and for the kernel benches, the value served, the bare
 * baseline and how call series are reported.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

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

/**
 * A loopback HTTP server that answers every request with `value` as the broker would: the bare
 * baseline the kernel benches call the same way as the broker.
 */
export async function startEcho(value: string): Promise<{ port: number; close(): void }> {
  const body = JSON.stringify({ value, encoding: 'text' });
  const server = http.createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}
