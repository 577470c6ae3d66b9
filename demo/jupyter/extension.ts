// The demo's Jupyter: a stand-in for the VS Code Jupyter extension (ms-toolsai.jupyter), which
// code-server cannot install (it has no access to Microsoft's marketplace). `npm start` and the e2e
// suite install it into their code-server next to Notebook Secrets; the published .vsix never has it.
// It keeps the real extension's contract with a third-party extension, refusals included (each
// behaviour names the real source file it follows; docs/architecture.md lists them):
//   - a NotebookController for `jupyter-notebook` ("Python 3 (demo Jupyter)") whose local kernels
//     start from the extension host with its environment (localServer.ts);
//   - before a kernel is handed to anyone, the extension's own start-up code runs silently in it:
//     `__vsc_ipynb_file__` set to the notebook's path, then the user's `jupyter.runStartupCommands`
//     (src/kernels/kernel.ts, gatherInternalStartupCode and getUserStartupCommands);
//   - the exported API answers each caller with an API of its own (caller.ts):
//     `kernels.getKernel(uri)` returns a kernel only once the user started it — by running a cell or
//     restarting it — never one the extension started ahead (pre-warmed); reading
//     `kernels.onDidStart` throws "Proposed API is not supported for extension …" for every
//     extension but the Jupyter extension itself, ms-toolsai.datawrangler and the publisher
//     donjayamanne (src/standalone/api/kernels/index.ts);
//   - a kernel's `executeCode` asks the user for kernel access first (kernelAccess.ts).
// $NOTEBOOK_SECRETS_DEMO_JUPYTER_PROPOSED_API=1 gives every extension `onDidStart`, as the real one
// gives it to the extensions it allows: fired ({uri, kernel, token, waitUntil}) when a kernel the
// user started has run its start-up code, and after each restart; the first cell waits for what
// listeners hand to waitUntil.
// $NOTEBOOK_SECRETS_DEMO_OPEN, a path relative to the workspace folder, names a notebook to open
// when the window starts (the demo's getting-started notebook); with it set, the notebook's kernel
// is started ahead, as the real extension pre-warms kernels.
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import type {
  Jupyter,
  Kernel as ApiKernel,
  KernelStatus,
  Kernels,
} from '@vscode/jupyter-extension';
import * as vscode from 'vscode';
import { callerExtensionId, JUPYTER_EXTENSION_ID } from './caller';
import { KernelAccess, KernelAccessRevoked } from './kernelAccess';
import { LocalJupyter } from './localServer';

const NOTEBOOK_TYPE = 'jupyter-notebook';
const ERROR_MIME = 'application/vnd.code.notebook.error';
// src/platform/common/constants.ts: who may use the proposed kernel API.
const PROPOSED_API_EXTENSIONS = [JUPYTER_EXTENSION_ID, 'ms-toolsai.datawrangler'];
const PROPOSED_API_PUBLISHERS = ['donjayamanne'];

let log: vscode.LogOutputChannel;
let local: LocalJupyter;
let access: KernelAccess;
const kernels = new Map<string, Promise<StandInKernel>>();

interface KernelStart<K = ApiKernel> {
  uri: vscode.Uri;
  kernel: K;
  token: vscode.CancellationToken;
  waitUntil(thenable: Thenable<unknown>): void;
}
const starts = new vscode.EventEmitter<KernelStart<StandInKernel>>();

export function activate(context: vscode.ExtensionContext): Jupyter {
  log = vscode.window.createOutputChannel('Jupyter (demo)', { log: true });
  access = new KernelAccess(context.secrets, log);
  local = new LocalJupyter(
    () => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd(),
    (line) => log.info(line),
  );
  const controller = vscode.notebooks.createNotebookController(
    'demo-jupyter-python3',
    NOTEBOOK_TYPE,
    'Python 3 (demo Jupyter)',
  );
  controller.supportedLanguages = ['python'];
  controller.supportsExecutionOrder = true;
  controller.description = 'Notebook Secrets demo: local Python kernels';
  controller.executeHandler = async (cells, notebook) => {
    for (const cell of cells) await runCell(controller, notebook, cell);
  };
  controller.interruptHandler = async (notebook) => {
    await (await kernels.get(notebook.uri.toString()))?.real.interrupt();
  };
  const prefer = (notebook: vscode.NotebookDocument) => {
    if (notebook.notebookType !== NOTEBOOK_TYPE) return;
    controller.updateNotebookAffinity(notebook, vscode.NotebookControllerAffinity.Preferred);
    // The demo's notebook: started ahead, as the real extension pre-warms a kernel. Pre-warmed
    // kernels are not the user's: the API hands them out only once a cell ran.
    if (process.env.NOTEBOOK_SECRETS_DEMO_OPEN) kernelFor(notebook).catch(() => undefined);
  };
  vscode.workspace.notebookDocuments.forEach(prefer);
  context.subscriptions.push(
    log,
    controller,
    starts,
    access,
    { dispose: () => local.dispose() },
    vscode.workspace.onDidOpenNotebookDocument(prefer),
    controller.onDidChangeSelectedNotebooks(({ notebook, selected }) => {
      if (selected) kernelFor(notebook).catch(() => undefined);
    }),
    vscode.workspace.onDidCloseNotebookDocument((notebook) => shutDown(notebook.uri.toString())),
    // The real extension's toolbar "Restart" (without its confirmation): a new kernel process.
    vscode.commands.registerCommand('jupyter.restartkernel', async (arg?: unknown) => {
      const uri =
        (arg as { notebookEditor?: { notebookUri?: vscode.Uri } } | undefined)?.notebookEditor
          ?.notebookUri ?? vscode.window.activeNotebookEditor?.notebook.uri;
      const kernel = uri && (await kernels.get(uri.toString())?.catch(() => undefined));
      if (!kernel) return;
      await kernel.restart(uri);
    }),
    vscode.commands.registerCommand('jupyter.manageAccessToKernels', () => access.manage()),
  );
  void openDemoNotebook();
  // As the real extension's `kernels` getter: an API of its own for each calling extension.
  const api = {
    get kernels(): Kernels {
      return kernelsApiFor(callerExtensionId());
    },
  };
  return api as Pick<Jupyter, 'kernels'> as Jupyter;
}

function proposedApiAllowed(extensionId: string): boolean {
  return (
    process.env.NOTEBOOK_SECRETS_DEMO_JUPYTER_PROPOSED_API === '1' ||
    PROPOSED_API_EXTENSIONS.includes(extensionId) ||
    PROPOSED_API_PUBLISHERS.includes(extensionId.split('.')[0] ?? '')
  );
}

function kernelsApiFor(extensionId: string): Kernels {
  return {
    async getKernel(uri: vscode.Uri) {
      const kernel = await kernels.get(uri.toString())?.catch(() => undefined);
      // "We are only interested in returning kernels that have been started by the user."
      if (!kernel || !kernel.userStarted) return undefined;
      return kernel.apiFor(extensionId);
    },
    get onDidStart(): vscode.Event<KernelStart> {
      if (!proposedApiAllowed(extensionId)) {
        throw new Error(`Proposed API is not supported for extension ${extensionId}`);
      }
      return (listener, thisArgs, disposables) =>
        starts.event(
          (e) => {
            listener.call(thisArgs, { ...e, kernel: e.kernel.apiFor(extensionId) });
          },
          undefined,
          disposables,
        );
    },
  } as Kernels;
}

/** Opens the notebook named by $NOTEBOOK_SECRETS_DEMO_OPEN, once per window. */
async function openDemoNotebook(): Promise<void> {
  const relative = process.env.NOTEBOOK_SECRETS_DEMO_OPEN;
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!relative || !folder) return;
  const uri = vscode.Uri.joinPath(folder.uri, relative);
  if (vscode.workspace.notebookDocuments.some((doc) => doc.uri.toString() === uri.toString())) {
    return;
  }
  try {
    await vscode.window.showNotebookDocument(await vscode.workspace.openNotebookDocument(uri));
  } catch (error) {
    log.warn(
      `could not open ${relative}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

export async function deactivate(): Promise<void> {
  await Promise.all([...kernels.keys()].map(shutDown));
  local?.dispose();
}

function kernelFor(notebook: vscode.NotebookDocument): Promise<StandInKernel> {
  const key = notebook.uri.toString();
  let pending = kernels.get(key);
  if (!pending) {
    pending = (async () => {
      const real = await local.startKernel();
      log.info(`started kernel ${real.id} for ${vscode.workspace.asRelativePath(notebook.uri)}`);
      const kernel = new StandInKernel(real);
      await kernel.runStartupCode(notebook.uri);
      return kernel;
    })();
    kernels.set(key, pending);
    pending.catch((error: unknown) => {
      kernels.delete(key);
      log.error(
        `starting a kernel failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  }
  return pending;
}

async function shutDown(key: string): Promise<void> {
  const pending = kernels.get(key);
  kernels.delete(key);
  const kernel = await pending?.catch(() => undefined);
  await kernel?.real.shutdown().catch(() => undefined);
  kernel?.real.dispose();
}

/** A notebook's kernel, and the API object each extension gets for it. */
class StandInKernel {
  readonly language = 'python';
  /** Started by the user (a cell ran, or a restart), not ahead of time. */
  userStarted = false;
  private started: Promise<void> | undefined;
  private readonly statusEmitter = new vscode.EventEmitter<KernelStatus>();
  private readonly apis = new Map<string, ApiKernel>();

  constructor(readonly real: Kernel.IKernelConnection) {
    real.statusChanged.connect((_, status) => this.statusEmitter.fire(status));
  }

  get status(): KernelStatus {
    return this.real.status;
  }

  /** src/kernels/kernel.ts: the extension's start-up code, then the user's, both silent. */
  async runStartupCode(notebook: vscode.Uri): Promise<void> {
    const file = notebook.scheme === 'file' ? notebook.fsPath : undefined;
    const code: string[] = [];
    if (file) code.push(`__vsc_ipynb_file__ = "${file.replace(/\\/g, '\\\\')}"`);
    await this.executeSilently(code.join('\n'));
    let user = vscode.workspace
      .getConfiguration('jupyter')
      .get<string | string[]>('runStartupCommands', []);
    if (Array.isArray(user)) user = user.join('\n');
    if (user) await this.executeSilently(user.replace(/\\n/g, '\n'));
  }

  private async executeSilently(code: string): Promise<void> {
    if (!code.trim()) return;
    await this.real
      .requestExecute({
        code,
        silent: true,
        store_history: false,
        allow_stdin: false,
        stop_on_error: false,
      })
      .done.catch(() => undefined);
  }

  /**
   * The user starts (or restarts) the kernel: the start event fires once, and the first cell
   * waits for its listeners (src/kernels/kernel.ts, triggerOnDidStartKernel).
   */
  userStart(uri: vscode.Uri, restarting = false): Promise<void> {
    this.userStarted = true;
    if (!this.started || restarting) this.started = announceStart(uri, this);
    return this.started;
  }

  async restart(uri: vscode.Uri): Promise<void> {
    await this.real.restart();
    log.info(`restarted kernel ${this.real.id}`);
    await this.runStartupCode(uri);
    await this.userStart(uri, true);
  }

  /** src/standalone/api/kernels/kernel.ts: a frozen object per extension. */
  apiFor(extensionId: string): ApiKernel {
    let api = this.apis.get(extensionId);
    if (!api) {
      const status = () => this.status;
      const refused = () => new Error(`Proposed API is not supported for extension ${extensionId}`);
      api = Object.freeze({
        language: this.language,
        get status() {
          return status();
        },
        onDidChangeStatus: this.statusEmitter.event,
        get onDidReceiveDisplayUpdate(): never {
          if (!proposedApiAllowed(extensionId)) throw refused();
          throw new Error('onDidReceiveDisplayUpdate is not part of the demo Jupyter extension.');
        },
        executeCode: (code: string, token: vscode.CancellationToken) =>
          this.executeFor(extensionId, code, token),
        shutdown(): never {
          throw refused();
        },
      });
      this.apis.set(extensionId, api);
    }
    return api;
  }

  private async *executeFor(
    extensionId: string,
    code: string,
    token: vscode.CancellationToken,
  ): AsyncIterable<ApiOutput> {
    if (extensionId !== JUPYTER_EXTENSION_ID && !(await access.request(extensionId))) {
      throw new KernelAccessRevoked();
    }
    yield* this.executeCode(code, token);
  }

  /** Like the real API: no execution count or history; outputs as they arrive; ends with the run. */
  private async *executeCode(
    code: string,
    token: vscode.CancellationToken,
  ): AsyncIterable<ApiOutput> {
    const queue: ApiOutput[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    const future = this.real.requestExecute({
      code,
      silent: false,
      store_history: false,
      allow_stdin: false,
    });
    future.onIOPub = (msg) => {
      const output = toApiOutput(msg);
      if (output) queue.push(output);
      wake?.();
    };
    const done = future.done.then(
      () => undefined,
      () => undefined,
    );
    void done.then(() => {
      finished = true;
      wake?.();
    });
    const cancelled = token.onCancellationRequested(() => wake?.());
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (finished || token.isCancellationRequested) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      cancelled.dispose();
    }
  }
}

/** Tells onDidStart's listeners, then waits for what they handed to waitUntil. */
async function announceStart(uri: vscode.Uri, kernel: StandInKernel): Promise<void> {
  const waits: Thenable<unknown>[] = [];
  const cancel = new vscode.CancellationTokenSource();
  starts.fire({
    uri,
    kernel,
    token: cancel.token,
    waitUntil: (t) => void waits.push(t),
  });
  await Promise.allSettled(waits);
  cancel.dispose();
}

type ApiOutput = { items: { mime: string; data: Uint8Array }[] };

function toApiOutput(msg: KernelMessage.IIOPubMessage): ApiOutput | undefined {
  const encode = (text: string) => new TextEncoder().encode(text);
  const content = msg.content as Record<string, unknown>;
  switch (msg.header.msg_type) {
    case 'stream':
      return {
        items: [
          {
            mime:
              content.name === 'stderr'
                ? 'application/vnd.code.notebook.stderr'
                : 'application/vnd.code.notebook.stdout',
            data: encode(String(content.text)),
          },
        ],
      };
    case 'execute_result':
    case 'display_data':
      return {
        items: Object.entries(content.data as Record<string, unknown>).map(([mime, value]) => ({
          mime,
          data: encode(typeof value === 'string' ? value : JSON.stringify(value)),
        })),
      };
    case 'error':
      return {
        items: [
          {
            mime: ERROR_MIME,
            data: encode(
              JSON.stringify({
                name: content.ename,
                message: content.evalue,
                stack: (content.traceback as string[]).join('\n'),
              }),
            ),
          },
        ],
      };
    default:
      return undefined;
  }
}

let executionOrder = 0;

async function runCell(
  controller: vscode.NotebookController,
  notebook: vscode.NotebookDocument,
  cell: vscode.NotebookCell,
): Promise<void> {
  const execution = controller.createNotebookCellExecution(cell);
  execution.start(Date.now());
  await execution.clearOutput();
  let kernel: StandInKernel;
  try {
    kernel = await kernelFor(notebook);
    // A cell run is the user starting the kernel: from now on the API hands it out.
    await kernel.userStart(notebook.uri);
  } catch (error) {
    await execution.appendOutput(
      new vscode.NotebookCellOutput([
        vscode.NotebookCellOutputItem.error(
          error instanceof Error ? error : new Error(String(error)),
        ),
      ]),
    );
    execution.end(false, Date.now());
    return;
  }
  const future = kernel.real.requestExecute({
    code: cell.document.getText(),
    store_history: true,
    allow_stdin: false,
  });
  execution.token.onCancellationRequested(() => void kernel.real.interrupt());
  // Consecutive text on one stream shows as one output, as in the real extension.
  let stream: { name: string; text: string; output: vscode.NotebookCellOutput } | undefined;
  let writes = Promise.resolve();
  const write = (fn: () => Thenable<void>) => {
    writes = writes.then(fn, fn);
  };
  future.onIOPub = (msg) => {
    const content = msg.content as Record<string, unknown>;
    const type = msg.header.msg_type;
    if (type === 'stream') {
      const name = String(content.name);
      const text = String(content.text);
      const item = (all: string) =>
        name === 'stderr'
          ? vscode.NotebookCellOutputItem.stderr(all)
          : vscode.NotebookCellOutputItem.stdout(all);
      if (stream?.name === name) {
        stream.text += text;
        const { output, text: all } = stream;
        write(() => execution.replaceOutputItems(item(all), output));
      } else {
        const output = new vscode.NotebookCellOutput([item(text)]);
        stream = { name, text, output };
        write(() => execution.appendOutput(output));
      }
      return;
    }
    const api = toApiOutput(msg);
    if (!api) return;
    stream = undefined;
    const items =
      type === 'error'
        ? [
            vscode.NotebookCellOutputItem.error({
              name: String(content.ename),
              message: String(content.evalue),
              stack: (content.traceback as string[]).join('\n'),
            }),
          ]
        : api.items.map((i) => new vscode.NotebookCellOutputItem(i.data, i.mime));
    write(() => execution.appendOutput(new vscode.NotebookCellOutput(items)));
  };
  const ok = await future.done.then(
    (reply) => {
      execution.executionOrder = reply.content.execution_count ?? ++executionOrder;
      return reply.content.status === 'ok';
    },
    () => false,
  );
  await writes;
  execution.end(ok, Date.now());
}
