/**
 * What the bench files share: how they run, and for the kernel benches, the value served, the bare
 * baseline and how call series are reported.
 */
import type { Kernel } from '@jupyterlab/services';
import { spawn, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServerConfig } from '../src/server/server';
import { runCell } from '../test/integration/kernel/harness';

/** The middle of `samples` (the upper one of an even count). */
export function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

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

/**
 * Runs the bench file `file` again as a child in `role` (a server of its own, so that its work and
 * heap stay apart from the measuring process); resolves with the first line it prints.
 */
export function spawnRole(
  file: string,
  args: string[],
  stderr: 'ignore' | 'inherit' = 'inherit',
): Promise<{ line: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', stderr] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve({ line: line.trim(), proc });
    });
    proc.once('exit', (code) => reject(new Error(`bench role ${args[0]} exited with ${code}`)));
  });
}

/** What a bench's HTTP request brought: status, body text, its bytes, and milliseconds taken. */
export interface BenchReply {
  status: number;
  text: string;
  bytes: number;
  ms: number;
}

/** One HTTP request through `agent`, with a bearer token when given and `body` as JSON. */
export function benchRequest(
  agent: http.Agent,
  url: string,
  method: string,
  token?: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<BenchReply> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(payload
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const all = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            text: all.toString('utf8'),
            bytes: all.length,
            ms: performance.now() - start,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A team server's settings for the scale benches: loopback, no rate limit, no log. */
export function scaleServerConfig(
  dataDir: string,
  databaseUrl: string | undefined,
  key: string,
  adminToken: string,
): ServerConfig {
  return {
    dataDir,
    ...(databaseUrl !== undefined && { databaseUrl }),
    host: '127.0.0.1',
    port: 0,
    key,
    adminToken,
    maxValueBytes: 65_536,
    keepValues: 10,
    rateLimit: { perSecond: 0, burst: 0 },
    requestTimeoutMs: 120_000,
    logStream: false,
  };
}

const MEASURE = `
import time as _t, json as _j
def _measure(fn, n):
    for _ in range(min(200, n)): fn()
    ts = []
    t0 = _t.perf_counter()
    for _ in range(n):
        a = _t.perf_counter(); fn(); ts.append(_t.perf_counter() - a)
    total = _t.perf_counter() - t0
    ts.sort()
    print(_j.dumps({'p50': ts[n // 2] * 1e6, 'p99': ts[int(n * 0.99)] * 1e6, 'rate': n / total}))
`;

/** Runs `setup`, then `n` timed calls of `fn` (after a warm-up) in the kernel: p50, p99, rate. */
export async function measure(
  kernel: Kernel.IKernelConnection,
  setup: string,
  fn: string,
  n: number,
): Promise<CallFigures> {
  const r = await runCell(kernel, `${MEASURE}\n${setup}\n_measure(${fn}, ${n})`);
  if (r.error) throw new Error(`${r.error.ename}: ${r.error.evalue}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as CallFigures;
}
