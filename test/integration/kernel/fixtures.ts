/** Broker, consent and a canary-filled source wired together for the kernel tests and bench. */
import { createHash, randomBytes } from 'node:crypto';
import type { Kernel } from '@jupyterlab/services';
import { ConsentPolicy, type ConsentChoice, type ConsentState } from '../../../src/broker/consent';
import { buildInjectionCode } from '../../../src/broker/injection';
import { loadHelperSource } from '../../../src/broker/helperSource';
import { KernelSessions } from '../../../src/broker/kernelSessions';
import { SecretRequestHandler } from '../../../src/broker/requestHandler';
import type { BrokerLog, SecretSource } from '../../../src/broker/secretSource';
import { BrokerServer } from '../../../src/broker/server';
import type { Encoding, ScopeKind } from '../../../src/core/model';
import { runCell } from './harness';

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
      prompts.push(`${req.notebook} ${req.name}`);
      return answers.has(req.name) ? answers.get(req.name) : 'always';
    },
  });
  const log = new RecordingLog();
  const handler = new SecretRequestHandler({ source, consent, log });
  const broker = new BrokerServer({
    sessions,
    handler,
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
  };
}

/** Injects the helper pointing at the broker, with a fresh token for `notebook`. */
export async function injectBroker(
  fx: BrokerFixture,
  kernel: Kernel.IKernelConnection,
  notebook: string,
): Promise<string> {
  const { token } = fx.sessions.issue(notebook, notebook.split('/').pop());
  const code = buildInjectionCode({
    helperSource: fx.helperSource,
    token,
    endpoint: fx.broker.endpoint,
    inband: false,
  });
  const future = kernel.requestExecute({ code, silent: true, store_history: false });
  const reply = await future.done;
  if (reply.content.status !== 'ok') throw new Error('injection failed');
  return token;
}

export { runCell };
