/**
 * A fake of the Jupyter extension's API (`@vscode/jupyter-extension`) for the unit tests of the
 * parts that run code in kernels (localKernels.ts, autoEnable.ts): kernels that record the code
 * they run, `kernels.getKernel` answering from the kernels a test started, and the proposed
 * `kernels.onDidStart` offered, absent, or refused as the published extension refuses it.
 */
import type { Jupyter, Kernel, KernelStatus, Kernels } from '@vscode/jupyter-extension';
import type { KernelStartEvent } from '../../../src/extension/kernels/autoEnable';

type Listener<T> = (value: T) => void;

/** A kernel that records the code it is given and answers with what the test set. */
export class FakeKernel implements Kernel {
  executed: string[] = [];
  failWith: { name: string; message: string } | undefined;
  /** Thrown by executeCode, as the Jupyter extension does when it refuses kernel access. */
  refuse: Error | undefined;
  /** What the kernel prints on stdout for each run. */
  stdout = '';
  private listeners: Listener<KernelStatus>[] = [];

  constructor(
    public language = 'python',
    public status: KernelStatus = 'idle',
  ) {}

  onDidChangeStatus = (l: Listener<KernelStatus>) => {
    this.listeners.push(l);
    return { dispose: () => (this.listeners = this.listeners.filter((x) => x !== l)) };
  };

  setStatus(s: KernelStatus) {
    this.status = s;
    for (const l of this.listeners) l(s);
  }

  executeCode(code: string) {
    this.executed.push(code);
    const { failWith: fail, refuse, stdout } = this;
    return (async function* () {
      if (refuse) throw refuse;
      if (stdout) yield output('application/vnd.code.notebook.stdout', stdout);
      if (fail) yield output('application/vnd.code.notebook.error', JSON.stringify(fail));
    })();
  }
}

function output(mime: string, text: string) {
  return { items: [{ mime, data: new TextEncoder().encode(text) }] };
}

/** How `kernels.onDidStart` reads: offered, not there (an older API), or throwing. */
export type StartEvent =
  { kind: 'offered' } | { kind: 'absent' } | { kind: 'refused'; message: string };

export class FakeJupyter implements Jupyter {
  /** The kernels of notebooks by URI, as getKernel finds them. */
  readonly running = new Map<string, Kernel>();
  /** What kernels.getKernel answers; a test replaces it to fail or to hand out one kernel. */
  getKernel: (uri: { toString(): string }) => Promise<Kernel | undefined> = (uri) =>
    Promise.resolve(this.running.get(uri.toString()));
  startEvent: StartEvent = { kind: 'offered' };
  readonly startListeners: Listener<KernelStartEvent>[] = [];
  readonly kernels: Kernels & { readonly onDidStart?: unknown };

  constructor() {
    const getKernel = (uri: { toString(): string }) => this.getKernel(uri);
    const onDidStart = () => this.onDidStart();
    this.kernels = {
      getKernel,
      get onDidStart() {
        return onDidStart();
      },
    };
  }

  createJupyterServerCollection(): never {
    throw new Error('FakeJupyter has no server collections.');
  }

  /** Fires the start event for `kernel` of `uri`; returns what the listeners asked to wait for. */
  start(uri: KernelStartEvent['uri'], kernel: Kernel): Thenable<unknown>[] {
    const waited: Thenable<unknown>[] = [];
    const event = { uri, kernel, waitUntil: (t: Thenable<unknown>) => void waited.push(t) };
    this.startListeners.forEach((l) => l(event));
    return waited;
  }

  private onDidStart() {
    const start = this.startEvent;
    if (start.kind === 'refused') throw new Error(start.message);
    if (start.kind === 'absent') return undefined;
    return (l: Listener<KernelStartEvent>) => {
      this.startListeners.push(l);
      return { dispose() {} };
    };
  }
}
