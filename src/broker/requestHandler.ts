/**
 * Answers one get_secret request, whatever the transport: checks the name, asks consent, reads
 * the source, checks the size. Messages name the secret and what to do; never a value.
 */
import { brokerError, GetSecretRequest, type BrokerOutcome } from '../core/brokerProtocol';
import { utf8ByteLength } from '../core/encoding';
import { MAX_VALUE_BYTES } from '../core/limits';
import type { ConsentPolicy } from './consent';
import type { KernelSession } from './kernelSessions';
import { SourceUnavailableError, type BrokerLog, type SecretSource } from './secretSource';

/** What a message tells the user to do, in the words of the client that serves the kernel. */
export interface ClientWording {
  /** How to add a secret that is missing, e.g. "Add it in the Notebook Secrets view". */
  addSecret(name: string): string;
  /** Where the log is, e.g. "the Notebook Secrets log". */
  log: string;
  /** How to allow a denied name (default: VS Code's Manage Notebook Access). */
  accessDenied?(name: string): string;
}

/** The VS Code extension's words (the default). */
export const VSCODE_WORDING: ClientWording = {
  addSecret: () => 'Add it in the Notebook Secrets view (or check the spelling).',
  log: 'the Notebook Secrets log',
};

export interface RequestHandlerOptions {
  source: SecretSource;
  /** Default: VS Code's. */
  wording?: ClientWording;
  /** Absent: every request is allowed (the CLI's attach, where the user chose the store). */
  consent?: ConsentPolicy;
  log: BrokerLog;
  maxValueBytes?: number;
}

export class SecretRequestHandler {
  constructor(private readonly options: RequestHandlerOptions) {}

  async handle(session: KernelSession, body: unknown): Promise<BrokerOutcome> {
    const parsed = GetSecretRequest.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      return brokerError('invalid_input', `Bad request: ${where}${issue?.message ?? 'invalid'}`);
    }
    const { name, scope } = parsed.data;
    const { consent, log, source } = this.options;
    const wording = this.options.wording ?? VSCODE_WORDING;
    if (consent) {
      const decision = await consent.decide({
        notebook: session.notebook,
        label: session.label,
        name,
        sessionId: session.id,
      });
      if (decision === 'deny') {
        log.info(`get_secret('${name}') denied for ${session.label}`);
        return brokerError(
          'access_denied',
          wording.accessDenied?.(name) ??
            `Access to '${name}' was denied for this notebook. To allow it, run 'Notebook Secrets: Manage Notebook Access' (or restart the kernel) and call get_secret again.`,
        );
      }
    }
    let found: Awaited<ReturnType<SecretSource['resolve']>>;
    try {
      found = await source.resolve(name, scope ? { scope } : {});
    } catch (err) {
      if (err instanceof SourceUnavailableError) {
        log.warn(err.message);
        return brokerError('unavailable', err.message);
      }
      log.error(`Reading '${name}' failed: ${err instanceof Error ? err.name : 'error'}`);
      return brokerError('unavailable', `Reading '${name}' failed; see ${wording.log}.`);
    }
    if (!found) {
      log.info(`get_secret('${name}') for ${session.label}: not found`);
      const where = scope ? ` in the ${scope} scope` : '';
      return brokerError(
        'not_found',
        `No secret named '${name}'${where}. ${wording.addSecret(name)}`,
      );
    }
    const limit = this.options.maxValueBytes ?? MAX_VALUE_BYTES;
    const size = utf8ByteLength(found.value);
    if (size > limit) {
      return brokerError(
        'value_too_large',
        `'${name}' is ${exactBytes(size)}; a kernel may receive at most ${exactBytes(limit)}. Store a smaller value.`,
      );
    }
    log.debug(`get_secret('${name}') for ${session.label}: served`);
    return { value: found.value, encoding: found.encoding };
  }
}

/** `65,537 bytes`, with the KiB figure when it is a whole number: `65,536 bytes (64 KiB)`. */
export function exactBytes(bytes: number): string {
  const text = `${bytes.toLocaleString('en-US')} bytes`;
  return bytes >= 1024 && bytes % 1024 === 0 ? `${text} (${bytes / 1024} KiB)` : text;
}
