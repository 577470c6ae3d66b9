// The demo's Jupyter: a stand-in for the VS Code Jupyter extension (ms-toolsai.jupyter), which
// code-server cannot install (it has no access to Microsoft's marketplace). `npm start` and the e2e
// suite install it into their code-server next to Notebook Secrets; the published .vsix never has it.
// It does what Notebook Secrets relies on, backed by a real Jupyter server and real ipykernels:
//   - a NotebookController for `jupyter-notebook` ("Python 3 (demo Jupyter)") that runs cells on
//     one kernel per notebook and shows their stream, result and error outputs;
//   - the exported API `kernels.getKernel(uri)` → a kernel with `status`, `language`,
//     `onDidChangeStatus` and `executeCode(code, token)`, forwarding to that same kernel;
//   - `kernels.onDidStart` ({uri, kernel, waitUntil}) when a kernel starts or restarts; cells wait
//     for what listeners hand to waitUntil, as in the real extension.
// The server's URL and token come from the JSON file named by $NOTEBOOK_SECRETS_DEMO_JUPYTER, else
// from `.vscode/demo-jupyter.json` in the notebook's workspace folder ({"baseUrl", "token"}).
// $NOTEBOOK_SECRETS_DEMO_OPEN, a path relative to the workspace folder, names a notebook to open
// when the window starts (the demo's getting-started notebook).
// Like the real extension, getKernel returns only kernels that have started: this one starts a
// notebook's kernel as soon as the controller is selected for it, or when a cell runs (and, with
// $NOTEBOOK_SECRETS_DEMO_JUPYTER set, as `npm start` does, when the notebook opens). Its toolbar's
// "Restart" (jupyter.restartkernel) restarts the kernel, which reports `restarting` then `idle`.
import {
  KernelManager,
  ServerConnection,
  type Kernel,
  type KernelMessage,
} from '@jupyterlab/services';
import type {
  Jupyter,
  Kernel as ApiKernel,
  KernelStatus,
  Kernels,
} from '@vscode/jupyter-extension';
import * as vscode from 'vscode';

const NOTEBOOK_TYPE = 'jupyter-notebook';
const CONFIG_FILE = '.vscode/demo-jupyter.json';
const ERROR_MIME = 'application/vnd.code.notebook.error';

interface StandInConfig {
  baseUrl: string;
  token: string;
}

let log: vscode.LogOutputChannel;
let manager: Promise<KernelManager> | undefined;
const kernels = new Map<string, Promise<StandInKernel>>();
interface KernelStart {
  uri: vscode.Uri;
  kernel: ApiKernel;
  waitUntil(thenable: Thenable<unknown>): void;
}
const starts = new vscode.EventEmitter<KernelStart>();

/** Tells onDidStart's listeners, then waits for what they handed to waitUntil. */
async function announceStart(uri: vscode.Uri, kernel: StandInKernel): Promise<void> {
  const waits: Thenable<unknown>[] = [];
  starts.fire({ uri, kernel, waitUntil: (t) => void waits.push(t) });
  await Promise.allSettled(waits);
}

export function activate(context: vscode.ExtensionContext): Jupyter {
  log = vscode.window.createOutputChannel('Jupyter (demo)', { log: true });
  const controller = vscode.notebooks.createNotebookController(
    'demo-jupyter-python3',
    NOTEBOOK_TYPE,
    'Python 3 (demo Jupyter)',
  );
  controller.supportedLanguages = ['python'];
  controller.supportsExecutionOrder = true;
  controller.description = 'Notebook Secrets demo: kernels of a local Jupyter server';
  controller.executeHandler = async (cells, notebook) => {
    for (const cell of cells) await runCell(controller, notebook, cell);
  };
  controller.interruptHandler = async (notebook) => {
    await (await kernels.get(notebook.uri.toString()))?.real.interrupt();
  };
  const prefer = (notebook: vscode.NotebookDocument) => {
    if (notebook.notebookType !== NOTEBOOK_TYPE) return;
    controller.updateNotebookAffinity(notebook, vscode.NotebookControllerAffinity.Preferred);
    // In the demo this is the only kernel there is, and VS Code selects it without telling the
    // controller: start it now, as picking it would, so "Enable get_secret" finds it running.
    if (process.env.NOTEBOOK_SECRETS_DEMO_JUPYTER) kernelFor(notebook).catch(() => undefined);
  };
  vscode.workspace.notebookDocuments.forEach(prefer);
  context.subscriptions.push(
    log,
    controller,
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
      await kernel.real.restart();
      log.info(`restarted kernel ${kernel.real.id}`);
      await announceStart(uri, kernel);
    }),
  );
  void openDemoNotebook();
  context.subscriptions.push(starts);
  // onDidStart is the Jupyter extension's proposed kernel start hook, not in the typed API.
  const api: { kernels: Kernels & { onDidStart: vscode.Event<KernelStart> } } = {
    kernels: {
      getKernel: async (uri) => {
        const pending = kernels.get(uri.toString());
        return pending ? await pending.catch(() => undefined) : undefined;
      },
      onDidStart: starts.event,
    },
  };
  return api as Pick<Jupyter, 'kernels'> as Jupyter;
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
    log.warn(`could not open ${relative}: ${error instanceof Error ? error.message : error}`);
  }
}

export async function deactivate(): Promise<void> {
  await Promise.all([...kernels.keys()].map(shutDown));
}

async function readConfig(notebook: vscode.NotebookDocument): Promise<StandInConfig> {
  const fromEnv = process.env.NOTEBOOK_SECRETS_DEMO_JUPYTER;
  const folder =
    vscode.workspace.getWorkspaceFolder(notebook.uri) ?? vscode.workspace.workspaceFolders?.[0];
  const uri = fromEnv
    ? vscode.Uri.file(fromEnv)
    : folder && vscode.Uri.joinPath(folder.uri, CONFIG_FILE);
  if (!uri) throw new Error(`no workspace folder to read ${CONFIG_FILE} from`);
  let parsed: Partial<StandInConfig>;
  try {
    parsed = JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)));
  } catch (error) {
    throw new Error(`cannot read the demo's Jupyter server from ${uri.fsPath}: ${String(error)}`, {
      cause: error,
    });
  }
  if (typeof parsed.baseUrl !== 'string' || typeof parsed.token !== 'string') {
    throw new Error(`${uri.fsPath} needs {"baseUrl": "...", "token": "..."}`);
  }
  return { baseUrl: parsed.baseUrl, token: parsed.token };
}

function kernelFor(notebook: vscode.NotebookDocument): Promise<StandInKernel> {
  const key = notebook.uri.toString();
  let pending = kernels.get(key);
  if (!pending) {
    pending = (async () => {
      manager ??= readConfig(notebook).then(async (config) => {
        const serverSettings = ServerConnection.makeSettings(config);
        const km = new KernelManager({ serverSettings, standby: 'never' });
        await km.ready;
        return km;
      });
      manager.catch(() => (manager = undefined));
      const real = await (await manager).startNew({ name: 'python3' }, { handleComms: false });
      await real.info;
      log.info(`started kernel ${real.id} for ${vscode.workspace.asRelativePath(notebook.uri)}`);
      const kernel = new StandInKernel(real);
      await announceStart(notebook.uri, kernel);
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

/** What `kernels.getKernel` hands out: the notebook's kernel as the Jupyter API shapes it. */
class StandInKernel implements ApiKernel {
  readonly language = 'python';
  private readonly statusEmitter = new vscode.EventEmitter<KernelStatus>();
  readonly onDidChangeStatus = this.statusEmitter.event;

  constructor(readonly real: Kernel.IKernelConnection) {
    real.statusChanged.connect((_, status) => this.statusEmitter.fire(status));
  }

  get status(): KernelStatus {
    return this.real.status;
  }

  /** Like the real API: no execution count or history; outputs as they arrive; ends with the run. */
  async *executeCode(code: string, token: vscode.CancellationToken): AsyncIterable<ApiOutput> {
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
