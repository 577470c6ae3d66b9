/** Real Jupyter server + ipykernel for the kernel integration tests and the benchmark. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KernelManager,
  ServerConnection,
  type Kernel,
  type KernelMessage,
} from '@jupyterlab/services';
import { jupyterServerCommand } from '../../../scripts/jupyterServer.mjs';

/** Debian's python3 has ipykernel; the pyenv python3 on PATH may not. */
export const SYSTEM_PYTHON = process.env.NOTEBOOK_SECRETS_TEST_PYTHON ?? '/usr/bin/python3';

export interface JupyterServer {
  baseUrl: string;
  token: string;
  settings: ServerConnection.ISettings;
  kernels: KernelManager;
  /** Everything the server printed so far (its log). */
  log(): string;
  /** The server's process id. */
  pid: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * `args`: more `jupyter_server` options (e.g. a higher IOPub rate limit for a benchmark); `env`:
 * more environment for the server and its kernels.
 */
export async function startJupyterServer(
  opts: { args?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<JupyterServer> {
  const dir = mkdtempSync(join(tmpdir(), 'nbsec-jupyter-'));
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const { command, args, env } = jupyterServerCommand({
    python: SYSTEM_PYTHON,
    port,
    token,
    rootDir: dir,
    stateDir: dir,
  });
  const child: ChildProcess = spawn(command, [...args, ...(opts.args ?? [])], {
    cwd: dir,
    env: { ...env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const baseUrl = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`jupyter_server exited:\n${output}`);
    try {
      const res = await fetch(`${baseUrl}api/status`, {
        headers: { Authorization: `token ${token}` },
      });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`jupyter_server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const settings = ServerConnection.makeSettings({ baseUrl, token });
  const kernels = new KernelManager({ serverSettings: settings, standby: 'never' });
  await kernels.ready;
  return {
    baseUrl,
    token,
    settings,
    kernels,
    log: () => output,
    pid: child.pid!,
    async stop() {
      kernels.dispose();
      child.kill('SIGTERM');
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          child.kill('SIGKILL');
          resolve();
        }, 5000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface CellResult {
  status: string;
  stdout: string;
  stderr: string;
  error?: { ename: string; evalue: string };
  /** Every IOPub message of this execution, as JSON text (for leak checks). */
  iopub: string[];
  /** The execute_reply, as JSON text (its payloads and user_expressions, for leak checks). */
  reply: string;
  result?: string;
}

/** Runs code as a cell and collects its outputs; `userExpressions` go with the request. */
export async function runCell(
  kernel: Kernel.IKernelConnection,
  code: string,
  opts: { userExpressions?: Record<string, string> } = {},
): Promise<CellResult> {
  const future = kernel.requestExecute({
    code,
    store_history: true,
    allow_stdin: false,
    ...(opts.userExpressions ? { user_expressions: opts.userExpressions } : {}),
  });
  const out: CellResult = { status: '', stdout: '', stderr: '', iopub: [], reply: '' };
  future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
    out.iopub.push(JSON.stringify(msg));
    const content = msg.content as Record<string, unknown>;
    if (msg.header.msg_type === 'stream') {
      if (content.name === 'stdout') out.stdout += String(content.text);
      else out.stderr += String(content.text);
    } else if (msg.header.msg_type === 'error') {
      out.error = { ename: String(content.ename), evalue: String(content.evalue) };
    } else if (msg.header.msg_type === 'execute_result') {
      out.result = String((content.data as Record<string, unknown>)['text/plain']);
    }
  };
  const reply = await future.done;
  out.reply = JSON.stringify(reply);
  out.status = reply.content.status;
  if (reply.content.status === 'error' && !out.error) {
    out.error = { ename: reply.content.ename, evalue: reply.content.evalue };
  }
  return out;
}

/** `name`: a kernelspec, `python3` (ipykernel) or `ir` (IRkernel, Debian's r-cran-irkernel). */
export async function startKernel(
  server: JupyterServer,
  name: 'python3' | 'ir' = 'python3',
): Promise<Kernel.IKernelConnection> {
  const kernel = await server.kernels.startNew({ name }, { handleComms: false });
  await kernel.info;
  return kernel;
}

/** `promise`, or a failure naming `what` if it has not settled after `ms` (far past when it should). */
export async function bounded<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`hung: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `probe` until it gives something other than undefined (errors count as not yet). */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
