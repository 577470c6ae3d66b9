/**
 * Answers the helper's in-band requests on one kernel connection: the kernel publishes a custom
 * IOPub message (`notebook_secrets_request`) and blocks reading its stdin socket; we answer with
 * an `input_reply` whose value is JSON. This works while a cell runs, which comms do not.
 * Shared by the extension's remote-Jupyter client and the CLI's attach.
 *
 * Several clients may be attached to one kernel (two attach processes, attach and VS Code): each
 * answers only requests carrying a token it issued for this kernel and stays silent otherwise,
 * so the helper's resend reaches the client that can answer. While a request is in progress we
 * send a keep-alive acknowledgement every second, so the helper notices when we are gone.
 */
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import {
  brokerError,
  INBAND_REQUEST_MSG_TYPE,
  inbandReplyValue,
  InbandRequest,
} from '../core/brokerProtocol';
import type { KernelSetupHandler } from './kernelSetup';
import type { KernelSession, KernelSessions } from './kernelSessions';
import type { SecretRequestHandler } from './requestHandler';
import type { BrokerLog } from './secretSource';

export interface InbandResponderOptions {
  handler: SecretRequestHandler;
  sessions: KernelSessions;
  log: BrokerLog;
  /** The session of the kernel this connection talks to: tokens of other kernels are refused. */
  sessionId?: string;
  /** Answers setup and environment requests (`op`); without it, they get an error. */
  setup?: KernelSetupHandler;
}

/** How often a request in progress is acknowledged again (the helper gives up after 5 s). */
const KEEP_ALIVE_MS = 1000;

export class InbandResponder {
  private readonly inFlight = new Map<string, ReturnType<typeof setInterval>>();
  private disposed = false;
  /** Requests answered so far (for tests and status). */
  answered = 0;

  constructor(
    private readonly kernel: Kernel.IKernelConnection,
    private readonly options: InbandResponderOptions,
  ) {
    kernel.iopubMessage.connect(this.onIOPub, this);
  }

  private onIOPub(_sender: Kernel.IKernelConnection, msg: KernelMessage.IIOPubMessage): void {
    if ((msg.header.msg_type as string) !== INBAND_REQUEST_MSG_TYPE || this.disposed) return;
    const parsed = InbandRequest.safeParse((msg.content as { request?: unknown }).request);
    if (!parsed.success) {
      this.options.log.warn('Ignored a malformed in-band request from a kernel.');
      return;
    }
    const request = parsed.data;
    const reply = (body: Parameters<typeof inbandReplyValue>[1]): void => {
      if (this.disposed || this.kernel.isDisposed) return;
      this.kernel.sendInputReply(
        { status: 'ok', value: inbandReplyValue(request.id, body) },
        msg.header as unknown as KernelMessage.IInputReplyMsg['parent_header'],
      );
    };
    const found = this.options.sessions.lookup(request.token);
    if (!found || (this.options.sessionId !== undefined && found.id !== this.options.sessionId)) {
      // Another client attached to this kernel may have issued it: leave the answer to that one.
      this.options.log.debug('Ignored an in-band request with a token this client did not issue.');
      return;
    }
    // The helper resends until acknowledged; a repeat of a request in progress gets an ack only.
    if (this.inFlight.has(request.id)) {
      reply({ ack: true });
      return;
    }
    const keepAlive = setInterval(() => reply({ ack: true }), KEEP_ALIVE_MS);
    keepAlive.unref?.();
    this.inFlight.set(request.id, keepAlive);
    reply({ ack: true });
    this.answer(found, request)
      .catch(() => brokerError('internal', 'Answering the request failed; see the log.'))
      .then((outcome) => {
        this.answered++;
        reply(outcome);
      })
      .finally(() => {
        clearInterval(keepAlive);
        this.inFlight.delete(request.id);
      })
      .catch(() => undefined);
  }

  private answer(
    session: KernelSession,
    request: InbandRequest,
  ): Promise<Parameters<typeof inbandReplyValue>[1]> {
    const { setup, handler } = this.options;
    const pick = (...keys: (keyof InbandRequest)[]) =>
      Object.fromEntries(keys.filter((k) => request[k] !== undefined).map((k) => [k, request[k]]));
    if (request.op === 'setup' || request.op === 'environment') {
      if (!setup) return Promise.resolve(brokerError('invalid_input', 'Unknown request.'));
      return request.op === 'setup'
        ? setup.setup(session, pick('ask'))
        : setup.environment(session, pick('names', 'check'));
    }
    return handler.handle(session, pick('name', 'scope'));
  }

  dispose(): void {
    this.disposed = true;
    for (const timer of this.inFlight.values()) clearInterval(timer);
    this.inFlight.clear();
    this.kernel.iopubMessage.disconnect(this.onIOPub, this);
  }
}
