/**
 * The panel's requests to the Jupyter server extension (`<base>/notebook-secrets/`), sent with
 * JupyterLab's own connection settings, so Jupyter's token or cookie (and XSRF header) go along.
 * Answers are parsed with the schemas both ends share (src/core/panelProtocol.ts). A value is
 * held only in the memory of the call that asked for it.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import {
  AccessAnswer,
  ConsentQuestion,
  GrantsAnswer,
  KernelAnswer,
  PanelError,
  PanelState,
  RevealAnswer,
  ScanAnswer,
  SecretAnswer,
  type PanelRequest,
} from '../../../src/core/panelProtocol';
import * as z from '../../../src/core/zod';

/** A refusal of the server, with the message to show. */
export class PanelRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface PanelEvents {
  seq: number;
  questions: ConsentQuestion[];
  kernels: string[];
  /** Why the bridge is not running, when it is not. */
  problem: string | null;
}

type Body<Op extends PanelRequest['op']> = Omit<Extract<PanelRequest, { op: Op }>, 'op'>;

export class PanelClient {
  constructor(private readonly settings = ServerConnection.makeSettings()) {}

  private async post<T>(
    op: PanelRequest['op'],
    body: object,
    schema: z.ZodMiniType<T>,
  ): Promise<T> {
    const url = URLExt.join(this.settings.baseUrl, 'notebook-secrets', 'api', op);
    const response = await ServerConnection.makeRequest(
      url,
      { method: 'POST', body: JSON.stringify(body), cache: 'no-store' },
      this.settings,
    );
    const data: unknown = await response.json().catch(() => undefined);
    if (!response.ok) {
      const error = PanelError.safeParse(data);
      throw new PanelRequestError(
        error.success ? error.data.error.code : 'internal',
        error.success
          ? error.data.error.message
          : `The Jupyter server answered ${response.status}. Is the Notebook Secrets server extension enabled?`,
      );
    }
    return schema.parse(data);
  }

  state(): Promise<PanelState> {
    return this.post('state', {}, PanelState);
  }

  async create(body: Body<'create'>) {
    return (await this.post('create', body, SecretAnswer)).secret;
  }

  async update(body: Body<'update'>) {
    return (await this.post('update', body, SecretAnswer)).secret;
  }

  async delete(id: string): Promise<void> {
    await this.post('delete', { id }, anything);
  }

  reveal(id: string) {
    return this.post('reveal', { id }, RevealAnswer);
  }

  async access(id: string) {
    return (await this.post('access', { id }, AccessAnswer)).access;
  }

  async share(body: Body<'share'>) {
    return (await this.post('share', body, AccessAnswer)).access;
  }

  async signIn(server: string, token: string): Promise<void> {
    await this.post('signin', { server, token }, anything);
  }

  async signOut(): Promise<void> {
    await this.post('signout', {}, anything);
  }

  grants() {
    return this.post('grants', {}, GrantsAnswer);
  }

  async revoke(body: Body<'revoke'>): Promise<void> {
    await this.post('revoke', body, anything);
  }

  async answer(question: string, choice: 'once' | 'always' | 'deny' | null): Promise<void> {
    await this.post('consent', { question, choice }, anything);
  }

  async kernelReady(kernelId: string): Promise<boolean> {
    return (await this.post('kernel', { kernelId }, KernelAnswer)).ready;
  }

  async scan(cells: Body<'scan'>['cells']) {
    return (await this.post('scan', { cells }, ScanAnswer)).findings;
  }

  /** Waits (up to ~25 s) for anything newer than `after`: questions, kernels, changes. */
  async events(after: number): Promise<PanelEvents> {
    const url =
      URLExt.join(this.settings.baseUrl, 'notebook-secrets', 'events') + `?after=${after}`;
    const response = await ServerConnection.makeRequest(url, { cache: 'no-store' }, this.settings);
    if (!response.ok) throw new PanelRequestError('unavailable', `events: ${response.status}`);
    const data = (await response.json()) as PanelEvents;
    return {
      seq: data.seq,
      questions: z.array(ConsentQuestion).parse(data.questions ?? []),
      kernels: Array.isArray(data.kernels) ? data.kernels : [],
      problem: data.problem ?? null,
    };
  }
}

const anything = { parse: (data: unknown) => data } as unknown as z.ZodMiniType<unknown>;
