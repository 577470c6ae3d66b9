/**
 * Answers the helper's in-band requests on one kernel connection: the kernel publishes a custom
 * IOPub message (`notebook_secrets_request`) and blocks reading its stdin socket; we answer with
 * an `input_reply` whose value is JSON. This works while a cell runs, which comms do not.
 * Shared by the extension's remote-Jupyter client and the CLI's attach.
 */
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import {
  brokerError,
  INBAND_REQUEST_MSG_TYPE,
  inbandReplyValue,
  InbandRequest,
  type BrokerOutcome,
} from '../core/brokerProtocol';
import type { KernelSessions } from './kernelSessions';
import type { SecretRequestHandler } from './requestHandler';
import type { BrokerLog } from './secretSource';

export interface InbandResponderOptions {
  handler: SecretRequestHandler;
  sessions: KernelSessions;
  log: BrokerLog;
  /** The session of the kernel this connection talks to: tokens of other kernels are refused. */
  sessionId?: string;
}

export class InbandResponder {
  private readonly inFlight = new Set<string>();
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
    const reply = (body: BrokerOutcome | { ack: true }): void => {
      if (this.disposed || this.kernel.isDisposed) return;
      this.kernel.sendInputReply(
        { status: 'ok', value: inbandReplyValue(request.id, body) },
        msg.header as unknown as KernelMessage.IInputReplyMsg['parent_header'],
      );
    };
    // The helper resends until acknowledged; a repeat of a request in progress gets an ack only.
    if (this.inFlight.has(request.id)) {
      reply({ ack: true });
      return;
    }
    const found = this.options.sessions.lookup(request.token);
    const session =
      found && (this.options.sessionId === undefined || found.id === this.options.sessionId)
        ? found
        : undefined;
    if (!session) {
      reply(
        brokerError(
          'unauthorized',
          "This kernel's Notebook Secrets token is not recognized (the client was restarted or detached).",
        ),
      );
      return;
    }
    this.inFlight.add(request.id);
    reply({ ack: true });
    const body: Record<string, unknown> = { name: request.name };
    if (request.scope !== undefined) body.scope = request.scope;
    this.options.handler
      .handle(session, body)
      .catch(() => brokerError('internal', 'Answering the request failed; see the log.'))
      .then((outcome) => {
        this.answered++;
        reply(outcome);
      })
      .finally(() => this.inFlight.delete(request.id))
      .catch(() => undefined);
  }

  dispose(): void {
    this.disposed = true;
    this.kernel.iopubMessage.disconnect(this.onIOPub, this);
  }
}
