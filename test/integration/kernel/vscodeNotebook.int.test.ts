/**
 * The VS Code side end to end, minus VS Code: registerNotebookSupport with a stand-in for the
 * vscode module and a stand-in for the Jupyter extension whose kernels forward to real kernels.
 * Checks the commands, the consent modal, re-injection after a restart, get_secret set up by itself
 * when the Jupyter extension reports a kernel start, and remote servers.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const ui = vi.hoisted(() => ({
  commands: new Map<string, (...args: unknown[]) => Promise<unknown>>(),
  warnings: [] as { message: string; detail?: string }[],
  consentAnswer: 'Always for This Notebook' as string | undefined,
  errors: [] as string[],
  infos: [] as string[],
  inputs: [] as (string | undefined)[],
  quickPicks: [] as (string | undefined)[],
  jupyter: undefined as unknown,
  activeNotebook: undefined as unknown,
  /** Settings under notebookSecrets. that a test changed; the others are at their default. */
  settings: new Map<string, unknown>(),
  /** Listeners of the Jupyter API's `kernels.onDidStart`. */
  kernelStarts: [] as ((e: unknown) => void)[],
  /** Server collections created in the Jupyter API (its kernel picker). */
  collections: [] as { id: string; provider: unknown; commandProvider?: unknown }[],
  /** Open notebooks. One is open, but not a Jupyter notebook: the kernel picker's collection waits for a notebook. */
  notebooks: [{ notebookType: 'interactive', uri: { toString: () => 'untitled:1' } }] as unknown[],
}));

vi.mock('vscode', () => {
  class Disposable {
    constructor(private readonly fn: () => void) {}
    dispose() {
      this.fn();
    }
  }
  class Uri {
    constructor(
      readonly scheme: string,
      readonly path: string,
    ) {}
    static parse(text: string) {
      const m = /^([a-z-]+):\/\/(.*)$/.exec(text);
      return new Uri(m?.[1] ?? 'file', m?.[2] ?? text);
    }
    toString() {
      return `${this.scheme}://${this.path}`;
    }
  }
  class CancellationTokenSource {
    token = {
      isCancellationRequested: false,
      onCancellationRequested: () => new Disposable(() => {}),
    };
    cancel() {
      this.token.isCancellationRequested = true;
    }
    dispose() {}
  }
  const none = () => new Disposable(() => {});
  class EventEmitter<T> {
    private listeners = new Set<(e: T) => void>();
    event = (listener: (e: T) => void) => {
      this.listeners.add(listener);
      return new Disposable(() => this.listeners.delete(listener));
    };
    fire(e: T) {
      for (const l of this.listeners) l(e);
    }
    dispose() {
      this.listeners.clear();
    }
  }
  return {
    Disposable,
    EventEmitter,
    Uri,
    CancellationTokenSource,
    CodeActionKind: { QuickFix: 'quickfix' },
    NotebookCellKind: { Markup: 1, Code: 2 },
    languages: { registerCodeActionsProvider: none },
    ProgressLocation: { Window: 10, Notification: 15 },
    workspace: {
      isTrusted: true,
      get notebookDocuments() {
        return ui.notebooks;
      },
      onDidOpenNotebookDocument: none,
      onDidCloseNotebookDocument: none,
      onDidGrantWorkspaceTrust: none,
      onDidChangeConfiguration: none,
      onDidChangeNotebookDocument: none,
      asRelativePath: (uri: { path: string }) => uri.path.split('/').pop(),
      // ui.settings are the user's settings.
      getConfiguration: () => ({
        get: <T>(key: string, fallback: T) =>
          ui.settings.has(key) ? (ui.settings.get(key) as T) : fallback,
        inspect: (key: string) => ({ key, globalValue: ui.settings.get(key) }),
      }),
    },
    window: {
      get activeNotebookEditor() {
        return ui.activeNotebook ? { notebook: ui.activeNotebook } : undefined;
      },
      withProgress: (_o: unknown, task: () => Promise<unknown>) => task(),
      showInformationMessage: async (m: string) => void ui.infos.push(m),
      showErrorMessage: async (m: string) => void ui.errors.push(m),
      showWarningMessage: async (message: string, options: { detail?: string }) => {
        ui.warnings.push({ message, detail: options?.detail });
        return ui.consentAnswer;
      },
      showInputBox: async () => ui.inputs.shift(),
      showQuickPick: async () => ui.quickPicks.shift(),
    },
    commands: {
      registerCommand: (id: string, fn: (...a: unknown[]) => Promise<unknown>) => {
        ui.commands.set(id, fn);
        return new Disposable(() => ui.commands.delete(id));
      },
      executeCommand: async () => undefined,
    },
    extensions: {
      getExtension: (id: string) =>
        id === 'ms-toolsai.jupyter' && ui.jupyter
          ? { isActive: true, exports: ui.jupyter }
          : undefined,
      onDidChange: none,
    },
  };
});

import type {
  JupyterServer as PickerServer,
  JupyterServerProvider,
  Kernel as JupyterKernel,
  KernelStatus,
} from '@vscode/jupyter-extension';
import type { Kernel } from '@jupyterlab/services';
import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import { buildInjectionCode } from '../../../src/broker/injection';
import { NotebookChoiceStore } from '../../../src/extension/needs/notebookChoiceStore';
import { registerCommand } from '../../../src/extension/registerCommand';
import { registerNotebookSupport } from '../../../src/extension/kernels/notebookSupport';
import { canary, MapSource, MemoryState, RecordingLog, sha256 } from './fixtures';
import { runCell, startJupyterServer, startKernel, type JupyterServer } from './harness';

/** What the Jupyter extension's kernels API gives an extension, backed by a real kernel. */
class StandInKernel implements JupyterKernel {
  language = 'python';
  private listeners = new Set<(s: KernelStatus) => void>();
  constructor(private readonly real: Kernel.IKernelConnection) {
    real.statusChanged.connect((_, s) => {
      for (const l of this.listeners) l(s as KernelStatus);
    });
  }
  get status(): KernelStatus {
    return this.real.status as KernelStatus;
  }
  onDidChangeStatus = (listener: (s: KernelStatus) => void) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };
  executeCode(code: string) {
    const real = this.real;
    return (async function* () {
      let stdout = '';
      const future = real.requestExecute({ code, store_history: false });
      future.onIOPub = (msg) => {
        const content = msg.content as { name?: string; text?: string };
        if (msg.header.msg_type === 'stream' && content.name === 'stdout') stdout += content.text;
      };
      const reply = await future.done;
      if (stdout) {
        const data = new TextEncoder().encode(stdout);
        yield { items: [{ mime: 'application/vnd.code.notebook.stdout', data }] };
      }
      if (reply.content.status === 'error') {
        const data = new TextEncoder().encode(
          JSON.stringify({ name: reply.content.ename, message: reply.content.evalue }),
        );
        yield { items: [{ mime: 'application/vnd.code.notebook.error', data }] };
      }
    })();
  }
}

/** A cancellation token never cancelled. */
const none = {
  isCancellationRequested: false,
  onCancellationRequested: () => ({ dispose() {} }),
} as never;
const VALUE = canary('vscode');
const REMOTE_VALUE = canary('remote');
let server: JupyterServer;
let kernel: Kernel.IKernelConnection;
let registration: ReturnType<typeof registerNotebookSupport>;
const channel = {
  debug: (m: string) => log.debug(m),
  info: (m: string) => log.info(m),
  warn: (m: string) => log.warn(m),
  error: (m: string) => log.error(m),
  trace: () => {},
  show: () => {},
} as never;
const log = new RecordingLog();
const source = new MapSource();
const secrets = new Map<string, string>();
/** Kernels the Jupyter API hands out by notebook, besides the first one. */
const userStarted = new Map<string, JupyterKernel>();

beforeAll(async () => {
  server = await startJupyterServer();
  kernel = await startKernel(server);
  source.set('API_KEY', VALUE);
  source.set('REMOTE_KEY', REMOTE_VALUE);
  const standIn = new StandInKernel(kernel);
  ui.jupyter = {
    kernels: {
      getKernel: async (uri: vscode.Uri) => userStarted.get(uri.toString()) ?? standIn,
      onDidStart: (listener: (e: unknown) => void) => {
        ui.kernelStarts.push(listener);
        return { dispose: () => ui.kernelStarts.splice(ui.kernelStarts.indexOf(listener), 1) };
      },
    },
    createJupyterServerCollection: (id: string, _label: string, provider: unknown) => {
      const collection = { id, provider, commandProvider: undefined, dispose: () => {} };
      ui.collections.push(collection);
      return collection;
    },
  };
  ui.activeNotebook = { uri: vscode.Uri.parse('file:///work/analysis.ipynb') };
  const choiceStore = new NotebookChoiceStore({ info: (m: string) => log.info(m) } as never);
  registration = registerNotebookSupport({
    context: {
      globalState: new MemoryState(),
      secrets: {
        get: async (k: string) => secrets.get(k),
        store: async (k: string, v: string) => void secrets.set(k, v),
        delete: async (k: string) => void secrets.delete(k),
      },
      extensionPath: process.cwd(),
    } as never,
    source,
    choices: choiceStore,
    secretNames: () => [],
    log: channel,
  });
  // The extension's root registers every command through its one wrapper; so does this test.
  for (const [id, handler] of Object.entries(registration.commands)) {
    registerCommand(id, handler, channel);
  }
});

afterAll(async () => {
  registration?.dispose();
  await server?.stop();
});

describe('VS Code notebook support', () => {
  it('enables get_secret from the command, asks consent once, and serves the cell', async () => {
    await ui.commands.get('notebookSecrets.enableGetSecret')!();
    expect(ui.errors).toEqual([]);
    expect(ui.infos.pop()).toMatch(/get_secret is enabled/);
    const code =
      "import hashlib\nfor _ in range(50): v = get_secret('API_KEY')\nprint(hashlib.sha256(v.encode()).hexdigest())";
    expect((await runCell(kernel, code)).stdout.trim()).toBe(sha256(VALUE));
    expect(ui.warnings).toHaveLength(1);
    expect(ui.warnings[0]).toMatchObject({ message: "Allow the secret 'API_KEY'?" });
    expect(ui.warnings[0]!.detail).toMatch(/^Asked by analysis\.ipynb\./);
  });

  it('re-enables get_secret by itself after the kernel restarts', async () => {
    await kernel.restart();
    await vi.waitFor(
      async () => {
        const r = await runCell(kernel, "print(len(get_secret('API_KEY')))");
        expect(r.stdout.trim()).toBe(String(VALUE.length));
      },
      { timeout: 20_000, interval: 500 },
    );
    // "Always for This Notebook" survives the restart: no second prompt.
    expect(ui.warnings).toHaveLength(1);
  });

  it('sets up get_secret by itself when the Jupyter extension starts or restarts a kernel', async () => {
    const started = await startKernel(server);
    const standIn = new StandInKernel(started);
    const announce = async () => {
      // As the Jupyter extension does: user code waits for what waitUntil was given.
      const waits: Thenable<unknown>[] = [];
      const event = {
        uri: vscode.Uri.parse('file:///work/auto.ipynb'),
        kernel: standIn,
        waitUntil: (t: Thenable<unknown>) => void waits.push(t),
      };
      for (const listener of ui.kernelStarts) listener(event);
      await Promise.all(waits);
    };
    const warnings = ui.warnings.length;
    await announce();
    const code =
      "import hashlib\nprint(hashlib.sha256(get_secret('API_KEY').encode()).hexdigest())";
    expect((await runCell(started, code)).stdout.trim()).toBe(sha256(VALUE));
    expect(ui.warnings.slice(warnings).map((w) => w.message)).toEqual([
      "Allow the secret 'API_KEY'?",
    ]);
    expect(ui.infos.filter((m) => /get_secret is enabled/.test(m))).toEqual([]);

    await started.restart();
    await announce();
    await vi.waitFor(
      async () => expect((await runCell(started, code)).stdout.trim()).toBe(sha256(VALUE)),
      { timeout: 20_000, interval: 500 },
    );
    expect(ui.warnings.length).toBe(warnings + 1);
    await started.shutdown();
  });

  it("sets up get_secret from a local kernel's first cell, through the environment it inherits", async () => {
    // What the Jupyter extension does for a local kernel: it starts it with the environment of
    // the extension host (here, this process) and sets __vsc_ipynb_file__ before any cell runs.
    expect(process.env.NOTEBOOK_SECRETS_VSCODE_CLAIM).toBeTruthy();
    const local = await startJupyterServer();
    try {
      const started = await startKernel(local);
      const uri = vscode.Uri.parse('file:///work/first-cell.ipynb');
      ui.notebooks.push({
        notebookType: 'jupyter-notebook',
        uri: { ...uri, fsPath: '/work/first-cell.ipynb', toString: () => uri.toString() },
      });
      userStarted.set(uri.toString(), new StandInKernel(started));
      await runCell(started, '__vsc_ipynb_file__ = "/work/first-cell.ipynb"');
      ui.consentAnswer = 'Allow Once';
      const warnings = ui.warnings.length;
      const first = await runCell(
        started,
        "from notebook_secrets import get_secret\nimport os\nprint(len(get_secret('API_KEY')), 'NOTEBOOK_SECRETS_VSCODE_CLAIM' in os.environ)",
      );
      expect(first.error).toBeUndefined();
      expect(first.stdout.trim()).toBe(`${VALUE.length} False`);
      expect(ui.warnings.slice(warnings).map((w) => w.message)).toEqual([
        "Allow the secret 'API_KEY'?",
      ]);
      // After the cell, the set-up through the Jupyter API checks the claim and keeps the module.
      await ui.commands.get('notebookSecrets.enableGetSecret')!(uri);
      expect(ui.errors).toEqual([]);
      const again = await runCell(started, "print(len(get_secret('API_KEY')))");
      expect(again.stdout.trim()).toBe(String(VALUE.length));
      expect(log.lines.join('\n')).not.toMatch(/A process other than the kernel/);
      await started.shutdown();
    } finally {
      ui.notebooks.pop();
      ui.consentAnswer = 'Always for This Notebook';
      await local.stop();
    }
  });

  it("runs a Colab notebook's first cell unchanged, with its environment set, from kernel start", async () => {
    // The start-up file in PYTHONSTARTUP installs the helper's hooks as the kernel starts.
    expect(process.env.PYTHONSTARTUP).toMatch(/notebook_secrets_startup\.py$/);
    const local = await startJupyterServer();
    try {
      const started = await startKernel(local);
      const uri = vscode.Uri.parse('file:///work/colab.ipynb');
      ui.notebooks.push({
        notebookType: 'jupyter-notebook',
        uri: { ...uri, fsPath: '/work/colab.ipynb', toString: () => uri.toString() },
        metadata: {
          metadata: {
            notebook_secrets: { serve_platform_calls: true, environment: ['API_KEY'] },
          },
        },
      });
      userStarted.set(uri.toString(), new StandInKernel(started));
      // As the Jupyter extension does, silently, before handing out the kernel.
      await started.requestExecute({
        code: '__vsc_ipynb_file__ = "/work/colab.ipynb"',
        silent: true,
      }).done;
      ui.consentAnswer = 'Allow Once';
      const warnings = ui.warnings.length;
      const first = await runCell(
        started,
        "from google.colab import userdata\nimport hashlib, os, sys\nprint(hashlib.sha256(userdata.get('API_KEY').encode()).hexdigest(), hashlib.sha256(os.environ['API_KEY'].encode()).hexdigest(), 'google.colab' in sys.modules, os.environ.get('PYTHONSTARTUP'))",
      );
      expect(first.error).toBeUndefined();
      expect(first.stdout.trim()).toBe(`${sha256(VALUE)} ${sha256(VALUE)} False None`);
      // One dialog, for the environment; the same answer serves userdata.get.
      expect(ui.warnings.slice(warnings).map((w) => w.message)).toEqual([
        "Allow the secret 'API_KEY' in the kernel's environment?",
      ]);
      await started.shutdown();
    } finally {
      ui.notebooks.pop();
      ui.consentAnswer = 'Always for This Notebook';
      await local.stop();
    }
  });

  it('connects a remote Jupyter server and answers its kernels in band, with consent', async () => {
    const remoteKernel = await startKernel(server);
    ui.inputs.push(`${server.baseUrl}lab?token=${server.token}`);
    ui.consentAnswer = 'Deny';
    await ui.commands.get('notebookSecrets.addJupyterServer')!();
    expect(ui.errors).toEqual([]);
    expect(ui.infos.pop()).toMatch(
      /^Connected to http:\/\/127\.0\.0\.1:\d+\/: get_secret is enabled/,
    );
    expect([...secrets.values()]).toEqual([server.token]);
    await vi.waitFor(
      async () => {
        const r = await runCell(
          remoteKernel,
          "try:\n  get_secret('REMOTE_KEY')\nexcept PermissionError as e:\n  print(type(e).__name__)",
        );
        expect(r.stdout.trim()).toBe('SecretAccessError');
      },
      { timeout: 20_000, interval: 500 },
    );
    expect(ui.warnings.at(-1)!.message).toBe("Allow the secret 'REMOTE_KEY'?");

    // VS Code also sets up kernels it starts on that server (auto-enable), with a broker endpoint
    // only this machine has: the server's in-band answer stays the fallback.
    const elsewhere = buildInjectionCode({
      helperSource: readFileSync('python/notebook_secrets.py', 'utf8'),
      token: 'a-token-of-another-machines-broker',
      endpoint: 'unix:/nonexistent/notebook-secrets/broker.sock',
      inband: false,
    });
    expect((await runCell(remoteKernel, elsewhere)).error).toBeUndefined();
    const r = await runCell(
      remoteKernel,
      "try:\n  get_secret('REMOTE_KEY')\nexcept PermissionError as e:\n  print(type(e).__name__)",
    );
    expect(r.stdout.trim()).toBe('SecretAccessError');

    // The Jupyter extension's kernel picker lists the same server, ready to connect: no second entry.
    const [collection] = ui.collections as {
      provider: JupyterServerProvider;
    }[];
    const listed = (await collection!.provider.provideJupyterServers(none)) as PickerServer[];
    expect(listed.map((s) => s.id)).toEqual([server.baseUrl]);
    const info = listed[0]!.connectionInformation!;
    const status = await fetch(new URL('api/kernels', info.baseUrl.toString()), {
      headers: { Authorization: `token ${info.token}` },
    });
    expect(status.status).toBe(200);
    expect(((await status.json()) as { id: string }[]).map((k) => k.id)).toContain(remoteKernel.id);
  });

  it('redacts served values in remote kernels unless the setting turns it off', async () => {
    ui.consentAnswer = 'Allow Once';
    const print = "print('key=' + get_secret('REMOTE_KEY'))";
    const served = async (k: Kernel.IKernelConnection) => {
      let out = '';
      await vi.waitFor(
        async () => {
          const r = await runCell(k, print);
          out = r.stdout;
          expect(out).toMatch(/^key=/);
        },
        { timeout: 20_000, interval: 500 },
      );
      return out;
    };
    const redacting = await startKernel(server);
    expect(await served(redacting)).toBe('key=[secret REMOTE_KEY]\n');
    ui.settings.set('redactOutputs', false);
    try {
      // Applies to the kernels enabled from now on.
      const plain = await startKernel(server);
      expect(await served(plain)).toBe(`key=${REMOTE_VALUE}\n`);
      expect(await served(redacting)).toBe('key=[secret REMOTE_KEY]\n');
    } finally {
      ui.settings.delete('redactOutputs');
    }
  });

  it('removing the server removes it from the kernel picker too', async () => {
    const [collection] = ui.collections as { provider: JupyterServerProvider }[];
    let told = 0;
    collection!.provider.onDidChangeServers!(() => told++);
    ui.quickPicks.push(server.baseUrl);
    await ui.commands.get('notebookSecrets.removeJupyterServer')!();
    expect(told).toBe(1);
    expect(await collection!.provider.provideJupyterServers(none)).toEqual([]);
  });

  it('shows an actionable error when the Jupyter extension is missing', async () => {
    const saved = ui.jupyter;
    ui.jupyter = undefined;
    try {
      await ui.commands.get('notebookSecrets.enableGetSecret')!();
      expect(ui.errors.pop()).toMatch(/needs the Jupyter extension \(ms-toolsai\.jupyter\)/);
    } finally {
      ui.jupyter = saved;
    }
  });

  it('never logs a value', () => {
    const text = log.lines.join('\n') + server.log();
    expect(text).not.toContain(VALUE);
    expect(text).not.toContain(REMOTE_VALUE);
  });
});
