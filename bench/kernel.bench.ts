/**
 * get_secret round trips from a real kernel: over the broker (Unix socket and 127.0.0.1) and in
 * band (IOPub request, stdin reply), next to a bare loopback HTTP echo called the same way from
 * the same kernel. Prints p50, p99, calls/s and the ratio broker/bare. Target: ratio ≤ 2 and
 * ≥ 2,000 sequential calls/s over the broker.
 *
 * Also: in band with a responder that stalls 100 ms on each request (as a slow store or a consent
 * prompt would), and how long `notebook-secrets attach` takes to exit after SIGTERM, next to a
 * bare Node process that exits on SIGTERM (target: attach under 1 s).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JupyterAttachment } from '../src/broker/jupyterAttachment';
import { SecretRequestHandler } from '../src/broker/requestHandler';
import { BrokerServer } from '../src/broker/server';
import { startKernelRig } from '../test/integration/kernel/fixtures';
import { startKernel } from '../test/integration/kernel/harness';
import { bundleCli } from './cliBundle';
import { BENCH_VALUE, formatCalls, measure, runBench, startEcho, median } from './common';

const N_BROKER = 5000;
const N_INBAND = 1000;
const N_STALLED = 40;
const STALL_MS = 100;
const N_SHUTDOWN = 5;
const VALUE = BENCH_VALUE;

/** Milliseconds from `signal` to the exit of a process that printed `ready` on stderr, n times. */
async function exitTimes(
  args: string[],
  ready: RegExp,
  signal: NodeJS.Signals,
  n: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (ready.test(err)) resolve();
      });
      child.once('exit', () => reject(new Error(`exited before it was ready:\n${err}`)));
    });
    const started = performance.now();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

const fmt = formatCalls;

async function main(): Promise<void> {
  const [rig, echo] = await Promise.all([startKernelRig(), startEcho(VALUE)]);
  const { server, fx } = rig;
  fx.source.set('BENCH', VALUE);
  const tcpBroker = new BrokerServer({
    sessions: fx.sessions,
    handler: fx.handler,
    log: fx.log,
    listen: 'tcp',
  });
  await tcpBroker.start();
  const [{ kernel }, inbandKernel, stalledKernel] = await Promise.all([
    rig.startInjected('python3', 'file:///bench.ipynb'),
    startKernel(server),
    startKernel(server),
  ]);
  // The same store, answering each request STALL_MS late.
  const stalledHandler = new SecretRequestHandler({
    source: {
      resolve: async (name, opts) => {
        await new Promise((r) => setTimeout(r, STALL_MS));
        return fx.source.resolve(name, opts);
      },
    },
    log: fx.log,
  });
  const stalled = new JupyterAttachment({
    ...rig.attachmentOptions(),
    handler: stalledHandler,
    kernelFilter: (m) => m.id === stalledKernel.id,
  });
  const attachment = new JupyterAttachment({
    ...rig.attachmentOptions(),
    kernelFilter: (m) => m.id === inbandKernel.id,
  });
  // The CLI's code cache (src/cli/bin.ts) goes here, not into the user's ~/.cache.
  const scratch = mkdtempSync(join(tmpdir(), 'ns-bench-kernel-'));
  try {
    await Promise.all([attachment.start(), stalled.start()]);
    await Promise.all([
      attachment.whenInjected(inbandKernel.id),
      stalled.whenInjected(stalledKernel.id),
    ]);

    const bare = await measure(
      kernel,
      [
        'import http.client as _h',
        `_c = _h.HTTPConnection('127.0.0.1', ${echo.port})`,
        "_hdr = {'Authorization': 'Bearer x', 'Content-Type': 'application/json'}",
        "def _bare():\n    _c.request('POST', '/v1/secret', b'{\"name\":\"BENCH\"}', _hdr); _c.getresponse().read()",
      ].join('\n'),
      '_bare',
      N_BROKER,
    );
    const unix = await measure(kernel, '', "lambda: get_secret('BENCH')", N_BROKER);
    const { token: tcpToken } = fx.sessions.issue('file:///bench.ipynb');
    const tcp = await measure(
      kernel,
      `import notebook_secrets as _ns\n_ns._configure(${JSON.stringify(tcpToken)}, endpoint=${JSON.stringify(tcpBroker.endpoint)})`,
      "lambda: get_secret('BENCH')",
      N_BROKER,
    );
    const inband = await measure(inbandKernel, '', "lambda: get_secret('BENCH')", N_INBAND);
    const inbandStalled = await measure(
      stalledKernel,
      '',
      "lambda: get_secret('BENCH')",
      N_STALLED,
    );

    const cli = await bundleCli('bench-kernel-cli');
    const secrets = join(scratch, 'secrets.json');
    writeFileSync(secrets, JSON.stringify({ BENCH: VALUE }), { mode: 0o600 });
    const attachExit = await exitTimes(
      [cli, 'attach', '--jupyter', server.baseUrl, '--secrets', secrets],
      /get_secret enabled in kernel[\s\S]*get_secret enabled in kernel[\s\S]*get_secret enabled in kernel/,
      'SIGTERM',
      N_SHUTDOWN,
      { ...process.env, JUPYTER_TOKEN: server.token, XDG_CACHE_HOME: scratch },
    );
    const bareExit = await exitTimes(
      [
        '-e',
        "process.on('SIGTERM', () => process.exit(0)); console.error('ready'); setInterval(() => {}, 1000)",
      ],
      /ready/,
      'SIGTERM',
      N_SHUTDOWN,
    );

    console.log(
      `kernel → get_secret round trips (${N_BROKER} sequential calls; in band ${N_INBAND})`,
    );
    console.log(`  bare HTTP echo, 127.0.0.1, keep-alive  ${fmt(bare)}`);
    console.log(`  broker, Unix socket                    ${fmt(unix)}`);
    console.log(`  broker, 127.0.0.1                      ${fmt(tcp)}`);
    console.log(`  in band (IOPub → stdin)                ${fmt(inband)}`);
    console.log(
      `  in band, responder stalls ${STALL_MS} ms       ${fmt(inbandStalled)}   (${N_STALLED} calls; p50 − stall = ${(inbandStalled.p50 / 1000 - STALL_MS).toFixed(1)} ms)`,
    );
    console.log(
      `  ratio broker/bare (p50): Unix ${(unix.p50 / bare.p50).toFixed(2)}, TCP ${(tcp.p50 / bare.p50).toFixed(2)}   (target ≤ 2)`,
    );
    console.log(
      `  ratio bare/broker (calls/s): Unix ${(bare.rate / unix.rate).toFixed(2)}, TCP ${(bare.rate / tcp.rate).toFixed(2)}`,
    );
    console.log(
      `  broker calls/s ≥ 2,000: ${unix.rate >= 2000 ? 'yes' : 'NO'} (Unix), ${tcp.rate >= 2000 ? 'yes' : 'NO'} (TCP)`,
    );
    console.log(
      `  in band / broker (p50): ${(inband.p50 / unix.p50).toFixed(1)}; in band is paced to ≤ 400 requests/s to stay under the Jupyter server's IOPub rate limit`,
    );
    const worst = (t: number[]) => t[t.length - 1]!;
    console.log(
      `attach exit after SIGTERM (3 kernels attached, ${N_SHUTDOWN} runs): median ${median(attachExit).toFixed(0)} ms, worst ${worst(attachExit).toFixed(0)} ms   (target < 1,000 ms)`,
    );
    console.log(
      `  bare Node process exit after SIGTERM: median ${median(bareExit).toFixed(0)} ms; ratio attach/bare (median) ${(median(attachExit) / median(bareExit)).toFixed(1)}`,
    );
  } finally {
    attachment.dispose();
    stalled.dispose();
    echo.close();
    await tcpBroker.stop();
    await rig.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

runBench(main);
