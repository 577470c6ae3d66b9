import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';

// A small stand-in for the parts of the vscode module this feature touches.
const state = vi.hoisted(() => ({
  trusted: true,
  notebooks: [] as { uri: { toString(): string; fsPath: string }; notebookType: string }[],
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
      get notebookDocuments() {
        return state.notebooks;
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

import { ConsentPolicy } from '../../../../src/broker/consent';
import { KernelSessions } from '../../../../src/broker/kernelSessions';
import { getJupyterApi } from '../../../../src/extension/kernels/jupyterApi';
import { LocalKernels } from '../../../../src/extension/kernels/localKernels';
import { FakeJupyter, FakeKernel } from '../../fakes/jupyter';

const notebook = { uri: { toString: () => 'file:///work/a.ipynb' } } as unknown as Parameters<
  LocalKernels['enable']
>[0];
let kernel: FakeKernel;
let jupyter: FakeJupyter;
let sessions: KernelSessions;
let consent: ConsentPolicy;
let local: LocalKernels;
const logLines: string[] = [];

let foreignClaims: string[];
let claimsAllowed: boolean;

beforeEach(() => {
  state.trusted = true;
  state.closeListeners = [];
  state.notebooks = [
    {
      uri: { toString: () => 'file:///work/a.ipynb', fsPath: '/work/a.ipynb' },
      notebookType: 'jupyter-notebook',
    },
  ];
  foreignClaims = [];
  claimsAllowed = true;
  kernel = new FakeKernel();
  jupyter = new FakeJupyter();
  jupyter.getKernel = async () => kernel;
  sessions = new KernelSessions();
  const data = new Map<string, unknown>();
  consent = new ConsentPolicy({
    state: { get: (k) => data.get(k) as never, update: async (k, v) => void data.set(k, v) },
    ask: async () => 'deny',
  });
  local = new LocalKernels({
    sessions,
    consent,
    ensureBroker: async () => 'unix:/tmp/nbsec-x/broker.sock',
    helperSource: () => '# helper source\n',
    ensureTcpBroker: async () => 'http://127.0.0.1:4321',
    rHelperSource: () => '# R helper source\n',
    log: { info: (m: string) => logLines.push(m), warn: (m: string) => logLines.push(m) } as never,
    jupyter: async () => jupyter,
    claimsAllowed: () => claimsAllowed,
    onForeignClaim: (label) => foreignClaims.push(label),
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
    jupyter.getKernel = async () => undefined;
    await expect(local.enable(notebook)).rejects.toThrow(/kernel is not running yet.*run any cell/);
  });

  it('explains that the Jupyter extension refused kernel access', async () => {
    jupyter.getKernel = async () => {
      throw new Error('Access to Jupyter Kernel has been revoked');
    };
    await expect(local.enable(notebook)).rejects.toThrow(
      /refused access .*Manage Access To Jupyter Kernels/,
    );
  });

  it('injects the R helper with the broker loopback TCP endpoint into an R kernel', async () => {
    kernel.language = 'R';
    await local.enable(notebook);
    const code = kernel.executed[0]!;
    expect(code).toContain('attach(NULL, name = "notebook_secrets"');
    expect(code).toContain(JSON.stringify('# R helper source\n'));
    expect(code).not.toContain('# helper source');
    const token = /\.configure\("([^"]+)", endpoint = "http:\/\/127\.0\.0\.1:4321"\)/.exec(
      code,
    )?.[1];
    expect(sessions.lookup(token ?? '')?.notebook).toBe('file:///work/a.ipynb');
  });

  it('refuses a kernel that is neither Python nor R', async () => {
    kernel.language = 'julia';
    await expect(local.enable(notebook)).rejects.toThrow(/needs a Python or R kernel; .* julia/);
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
    jupyter.getKernel = async () => {
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

  it('sets up an R kernel with the R helper', async () => {
    kernel.language = 'R';
    expect(await local.enableStarted(notebook, kernel)).toBe(true);
    expect(kernel.executed[0]).toContain('attach(NULL, name = "notebook_secrets"');
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
    const kernels = {};
    state.jupyterExtension = { isActive: false, activate: async () => ({ kernels }) };
    expect((await getJupyterApi()).kernels).toBe(kernels);
  });
});

describe('a kernel that sets up get_secret from its first call (a claim)', () => {
  const sha256 = (t: string) => createHash('sha256').update(t).digest('hex');
  /** The token a claim got, or the refusal's message. */
  async function claim(file = '/work/a.ipynb'): Promise<string> {
    const answer = await local.claim(file);
    return 'token' in answer ? answer.token : `refused: ${answer.error.message}`;
  }

  it('gives the open notebook whose kernel runs a cell a token of its own, once', async () => {
    kernel.status = 'busy';
    const token = await claim();
    expect(sessions.lookup(token)?.notebook).toBe('file:///work/a.ipynb');
    expect(local.isSetUp(notebook.uri)).toBe(false);
    expect(await claim()).toMatch(/^refused: Another process already set up get_secret/);
  });

  it("waits for the kernel's busy status, which may come after the claim", async () => {
    kernel.status = 'idle';
    const pending = claim();
    setTimeout(() => kernel.setStatus('busy'), 50);
    expect(await pending).not.toMatch(/^refused/);
  });

  it('refuses a claim for a notebook not open here, an idle kernel, or with auto-enable off', async () => {
    kernel.status = 'busy';
    expect(await claim('/work/other.ipynb')).toMatch(/^refused: .*not open in the VS Code window/);
    kernel.status = 'idle';
    expect(await claim()).toMatch(/^refused: get_secret can set itself up only from a cell/);
    jupyter.getKernel = async () => undefined;
    kernel.status = 'busy';
    expect(await claim()).toMatch(/^refused: get_secret can set itself up only from a cell/);
    jupyter.getKernel = async () => kernel;
    claimsAllowed = false;
    expect(await claim()).toMatch(/^refused: .*autoEnable is off/);
    claimsAllowed = true;
    state.trusted = false;
    expect(await claim()).toMatch(/^refused: .*untrusted workspace/);
    expect(sessions.size).toBe(0);
  });

  it('checks the claim at the next set-up through the Jupyter API, and replaces the token', async () => {
    kernel.status = 'busy';
    const claimed = await claim();
    kernel.status = 'idle';
    kernel.stdout = 'notebook_secrets: claim held\n';
    expect(await local.enableStarted(notebook, kernel)).toBe(true);
    const code = kernel.executed[0]!;
    expect(code).toContain(sha256(claimed));
    expect(code).not.toContain(claimed);
    const fresh = tokenOf(code);
    expect(fresh).not.toBe(claimed);
    expect(sessions.lookup(claimed)).toBeUndefined();
    expect(sessions.lookup(fresh)?.notebook).toBe('file:///work/a.ipynb');
    expect(local.isSetUp(notebook.uri)).toBe(true);
    expect(foreignClaims).toEqual([]);
  });

  it('takes a claim made while its set-up waits behind the running cell, then checks it', async () => {
    // The Jupyter extension runs our code only after the cell that is running now.
    let release!: () => void;
    const queued = new Promise<void>((r) => (release = r));
    const execute = kernel.executeCode.bind(kernel);
    kernel.executeCode = (code: string) => {
      const run = execute(code);
      return (async function* () {
        await queued;
        yield* run;
      })();
    };
    kernel.status = 'busy';
    const setUp = local.enableStarted(notebook, kernel);
    const claimed = await claim();
    expect(sessions.lookup(claimed)).toBeDefined();
    kernel.stdout = 'notebook_secrets: claim held\n';
    release();
    await setUp;
    await vi.waitFor(() => expect(kernel.executed).toHaveLength(2));
    expect(kernel.executed[1]).toContain(sha256(claimed));
    await vi.waitFor(() => expect(sessions.lookup(claimed)).toBeUndefined());
    expect(local.isSetUp(notebook.uri)).toBe(true);
    expect(foreignClaims).toEqual([]);
  });

  it('reports a claim the kernel does not hold, and cuts it off', async () => {
    kernel.status = 'busy';
    const claimed = await claim();
    kernel.status = 'idle';
    kernel.stdout = 'notebook_secrets: claim missing\n';
    await local.enableStarted(notebook, kernel);
    expect(sessions.lookup(claimed)).toBeUndefined();
    expect(foreignClaims).toEqual(['a.ipynb']);
    expect(logLines.at(-2)).toMatch(/A process other than the kernel of a\.ipynb claimed/);
  });

  it('a Deny in the Jupyter extension ends the claimed token, and later claims say how to allow it', async () => {
    kernel.status = 'busy';
    const claimed = await claim();
    kernel.status = 'idle';
    const revoked = new Error('Access to Jupyter Kernel has been revoked');
    revoked.name = 'vscode.jupyter.apiAccessRevoked';
    kernel.refuse = revoked;
    await expect(local.enableStarted(notebook, kernel)).rejects.toThrow(
      /Manage Access To Jupyter Kernels/,
    );
    expect(sessions.lookup(claimed)).toBeUndefined();
    kernel.status = 'busy';
    expect(await claim()).toMatch(
      /^refused: VS Code's Jupyter extension denied Notebook Secrets access .*'Jupyter: Manage Access To Jupyter Kernels', then run the cell again/,
    );
    // Allowed again: the next set-up works, and so do claims after a restart.
    kernel.refuse = undefined;
    kernel.status = 'idle';
    await local.enable(notebook);
    kernel.setStatus('restarting');
    kernel.status = 'busy';
    expect(await claim()).not.toMatch(/^refused/);
  });
});
