/**
 * Answers one get_secret request, whatever the transport: checks the name, asks consent, reads
 * the source, checks the size. Messages name the secret and what to do; never a value.
 */
import { brokerError, GetSecretRequest, type BrokerOutcome } from '../core/brokerProtocol';
import { utf8ByteLength } from '../core/encoding';
import { formatBytes } from '../core/errors';
import { MAX_VALUE_BYTES } from '../core/limits';
import type { ConsentPolicy } from './consent';
import type { KernelSession } from './kernelSessions';
import type { BrokerLog, SecretSource } from './secretSource';

export interface RequestHandlerOptions {
  source: SecretSource;
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
          `Access to '${name}' was denied for this notebook. To allow it, run 'Notebook Secrets: Manage Notebook Access' (or restart the kernel) and call get_secret again.`,
        );
      }
    }
    let found: Awaited<ReturnType<SecretSource['resolve']>>;
    try {
      found = await source.resolve(name, scope ? { scope } : {});
    } catch (err) {
      log.error(`Reading '${name}' failed: ${err instanceof Error ? err.name : 'error'}`);
      return brokerError('unavailable', `Reading '${name}' failed; see the Notebook Secrets log.`);
    }
    if (!found) {
      log.info(`get_secret('${name}') for ${session.label}: not found`);
      const where = scope ? ` in the ${scope} scope` : '';
      return brokerError(
        'not_found',
        `No secret named '${name}'${where}. Add it in the Notebook Secrets view (or check the spelling).`,
      );
    }
    const limit = this.options.maxValueBytes ?? MAX_VALUE_BYTES;
    const size = utf8ByteLength(found.value);
    if (size > limit) {
      return brokerError(
        'value_too_large',
        `'${name}' is ${formatBytes(size)}; a kernel may receive at most ${formatBytes(limit)}. Store a smaller value.`,
      );
    }
    log.debug(`get_secret('${name}') for ${session.label}: served`);
    return { value: found.value, encoding: found.encoding };
  }
}
