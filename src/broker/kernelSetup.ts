/**
 * Answers the kernel helper's setup and environment requests, whatever the transport (broker
 * paths `/v1/setup` and `/v1/environment`, or in band): what the kernel's notebook chose (serve
 * other platforms' secret calls; the names for its environment), asking its user when a cell with
 * such calls runs in a notebook that has not chosen, and the values of the environment's names
 * after one consent for all of them. Each value goes through the same SecretRequestHandler as a
 * get_secret call (consent, source, size), so the environment is served by the same rules. Names
 * and flags only in logs and messages; never a value.
 */
import {
  brokerError,
  EnvironmentRequest,
  isBrokerError,
  SetupRequest,
  type BrokerErrorBody,
  type EnvironmentResult,
  type GetSecretResult,
  type SetupResult,
} from '../core/brokerProtocol';
import type { NotebookChoices } from '../core/notebookChoices';
import type { PlatformForm } from '../core/secretReads';
import type { ConsentPolicy } from './consent';
import type { KernelSession } from './kernelSessions';
import type { SecretRequestHandler } from './requestHandler';
import type { BrokerLog } from './secretSource';

/** Where a kernel's notebook choices come from: its metadata, the command's flags. */
export interface NotebookChoiceSource {
  choices(session: KernelSession): NotebookChoices | Promise<NotebookChoices>;
  /**
   * Asks the notebook's user whether to serve these platforms' calls; the answer (undefined:
   * dismissed) is recorded where the choices live. Absent: nobody to ask, nothing is served.
   */
  askServe?(session: KernelSession, platforms: PlatformForm[]): Promise<boolean | undefined>;
}

export interface KernelSetupOptions {
  choices: NotebookChoiceSource;
  /** Serves each value, with consent, as for get_secret. */
  secrets: SecretRequestHandler;
  /** Absent: every name the notebook lists is allowed (a plaintext source, `run --kernels`). */
  consent?: ConsentPolicy;
  log: BrokerLog;
  /**
   * What the kernel prints when a cell reads keys another platform's way, the notebook has not
   * chosen and nobody could be asked (e.g. "add --platform-calls").
   */
  undecided?: (platforms: PlatformForm[]) => string;
}

export class KernelSetupHandler {
  /** Undecided notebooks with a question open, so concurrent cells ask once. */
  private readonly asking = new Map<string, Promise<boolean | undefined>>();

  constructor(private readonly options: KernelSetupOptions) {}

  async setup(session: KernelSession, body: unknown): Promise<SetupResult | BrokerErrorBody> {
    const parsed = SetupRequest.safeParse(body);
    if (!parsed.success) return invalid(parsed.error.issues[0]);
    const { choices, askServe } = this.options.choices;
    const chosen = await choices.call(this.options.choices, session);
    let serve = chosen.servePlatformCalls;
    const platforms = parsed.data.ask ?? [];
    if (serve === undefined && platforms.length > 0 && askServe) {
      let question = this.asking.get(session.notebook);
      if (!question) {
        question = askServe
          .call(this.options.choices, session, platforms)
          .finally(() => this.asking.delete(session.notebook));
        this.asking.set(session.notebook, question);
      }
      serve = await question;
      this.options.log.info(
        `${session.label}: other platforms' secret calls ${serve === true ? 'served' : serve === false ? 'left as they are' : 'not served this time'}`,
      );
    }
    const note =
      serve === undefined && platforms.length > 0 ? this.options.undecided?.(platforms) : undefined;
    return {
      serve_platform_calls: serve ?? null,
      environment: chosen.environment,
      ...(note && { note }),
    };
  }

  /** Whether the notebook lists names for its kernel's environment. */
  async hasEnvironment(session: KernelSession): Promise<boolean> {
    return (await this.options.choices.choices(session)).environment.length > 0;
  }

  async environment(
    session: KernelSession,
    body: unknown,
  ): Promise<EnvironmentResult | BrokerErrorBody> {
    const parsed = EnvironmentRequest.safeParse(body);
    if (!parsed.success) return invalid(parsed.error.issues[0]);
    const { names, check } = parsed.data;
    const listed = new Set((await this.options.choices.choices(session)).environment);
    const { consent } = this.options;
    if (check) {
      return {
        allowed: names.filter(
          (n) =>
            listed.has(n) &&
            (!consent || consent.peek(session.notebook, session.id, n) === 'allow'),
        ),
      };
    }
    const refused: Record<string, string> = {};
    const wanted = names.filter((n) => listed.has(n));
    for (const n of names) {
      if (!listed.has(n)) refused[n] = `'${n}' is not in this notebook's environment list.`;
    }
    if (consent && wanted.length > 0) {
      await consent.decideAll(
        { notebook: session.notebook, label: session.label, sessionId: session.id },
        wanted,
      );
    }
    const values: Record<string, GetSecretResult> = {};
    for (const name of wanted) {
      const outcome = await this.options.secrets.handle(session, { name });
      if (isBrokerError(outcome)) refused[name] = outcome.error.message;
      else values[name] = outcome;
    }
    this.options.log.info(
      `${session.label}: environment ${Object.keys(values).join(', ') || 'none'} set${
        Object.keys(refused).length ? `; not set: ${Object.keys(refused).join(', ')}` : ''
      }`,
    );
    return { values, refused };
  }
}

function invalid(issue: { path: PropertyKey[]; message: string } | undefined): BrokerErrorBody {
  const where = issue?.path.length ? `${issue.path.map(String).join('.')}: ` : '';
  return brokerError('invalid_input', `Bad request: ${where}${issue?.message ?? 'invalid'}`);
}
