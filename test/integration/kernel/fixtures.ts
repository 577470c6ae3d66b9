/**
 * Broker, consent and a canary-filled source wired together for the kernel tests and benches, and
 * the set-up they share: a Jupyter server next to the broker, with Python (ipykernel) or R
 * (IRkernel) kernels that get_secret answers from it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kernel } from '@jupyterlab/services';
import { ConsentPolicy, type ConsentChoice, type ConsentState } from '../../../src/broker/consent';
import { buildInjectionCode } from '../../../src/broker/injection';
import { loadHelperSource, loadRHelperSource } from '../../../src/broker/helperSource';
import type { JupyterAttachmentOptions } from '../../../src/broker/jupyterAttachment';
import { KernelSetupHandler } from '../../../src/broker/kernelSetup';
import type { NotebookChoices } from '../../../src/core/notebookChoices';
import type { PlatformForm } from '../../../src/core/secretReads';
import { KernelSessions } from '../../../src/broker/kernelSessions';
import { SecretRequestHandler } from '../../../src/broker/requestHandler';
import type { BrokerLog, SecretSource } from '../../../src/broker/secretSource';
import { BrokerServer } from '../../../src/broker/server';
import { buildRInjectionCode } from '../../../src/broker/rInjection';
import type { Encoding, ScopeKind } from '../../../src/core/model';
import {
  runCell,
  startJupyterServer,
  startKernel,
  type CellResult,
  type JupyterServer,
} from './harness';

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A value no code path has a reason to print: if it shows up anywhere, it leaked. */
export function canary(label: string): string {
  return `CANARY_${label}_${randomBytes(12).toString('hex')}`;
}

export class MapSource implements SecretSource {
  readonly values = new Map<string, { value: string; encoding: Encoding; scope: ScopeKind }[]>();
  set(name: string, value: string, encoding: Encoding = 'text', scope: ScopeKind = 'personal') {
    const list = (this.values.get(name) ?? []).filter((v) => v.scope !== scope);
    list.push({ value, encoding, scope });
    this.values.set(name, list);
  }
  async resolve(name: string, opts: { scope?: ScopeKind }) {
    const order: ScopeKind[] = ['personal', 'project', 'team'];
    const list = (this.values.get(name) ?? [])
      .filter((v) => !opts.scope || v.scope === opts.scope)
      .sort((a, b) => order.indexOf(a.scope) - order.indexOf(b.scope));
    const hit = list[0];
    return hit ? { value: hit.value, encoding: hit.encoding } : undefined;
  }
}

export class MemoryState implements ConsentState {
  private readonly data = new Map<string, unknown>();
  get<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }
  async update(key: string, value: unknown): Promise<void> {
    this.data.set(key, value);
  }
}

export class RecordingLog implements BrokerLog {
  readonly lines: string[] = [];
  debug(m: string) {
    this.lines.push(`debug ${m}`);
  }
  info(m: string) {
    this.lines.push(`info ${m}`);
  }
  warn(m: string) {
    this.lines.push(`warn ${m}`);
  }
  error(m: string) {
    this.lines.push(`error ${m}`);
  }
}

export interface BrokerFixture {
  source: MapSource;
  sessions: KernelSessions;
  consent: ConsentPolicy;
  handler: SecretRequestHandler;
  broker: BrokerServer;
  log: RecordingLog;
  helperSource: string;
  /** name → answer the fake user gives; default 'always'. */
  answers: Map<string, ConsentChoice | undefined>;
  prompts: string[];
  /** Notebook → what its metadata says (serve other platforms' calls, its environment). */
  choices: Map<string, NotebookChoices>;
  setup: KernelSetupHandler;
  /** The answer the fake user gives when asked whether to serve a platform's calls. */
  serveAnswer: { value: boolean | undefined };
  /** `notebook platforms…` of each time the user was asked that. */
  serveQuestions: string[];
}

export async function startBroker(
  opts: { listen?: 'unix' | 'tcp'; rateLimit?: { perSecond: number; burst: number } } = {},
): Promise<BrokerFixture> {
  const source = new MapSource();
  const sessions = new KernelSessions();
  const answers = new Map<string, ConsentChoice | undefined>();
  const prompts: string[] = [];
  const consent = new ConsentPolicy({
    state: new MemoryState(),
    ask: async (req) => {
      prompts.push(`${req.notebook} ${(req.names ?? [req.name]).join(',')}`);
      return answers.has(req.name) ? answers.get(req.name) : 'always';
    },
  });
  const log = new RecordingLog();
  const handler = new SecretRequestHandler({ source, consent, log });
  const choices = new Map<string, NotebookChoices>();
  const serveAnswer: { value: boolean | undefined } = { value: true };
  const serveQuestions: string[] = [];
  const setup = new KernelSetupHandler({
    secrets: handler,
    consent,
    log,
    choices: {
      choices: (session) => choices.get(session.notebook) ?? { environment: [] },
      askServe: async (session, platforms: PlatformForm[]) => {
        serveQuestions.push(`${session.notebook} ${platforms.join(',')}`);
        const answer = serveAnswer.value;
        if (answer !== undefined) {
          const now = choices.get(session.notebook) ?? { environment: [] };
          choices.set(session.notebook, { ...now, servePlatformCalls: answer });
        }
        return answer;
      },
    },
  });
  const broker = new BrokerServer({
    sessions,
    handler,
    setup,
    log,
    listen: opts.listen ?? 'unix',
    ...(opts.rateLimit ? { rateLimit: opts.rateLimit } : {}),
  });
  await broker.start();
  return {
    source,
    sessions,
    consent,
    handler,
    broker,
    log,
    helperSource: loadHelperSource(),
    answers,
    prompts,
    choices,
    setup,
    serveAnswer,
    serveQuestions,
  };
}

/** A kernelspec the tests start: `python3` (ipykernel) or `ir` (IRkernel). */
export type KernelLanguage = 'python3' | 'ir';

/**
 * The code that enables get_secret in a `language` kernel, with a fresh token for `notebook`:
 * Python over the broker's own listener, R over its loopback TCP listener.
 */
export async function brokerInjection(
  fx: BrokerFixture,
  notebook: string,
  language: KernelLanguage = 'python3',
): Promise<{ token: string; code: string }> {
  const { token } = fx.sessions.issue(notebook, notebook.split('/').pop());
  const code =
    language === 'ir'
      ? buildRInjectionCode({
          helperSource: loadRHelperSource(),
          token,
          endpoint: await fx.broker.tcpEndpoint(),
        })
      : buildInjectionCode({
          helperSource: fx.helperSource,
          token,
          endpoint: fx.broker.endpoint,
          inband: false,
        });
  return { token, code };
}

/** Runs injection code as a silent cell; fails when the kernel reports an error. */
export async function inject(kernel: Kernel.IKernelConnection, code: string): Promise<void> {
  const reply = await kernel.requestExecute({ code, silent: true, store_history: false }).done;
  if (reply.content.status !== 'ok') throw new Error('injection failed');
}

/** Injects the helper pointing at the broker, with a fresh token for `notebook`. */
export async function injectBroker(
  fx: BrokerFixture,
  kernel: Kernel.IKernelConnection,
  notebook: string,
  language: KernelLanguage = 'python3',
): Promise<string> {
  const { token, code } = await brokerInjection(fx, notebook, language);
  await inject(kernel, code);
  return token;
}

/** A kernel with get_secret injected, its session token and the code that was injected. */
export interface InjectedKernel {
  kernel: Kernel.IKernelConnection;
  token: string;
  code: string;
}

/** A Jupyter server and a broker, started side by side. */
export interface KernelRig {
  server: JupyterServer;
  fx: BrokerFixture;
  /** Starts a `language` kernel and injects get_secret over the broker for `notebook`. */
  startInjected(language: KernelLanguage, notebook: string): Promise<InjectedKernel>;
  /** Every IOPub message of the cells run through `cell`, for a closing check that no value leaked. */
  iopub: string[];
  /** Runs code as a cell in `kernel` and keeps its IOPub messages in `iopub`. */
  cell(kernel: Kernel.IKernelConnection, code: string): Promise<CellResult>;
  /** What a JupyterAttachment to this server needs to serve its kernels from the broker's handler. */
  attachmentOptions(): Pick<
    JupyterAttachmentOptions,
    'baseUrl' | 'token' | 'helperSource' | 'sessions' | 'handler' | 'log' | 'setup'
  >;
  stop(): Promise<void>;
}

/** `serverArgs`: more `jupyter_server` options (e.g. a higher IOPub rate limit for a benchmark). */
export async function startKernelRig(opts: { serverArgs?: string[] } = {}): Promise<KernelRig> {
  const [server, fx] = await Promise.all([
    startJupyterServer(opts.serverArgs ? { args: opts.serverArgs } : {}),
    startBroker(),
  ]);
  const iopub: string[] = [];
  return {
    server,
    fx,
    iopub,
    async cell(kernel, code) {
      const result = await runCell(kernel, code);
      iopub.push(...result.iopub);
      return result;
    },
    async startInjected(language, notebook) {
      const kernel = await startKernel(server, language);
      const { token, code } = await brokerInjection(fx, notebook, language);
      await inject(kernel, code);
      return { kernel, token, code };
    },
    attachmentOptions: () => ({
      baseUrl: server.baseUrl,
      token: server.token,
      helperSource: fx.helperSource,
      sessions: fx.sessions,
      handler: fx.handler,
      log: fx.log,
      setup: fx.setup,
    }),
    async stop() {
      await fx.broker.stop();
      await server.stop();
    },
  };
}

export { runCell };
