// Local kernels, started the way the real Jupyter extension starts them: from the extension host,
// so each kernel's environment is the extension host's `process.env` at the moment the kernel
// starts (src/kernels/raw/launcher/kernelEnvVarsService.node.ts: `{ ...process.env }`, the kernel
// spec's env, and PYDEVD_IPYTHON_COMPATIBLE_DEBUGGING=1 for Python kernels). The real extension
// launches them raw over ZMQ by default, or through a Jupyter server it starts itself, writing that
// environment into the kernel spec at each start (src/kernels/jupyter/session/
// jupyterKernelService.node.ts, updateKernelEnvironment). The stand-in takes the second path: one
// Jupyter server per window, a child of the extension host on 127.0.0.1, whose kernel spec it
// rewrites before every kernel start. The Python comes from $NOTEBOOK_SECRETS_DEMO_PYTHON, else
// /usr/bin/python3 (Debian's, with ipykernel), else `python3`.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelManager, ServerConnection, type Kernel } from '@jupyterlab/services';
import { jupyterServerCommand } from '../../scripts/jupyterServer.mjs';

const SPEC_NAME = 'python3-demo';

export class LocalJupyter {
  private manager: Promise<KernelManager> | undefined;
  private child: ChildProcess | undefined;
  private readonly stateDir = mkdtempSync(join(tmpdir(), 'demo-jupyter-'));

  constructor(
    private readonly rootDir: () => string,
    private readonly log: (line: string) => void,
  ) {}

  private python(): string {
    return (
      process.env.NOTEBOOK_SECRETS_DEMO_PYTHON ??
      (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3')
    );
  }

  /** Starts a kernel whose environment is the extension host's, as of now. */
  async startKernel(): Promise<Kernel.IKernelConnection> {
    const manager = await this.ready();
    this.writeSpec();
    const kernel = await manager.startNew({ name: SPEC_NAME }, { handleComms: false });
    await kernel.info;
    return kernel;
  }

  private writeSpec(): void {
    const dir = join(this.stateDir, 'data', 'kernels', SPEC_NAME);
    mkdirSync(dir, { recursive: true });
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (typeof value === 'string') env[key] = value;
    }
    env.PYDEVD_IPYTHON_COMPATIBLE_DEBUGGING = '1';
    const spec = {
      argv: [this.python(), '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
      display_name: 'Python 3 (demo Jupyter)',
      language: 'python',
      env,
    };
    // The environment may name files the user cares about; keep the spec to this user.
    writeFileSync(join(dir, 'kernel.json'), JSON.stringify(spec, null, 2), { mode: 0o600 });
  }

  private ready(): Promise<KernelManager> {
    this.manager ??= this.startServer().catch((error: unknown) => {
      this.manager = undefined;
      throw error;
    });
    return this.manager;
  }

  private async startServer(): Promise<KernelManager> {
    const port = await freePort();
    const token = randomBytes(16).toString('hex');
    const { command, args, env } = jupyterServerCommand({
      python: this.python(),
      port,
      token,
      rootDir: this.rootDir(),
      stateDir: this.stateDir,
    });
    const child = spawn(command, args, {
      cwd: this.rootDir(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let output = '';
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-8000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const baseUrl = `http://127.0.0.1:${port}/`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the local Jupyter server exited:\n${output}`);
      const up = await fetch(`${baseUrl}api/status`, {
        headers: { Authorization: `token ${token}` },
      })
        .then((r) => r.ok)
        .catch(() => false);
      if (up) break;
      if (Date.now() > deadline)
        throw new Error(`the local Jupyter server did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    this.log(`local Jupyter server started (${this.python()})`);
    const serverSettings = ServerConnection.makeSettings({ baseUrl, token });
    const manager = new KernelManager({ serverSettings, standby: 'never' });
    await manager.ready;
    return manager;
  }

  dispose(): void {
    this.child?.kill('SIGTERM');
    this.child = undefined;
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
