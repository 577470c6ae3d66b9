import { beforeEach, describe, expect, it, vi } from 'vitest';

// A small stand-in for the parts of the vscode module this feature touches.
const state = vi.hoisted(() => ({
  trusted: true,
  closeListeners: [] as ((doc: { uri: { toString(): string } }) => void)[],
  jupyterExtension: undefined as unknown,
}));
vi.mock('vscode', () => {
  class CancellationTokenSource {
    token = { isCancellationRequested: false };
    cancel() {
      this.token.isCancellationRequested = true;
    }
    dispose() {}
  }
  return {
    workspace: {
      get isTrusted() {
        return state.trusted;
      },
      onDidCloseNotebookDocument: (l: (doc: { uri: { toString(): string } }) => void) => {
        state.closeListeners.push(l);
        return { dispose() {} };
      },
      asRelativePath: (uri: { path: string }) => uri.path.split('/').pop(),
    },
    Uri: {
      parse: (s: string) => ({ scheme: s.split(':')[0], path: s.replace(/^[a-z]+:\/\//, '') }),
    },
    extensions: { getExtension: () => state.jupyterExtension },
    commands: { executeCommand: vi.fn() },
    CancellationTokenSource,
  };
});

import type { Jupyter, Kernel, KernelStatus } from '@vscode/jupyter-extension';
import { ConsentPolicy } from '../../../src/broker/consent';
import { KernelSessions } from '../../../src/broker/kernelSessions';
import { getJupyterApi } from '../../../src/extension/notebooks/jupyterApi';
import { LocalKernels } from '../../../src/extension/notebooks/localKernels';

class FakeKernel implements Kernel {
  status: KernelStatus = 'idle';
  language = 'python';
  executed: string[] = [];
  failWith: { name: string; message: string } | undefined;
  private listeners: ((s: KernelStatus) => void)[] = [];
  onDidChangeStatus = (l: (s: KernelStatus) => void) => {
    this.listeners.push(l);
    return { dispose: () => (this.listeners = this.listeners.filter((x) => x !== l)) };
  };
  setStatus(s: KernelStatus) {
    this.status = s;
    for (const l of this.listeners) l(s);
  }
  executeCode(code: string) {
    this.executed.push(code);
    const fail = this.failWith;
    return (async function* () {
      if (fail) {
        yield {
          items: [
            {
              mime: 'application/vnd.code.notebook.error',
              data: new TextEncoder().encode(JSON.stringify(fail)),
            },
          ],
        };
      }
    })();
  }
}

const notebook = { uri: { toString: () => 'file:///work/a.ipynb' } } as unknown as Parameters<
  LocalKernels['enable']
>[0];
let kernel: FakeKernel;
let getKernel: (uri: unknown) => Promise<Kernel | undefined>;
let sessions: KernelSessions;
let consent: ConsentPolicy;
let local: LocalKernels;
const logLines: string[] = [];

beforeEach(() => {
  state.trusted = true;
  state.closeListeners = [];
  kernel = new FakeKernel();
  getKernel = async () => kernel;
  sessions = new KernelSessions();
  const data = new Map<string, unknown>();
  consent = new ConsentPolicy({
    state: { get: (k) => data.get(k) as never, update: async (k, v) => void data.set(k, v) },
    ask: async () => 'deny',
  });
  const jupyter = { kernels: { getKernel: (u: unknown) => getKernel(u) } } as unknown as Jupyter;
  local = new LocalKernels({
    sessions,
    consent,
    ensureBroker: async () => 'unix:/tmp/nbsec-x/broker.sock',
    helperSource: () => '# helper source\n',
    log: { info: (m: string) => logLines.push(m), warn: (m: string) => logLines.push(m) } as never,
    jupyter: async () => jupyter,
  });
});

function tokenOf(code: string): string {
  return /_configure\("([^"]+)"/.exec(code)![1]!;
}

describe('Enable get_secret for a local notebook', () => {
  it('injects the helper with the broker endpoint and a kernel token registered for the notebook', async () => {
    await local.enable(notebook);
    expect(kernel.executed).toHaveLength(1);
    const code = kernel.executed[0]!;
    expect(code).toContain('endpoint="unix:/tmp/nbsec-x/broker.sock"');
    expect(code).toContain('inband=False');
    expect(sessions.lookup(tokenOf(code))?.notebook).toBe('file:///work/a.ipynb');
    expect(local.isEnabled(notebook.uri)).toBe(true);
  });

  it('re-injects after a restart with the same token, and forgets "Allow once" answers', async () => {
    await local.enable(notebook);
    const forget = vi.spyOn(consent, 'forgetSession');
    kernel.setStatus('restarting');
    kernel.setStatus('starting');
    kernel.setStatus('idle');
    await vi.waitFor(() => expect(kernel.executed).toHaveLength(2));
    expect(tokenOf(kernel.executed[1]!)).toBe(tokenOf(kernel.executed[0]!));
    expect(forget).toHaveBeenCalledTimes(1);
    kernel.setStatus('busy');
    kernel.setStatus('idle');
    expect(kernel.executed).toHaveLength(2);
  });

  it('revokes the token when the notebook closes or the kernel dies', async () => {
    await local.enable(notebook);
    const token = tokenOf(kernel.executed[0]!);
    state.closeListeners.forEach((l) => l({ uri: { toString: () => 'file:///work/a.ipynb' } }));
    expect(sessions.lookup(token)).toBeUndefined();
    await local.enable(notebook);
    const second = tokenOf(kernel.executed[1]!);
    kernel.setStatus('dead');
    expect(sessions.lookup(second)).toBeUndefined();
  });

  it('refuses in an untrusted workspace', async () => {
    state.trusted = false;
    await expect(local.enable(notebook)).rejects.toThrow(/untrusted workspace: trust this folder/);
    expect(kernel.executed).toHaveLength(0);
  });

  it('explains a kernel that is not started yet', async () => {
    getKernel = async () => undefined;
    await expect(local.enable(notebook)).rejects.toThrow(/kernel is not running yet.*run any cell/);
  });

  it('explains that the Jupyter extension refused kernel access', async () => {
    getKernel = async () => {
      throw new Error('Access to Jupyter Kernel has been revoked');
    };
    await expect(local.enable(notebook)).rejects.toThrow(
      /refused access .*Manage Access To Jupyter Kernels/,
    );
  });

  it('refuses a non-Python kernel', async () => {
    kernel.language = 'julia';
    await expect(local.enable(notebook)).rejects.toThrow(/needs a Python kernel; .* julia/);
  });

  it('reports a Python error raised by the setup, and leaves the notebook disabled', async () => {
    kernel.failWith = { name: 'ImportError', message: 'no module named base64' };
    await expect(local.enable(notebook)).rejects.toThrow(
      'Enabling get_secret failed in the kernel: ImportError: no module named base64',
    );
    expect(local.isEnabled(notebook.uri)).toBe(false);
    expect(sessions.size).toBe(0);
  });
});

describe('a kernel started by the Jupyter extension (auto-enable)', () => {
  it('sets up get_secret once per kernel, with the kernel it was handed', async () => {
    getKernel = async () => {
      throw new Error('not asked: the start event names the kernel');
    };
    expect(await local.enableStarted(notebook, kernel)).toBe(true);
    expect(await local.enableStarted(notebook, kernel)).toBe(false);
    expect(kernel.executed).toHaveLength(1);
    expect(local.isEnabled(notebook.uri)).toBe(true);
  });

  it('sets up a new kernel of the same notebook with a new token, revoking the old one', async () => {
    await local.enableStarted(notebook, kernel);
    const old = tokenOf(kernel.executed[0]!);
    const next = new FakeKernel();
    expect(await local.enableStarted(notebook, next)).toBe(true);
    expect(sessions.lookup(old)).toBeUndefined();
    expect(sessions.lookup(tokenOf(next.executed[0]!))?.notebook).toBe('file:///work/a.ipynb');
  });

  it('leaves kernels of other languages alone', async () => {
    kernel.language = 'julia';
    expect(await local.enableStarted(notebook, kernel)).toBe(false);
    expect(kernel.executed).toHaveLength(0);
  });
});

describe('the Jupyter extension', () => {
  it('offers to install it when it is missing', async () => {
    state.jupyterExtension = undefined;
    await expect(getJupyterApi()).rejects.toMatchObject({
      message: expect.stringMatching(/needs the Jupyter extension \(ms-toolsai\.jupyter\)/),
      actions: [expect.objectContaining({ title: 'Install Jupyter' })],
    });
  });

  it('activates it when installed but inactive', async () => {
    const api = { kernels: {} };
    state.jupyterExtension = { isActive: false, activate: async () => api };
    expect(await getJupyterApi()).toBe(api);
  });
});
