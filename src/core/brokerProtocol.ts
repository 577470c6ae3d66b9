/**
 * The wire protocol between the kernel helper (python/notebook_secrets.py) and whoever answers it:
 * the broker over HTTP, or a Jupyter client in band (IOPub request, stdin `input_reply`).
 * Names and values never travel in URLs.
 */
import * as z from './zod';
import { Encoding, SecretName } from './model';
import { PLATFORM_FORMS } from './secretReads';

export const BROKER_PATH = '/v1/secret';

/**
 * `POST /v1/claim`: a kernel that found the broker in its environment (VS Code sets it up for the
 * local kernels the Jupyter extension starts) asks for a token of its own, naming its notebook.
 * Authorized by the window's claim token, which allows nothing else.
 */
export const BROKER_CLAIM_PATH = '/v1/claim';

export const ClaimRequest = z.strictObject({
  /** The notebook's file, as the Jupyter extension tells its kernels (`__vsc_ipynb_file__`). */
  notebook: z.string().check(z.minLength(1), z.maxLength(4096)),
});
export type ClaimRequest = z.infer<typeof ClaimRequest>;

export const ClaimResult = z.object({ token: z.string() });
export type ClaimResult = z.infer<typeof ClaimResult>;

/**
 * `POST /v1/setup`: what the kernel's notebook chose (notebookChoices.ts), asked by the helper
 * before the first cell and before a cell with other platforms' secret calls runs. With `ask`, a
 * notebook that has not chosen yet asks its user whether to serve those platforms' calls. Answered
 * with a kernel token, or with VS Code's claim token naming the `notebook` (then no token is
 * issued: a notebook that reads no secret never gets one).
 */
export const BROKER_SETUP_PATH = '/v1/setup';

export const SetupRequest = z.strictObject({
  ask: z.optional(z.array(z.enum(PLATFORM_FORMS)).check(z.maxLength(PLATFORM_FORMS.length))),
  notebook: z.optional(z.string().check(z.minLength(1), z.maxLength(4096))),
});
export type SetupRequest = z.infer<typeof SetupRequest>;

export interface SetupResult {
  /** null until the notebook's user chose. */
  serve_platform_calls: boolean | null;
  /** Names the notebook wants in its kernel's environment. */
  environment: string[];
  /** When the calls asked about are not served and nobody could be asked: what to do. */
  note?: string;
}

/**
 * `POST /v1/environment`: the values of names the notebook lists for its environment, after one
 * consent for all of them; with `check`, only which of them are still allowed (no value, no
 * question), asked before each cell to take revoked ones out.
 */
export const BROKER_ENVIRONMENT_PATH = '/v1/environment';

export const EnvironmentRequest = z.strictObject({
  names: z.array(SecretName).check(z.minLength(1), z.maxLength(100)),
  check: z.optional(z.boolean()),
});
export type EnvironmentRequest = z.infer<typeof EnvironmentRequest>;

export type EnvironmentResult =
  | {
      values: Record<string, GetSecretResult>;
      /** Why each name that is not served was not (denied, missing, not in the list). */
      refused: Record<string, string>;
    }
  | { allowed: string[] };

export const ScopeKindSchema = z.enum(['personal', 'project', 'team']);

/** Body of `POST /v1/secret`, and the fields of an in-band request. */
export const GetSecretRequest = z.strictObject({
  name: SecretName,
  scope: z.optional(ScopeKindSchema),
});
export type GetSecretRequest = z.infer<typeof GetSecretRequest>;

export const GetSecretResult = z.object({ value: z.string(), encoding: Encoding });
export type GetSecretResult = z.infer<typeof GetSecretResult>;

export const BROKER_ERROR_CODES = [
  'not_found',
  'access_denied',
  'unauthorized',
  'forbidden',
  'method_not_allowed',
  'invalid_input',
  'value_too_large',
  'rate_limited',
  'unavailable',
  'internal',
] as const;
export const BrokerErrorCode = z.enum(BROKER_ERROR_CODES);
export type BrokerErrorCode = z.infer<typeof BrokerErrorCode>;

export const BrokerErrorBody = z.object({
  error: z.object({ code: BrokerErrorCode, message: z.string() }),
});
export type BrokerErrorBody = z.infer<typeof BrokerErrorBody>;

/** What answering a request produces, whatever the transport. */
export type BrokerOutcome = GetSecretResult | BrokerErrorBody;

export const BROKER_HTTP_STATUS: Record<BrokerErrorCode, number> = {
  not_found: 404,
  access_denied: 403,
  unauthorized: 401,
  forbidden: 403,
  method_not_allowed: 405,
  invalid_input: 400,
  value_too_large: 413,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

export function brokerError(code: BrokerErrorCode, message: string): BrokerErrorBody {
  return { error: { code, message } };
}

export function isBrokerError(
  outcome: BrokerOutcome | ClaimResult | SetupResult | EnvironmentResult,
): outcome is BrokerErrorBody {
  return 'error' in outcome;
}

/** The IOPub message type the helper sends when it asks in band. */
export const INBAND_REQUEST_MSG_TYPE = 'notebook_secrets_request';
/** The key under which an `input_reply` value (a JSON string) carries the answer. */
export const INBAND_REPLY_KEY = 'notebook_secrets_reply';

/**
 * `content.request` of an in-band IOPub request: a secret (`name`, `scope`), or with `op` the same
 * requests as the broker's setup (`ask`) and environment (`names`, `check`) paths.
 */
export const InbandRequest = z.object({
  v: z.literal(1),
  id: z.string().check(z.minLength(1), z.maxLength(64)),
  token: z.string().check(z.minLength(1), z.maxLength(256)),
  op: z.optional(z.enum(['secret', 'setup', 'environment'])),
  name: z.optional(z.string()),
  scope: z.optional(z.string()),
  ask: z.optional(z.array(z.string())),
  names: z.optional(z.array(z.string())),
  check: z.optional(z.boolean()),
});
export type InbandRequest = z.infer<typeof InbandRequest>;

/** The JSON carried in `input_reply.content.value`: an acknowledgement, then the outcome. */
export function inbandReplyValue(
  id: string,
  body: BrokerOutcome | SetupResult | EnvironmentResult | { ack: true },
): string {
  return JSON.stringify({ [INBAND_REPLY_KEY]: { id, ...body } });
}
