/**
 * get_secret round trips from a real kernel: over the broker (Unix socket and 127.0.0.1) and in
 * band (IOPub request, stdin reply), next to a bare loopback HTTP echo called the same way from
 * the same kernel. Prints p50, p99, calls/s and the ratio broker/bare. Target: ratio ≤ 2 and
 * ≥ 2,000 sequential calls/s over the broker.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Kernel } from '@jupyterlab/services';
import { JupyterAttachment } from '../src/broker/jupyterAttachment';
import { BrokerServer } from '../src/broker/server';
import { injectBroker, startBroker } from '../test/integration/kernel/fixtures';
import { runCell, startJupyterServer, startKernel } from '../test/integration/kernel/harness';

const N_BROKER = 5000;
const N_INBAND = 1000;
const VALUE = 'sk-bench-' + 'v'.repeat(48);

interface Figures {
  p50: number;
  p99: number;
  rate: number;
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

async function measure(kernel: Kernel.IKernelConnection, setup: string, fn: string, n: number) {
  const r = await runCell(kernel, `${MEASURE}\n${setup}\n_measure(${fn}, ${n})`);
  if (r.error) throw new Error(`${r.error.ename}: ${r.error.evalue}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Figures;
}

async function startEcho(): Promise<{ port: number; close(): void }> {
  const body = JSON.stringify({ value: VALUE, encoding: 'text' });
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

const fmt = (f: Figures) =>
  `p50 ${f.p50.toFixed(0).padStart(5)} µs   p99 ${f.p99.toFixed(0).padStart(6)} µs   ${f.rate
    .toFixed(0)
    .padStart(6)} calls/s`;

async function main(): Promise<void> {
  const [server, fx, echo] = await Promise.all([startJupyterServer(), startBroker(), startEcho()]);
  fx.source.set('BENCH', VALUE);
  const tcpBroker = new BrokerServer({
    sessions: fx.sessions,
    handler: fx.handler,
    log: fx.log,
    listen: 'tcp',
  });
  await tcpBroker.start();
  const [kernel, inbandKernel] = await Promise.all([startKernel(server), startKernel(server)]);
  const attachment = new JupyterAttachment({
    baseUrl: server.baseUrl,
    token: server.token,
    helperSource: fx.helperSource,
    sessions: fx.sessions,
    handler: fx.handler,
    log: fx.log,
    kernelFilter: (m) => m.id === inbandKernel.id,
  });
  try {
    await injectBroker(fx, kernel, 'file:///bench.ipynb');
    await attachment.start();
    await attachment.whenInjected(inbandKernel.id);

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

    console.log(
      `kernel → get_secret round trips (${N_BROKER} sequential calls; in band ${N_INBAND})`,
    );
    console.log(`  bare HTTP echo, 127.0.0.1, keep-alive  ${fmt(bare)}`);
    console.log(`  broker, Unix socket                    ${fmt(unix)}`);
    console.log(`  broker, 127.0.0.1                      ${fmt(tcp)}`);
    console.log(`  in band (IOPub → stdin)                ${fmt(inband)}`);
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
  } finally {
    attachment.dispose();
    echo.close();
    await tcpBroker.stop();
    await fx.broker.stop();
    await server.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
