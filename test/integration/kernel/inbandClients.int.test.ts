/**
 * The in-band channel with real `notebook-secrets attach` processes on a real Jupyter server:
 * the kernel's frontends keep receiving its output whatever the responder does (resends, a pause,
 * gone), several responders on one server leave each other's kernels alone, and attach stops
 * promptly on SIGTERM/SIGINT. Frontends speak both kernel websocket protocols: the JSON one
 * (JupyterLab 3, Notebook 6: the server checks each message's signature, and refuses a repeat)
 * and v1.kernel.websocket.jupyter.org (the server relays messages as they are).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KernelManager,
  ServerConnection,
  type Kernel,
  type KernelMessage,
} from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JupyterAttachment } from '../../../src/broker/jupyterAttachment';
import { KernelSessions } from '../../../src/broker/kernelSessions';
import { SecretRequestHandler } from '../../../src/broker/requestHandler';
import { loadHelperSource } from '../../../src/broker/helperSource';
import { testCacheHome } from '../cliCache';
import { buildCliInto } from '../server/serverProcess';
import { canary, RecordingLog } from './fixtures';
import { runCell, startJupyterServer, startKernel, type JupyterServer, bounded } from './harness';
import { watchOutput } from './watchOutput';

const VALUES = { a: canary('a'), b: canary('b'), c: canary('c') };
/** Far above anything expected: a cell that has not finished by then is hung, not slow. */
const HUNG_MS = 30_000;

let server: JupyterServer;
let legacy: KernelManager;
let cli: string;
const dir = mkdtempSync(join(tmpdir(), 'nbsec-inband-'));
const running = new Set<AttachProcess>();

beforeAll(async () => {
  [server, cli] = await Promise.all([startJupyterServer(), buildCliInto('test-kernel-cli')]);
  // A websocket that offers no subprotocol gets the JSON protocol.
  const Base = ServerConnection.makeSettings().WebSocket;
  class JsonProtocolWebSocket extends Base {
    constructor(url: string | URL) {
      super(url);
    }
  }
  legacy = new KernelManager({
    serverSettings: ServerConnection.makeSettings({
      baseUrl: server.baseUrl,
      token: server.token,
      WebSocket: JsonProtocolWebSocket,
    }),
    standby: 'never',
  });
  await legacy.ready;
});
afterAll(async () => {
  legacy?.dispose();
  for (const p of running) p.child.kill('SIGKILL');
  await server?.stop();
});

interface AttachProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves once this process has injected the helper into `kernelId`. */
  injected(kernelId: string): Promise<void>;
  /** Sends `signal` and resolves with the milliseconds until the process exited, and its code. */
  stop(signal: NodeJS.Signals): Promise<{ ms: number; code: number | null }>;
}

/** Starts `notebook-secrets attach` serving X = `value`, on every kernel or only `kernels`. */
async function startAttach(value: string, kernels?: string[]): Promise<AttachProcess> {
  const file = join(dir, `secrets-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ X: value }), { mode: 0o600 });
  const child = spawn(
    process.execPath,
    [
      cli,
      'attach',
      '--jupyter',
      server.baseUrl,
      '--secrets',
      file,
      ...(kernels ? ['--kernel', ...kernels] : []),
    ],
    {
      env: { ...process.env, XDG_CACHE_HOME: testCacheHome(), JUPYTER_TOKEN: server.token },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const watched = watchOutput(child, HUNG_MS, 'attach');
  const p: AttachProcess = {
    child,
    output: watched.output,
    injected: (kernelId) => watched.until(`get_secret enabled in kernel ${kernelId}`),
    async stop(signal) {
      const started = performance.now();
      child.kill(signal);
      const code = await watched.exited;
      running.delete(p);
      return { ms: performance.now() - started, code };
    },
  };
  running.add(p);
  return p;
}

/** Runs a cell on the frontend's websocket; fails (rather than hangs) if output or idle never come. */
function frontendCell(kernel: Kernel.IKernelConnection, code: string) {
  return bounded(
    HUNG_MS,
    runCell(kernel, code),
    `cell ${JSON.stringify(code)} (no output or no idle)`,
  );
}

/** A kernel with two frontends: `json` speaks the JSON protocol, `v1` the v1 protocol. */
async function kernelWithFrontends(): Promise<{
  v1: Kernel.IKernelConnection;
  json: Kernel.IKernelConnection;
}> {
  const v1 = await startKernel(server);
  const json = legacy.connectTo({ model: v1.model, handleComms: false });
  await json.info;
  expect(json.connectionStatus).toBe('connected');
  return { v1, json };
}

/** Each frontend is live: a later cell's output and its idle status reach it. */
async function expectLive(...frontends: Kernel.IKernelConnection[]): Promise<void> {
  for (const kernel of frontends) {
    const r = await frontendCell(kernel, "print('still', 'live')");
    expect(r.stdout).toBe('still live\n');
  }
}

/** Every in-band request message the frontend sees on `kernel`'s IOPub. */
function watchRequests(kernel: Kernel.IKernelConnection) {
  const seen: { msgId: string; requestId: string }[] = [];
  const listener = (_: unknown, msg: KernelMessage.IIOPubMessage) => {
    if ((msg.header.msg_type as string) !== 'notebook_secrets_request') return;
    const request = (msg.content as { request: { id: string } }).request;
    seen.push({ msgId: msg.header.msg_id, requestId: request.id });
  };
  kernel.iopubMessage.connect(listener);
  return { seen, dispose: () => kernel.iopubMessage.disconnect(listener) };
}

/** Prints the length and the letter that tells which responder answered (CANARY_a_…, CANARY_b_…). */
const GET_X = "_x = get_secret('X'); print(len(_x), _x[7])";
const expected = (value: string) => `${value.length} ${value[7]}\n`;

const TRY_X = [
  'try:',
  "  print(len(get_secret('X')))",
  'except SecretsUnavailableError as e:',
  "  print(type(e).__name__, '|', e)",
].join('\n');

describe('a frontend of the kernel stays live', () => {
  it('when the helper resends: each resend is a new message and the server relays them all', async () => {
    const { v1: kernel, json } = await kernelWithFrontends();
    const attach = await startAttach(VALUES.a);
    try {
      await attach.injected(kernel.id);
      const requests = watchRequests(json);
      // Paused: the helper gets no acknowledgement and resends every second.
      attach.child.kill('SIGSTOP');
      const cell = frontendCell(json, GET_X);
      await bounded(
        HUNG_MS,
        (async () => {
          while (requests.seen.length < 2) await new Promise((r) => setTimeout(r, 100));
        })(),
        'a resend',
      );
      attach.child.kill('SIGCONT');
      expect((await cell).stdout).toBe(expected(VALUES.a));
      requests.dispose();
      expect(new Set(requests.seen.map((s) => s.msgId)).size).toBe(requests.seen.length);
      expect(new Set(requests.seen.map((s) => s.requestId)).size).toBe(1);
      await expectLive(json, kernel);
      expect(server.log()).not.toContain('Duplicate Signature');
    } finally {
      await attach.stop('SIGTERM');
      await kernel.shutdown();
    }
  });

  it('when the responder pauses for 3 s: the call still succeeds', async () => {
    const { v1: kernel, json } = await kernelWithFrontends();
    const attach = await startAttach(VALUES.a);
    try {
      await attach.injected(kernel.id);
      attach.child.kill('SIGSTOP');
      const cell = frontendCell(json, GET_X);
      await new Promise((r) => setTimeout(r, 3000));
      attach.child.kill('SIGCONT');
      expect((await cell).stdout).toBe(expected(VALUES.a));
      await expectLive(json, kernel);
      expect(server.log()).not.toContain('Duplicate Signature');
    } finally {
      await attach.stop('SIGTERM');
      await kernel.shutdown();
    }
  });

  it('when the responder is gone: the cell raises SecretsUnavailableError saying what to run', async () => {
    const { v1: kernel, json } = await kernelWithFrontends();
    const attach = await startAttach(VALUES.a);
    await attach.injected(kernel.id);
    // Gone without closing anything, as when its machine sleeps or the process is killed.
    await attach.stop('SIGKILL');
    try {
      const r = await frontendCell(json, TRY_X);
      expect(r.stdout).toMatch(
        /^SecretsUnavailableError \| No Notebook Secrets client answered this kernel within 5 s\. .*notebook-secrets attach/,
      );
      await expectLive(json, kernel);
      expect(server.log()).not.toContain('Duplicate Signature');
    } finally {
      await kernel.shutdown();
    }
  });

  it('when the responder leaves while working on a request: the cell raises instead of waiting 300 s', async () => {
    const { v1: kernel, json } = await kernelWithFrontends();
    let asked!: () => void;
    const working = new Promise<void>((resolve) => (asked = resolve));
    const log = new RecordingLog();
    // A store that never answers, as a consent prompt nobody answers.
    const handler = new SecretRequestHandler({
      source: { resolve: () => (asked(), new Promise(() => undefined)) },
      log,
    });
    const responder = new JupyterAttachment({
      baseUrl: server.baseUrl,
      token: server.token,
      helperSource: loadHelperSource(),
      sessions: new KernelSessions(),
      handler,
      log,
      kernelFilter: (m) => m.id === kernel.id,
    });
    try {
      await responder.start();
      await responder.whenInjected(kernel.id);
      const cell = frontendCell(json, TRY_X);
      await bounded(HUNG_MS, working, 'the request reaching the store');
      // Let the acknowledgement and a keep-alive reach the kernel (closing at once could drop
      // them in the server), then go: the keep-alives stop.
      await new Promise((r) => setTimeout(r, 1500));
      await responder.close();
      expect((await cell).stdout).toMatch(
        /^SecretsUnavailableError \| The Notebook Secrets client stopped answering this kernel/,
      );
      await expectLive(json, kernel);
    } finally {
      responder.dispose();
      await kernel.shutdown();
    }
  });
});

describe('several responders on one Jupyter server', () => {
  it('each serves its own kernels; after the newest leaves the earlier one takes over; a new one re-injects', async () => {
    const [k1, k2] = await Promise.all([startKernel(server), startKernel(server)]);
    // A on every kernel; B, started later, only on k2: k2's helper asks B first, and A (also
    // connected to k2) must leave those requests alone.
    const a = await startAttach(VALUES.a);
    await Promise.all([a.injected(k1.id), a.injected(k2.id)]);
    const b = await startAttach(VALUES.b, [k2.id]);
    await b.injected(k2.id);
    const loop = `for _ in range(20):\n  ${GET_X}`;
    try {
      const [r1, r2] = await Promise.all([frontendCell(k1, loop), frontendCell(k2, loop)]);
      expect(r1.stdout).toBe(expected(VALUES.a).repeat(20));
      expect(r2.stdout).toBe(expected(VALUES.b).repeat(20));

      // B leaves: k2's helper falls back to the token A injected, and A answers.
      await b.stop('SIGTERM');
      const r3 = await frontendCell(k2, loop);
      expect(r3.stdout).toBe(expected(VALUES.a).repeat(20));

      // C attaches to every kernel: its injection is the newest, so it answers both.
      const c = await startAttach(VALUES.c);
      await Promise.all([c.injected(k1.id), c.injected(k2.id)]);
      const [r4, r5] = await Promise.all([frontendCell(k1, loop), frontendCell(k2, loop)]);
      expect(r4.stdout).toBe(expected(VALUES.c).repeat(20));
      expect(r5.stdout).toBe(expected(VALUES.c).repeat(20));
      await c.stop('SIGTERM');
      await expectLive(k1);
      await expectLive(k2);
      expect(server.log()).not.toContain('Duplicate Signature');
      for (const p of [a, b, c]) expect(p.output()).not.toContain('not recognized');
    } finally {
      await a.stop('SIGTERM');
      await Promise.all([k1.shutdown(), k2.shutdown()]);
    }
  });
});

describe('attach stops promptly', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s: exits with 0 after closing its websockets (well under 5 s; the figure is in the bench)',
    async (signal) => {
      const kernel = await startKernel(server);
      const attach = await startAttach(VALUES.a);
      try {
        await attach.injected(kernel.id);
        const { ms, code } = await attach.stop(signal);
        expect(code).toBe(0);
        expect(ms).toBeLessThan(5000);
        expect(attach.output()).toContain(`Stopped on ${signal}`);
        expect(attach.output()).not.toContain('did not close in time');
        // The kernel lives on for its other clients.
        await expectLive(kernel);
      } finally {
        await kernel.shutdown();
      }
    },
  );
});
