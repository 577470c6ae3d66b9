/**
 * Errors of the team-server client. Every failure of a request ends as one of these (or a core
 * MalformedResponse), with a message that says what happened and what to do, and never a value or
 * a token: messages are built from the URL's origin, the HTTP status and the server's own error
 * message (which the API promises is value-free), never from a request or response body.
 */
import { SecretsError, type ErrorCode } from '../core/errors';

/** Why the server could not be reached at all. */
export type UnreachableReason =
  'refused' | 'dns' | 'timeout' | 'tls' | 'reset' | 'network' | 'offline-simulated';

/** No HTTP answer: connection refused, DNS, TLS, timeout. Always worth retrying later. */
export class ServerUnreachable extends SecretsError {
  readonly retryable = true;
  constructor(
    readonly reason: UnreachableReason,
    message: string,
  ) {
    super('unavailable', message);
  }
}

/** An HTTP error answer of the API (`{error: {code, message}}`), or a non-API error page. */
export class ApiError extends SecretsError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly status: number,
    /** The server's own code (`version_conflict`, `last_owner`, …), when it sent one. */
    readonly apiCode: string | undefined,
    readonly details: { currentVersion?: number; retryAfterSeconds?: number; field?: string } = {},
  ) {
    super(code, message);
  }

  /** 5xx, 429 and 408 are worth retrying; other answers will not change by themselves. */
  get retryable(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

/** True when an error means "try again later" (server down, network, 5xx, rate limit). */
export function isRetryable(error: unknown): boolean {
  if (error instanceof ServerUnreachable) return true;
  if (error instanceof ApiError) return error.retryable;
  return false;
}

/** True when the server refused the token (wrong, expired or revoked). */
export function isUnauthorized(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401;
}

export function statusToCode(status: number): ErrorCode {
  switch (status) {
    case 400:
      return 'invalid_input';
    case 401:
      return 'unauthorized';
    case 403:
      return 'access_denied';
    case 404:
      return 'not_found';
    case 409:
      return 'name_taken';
    case 412:
      return 'version_conflict';
    case 413:
      return 'value_too_large';
    case 422:
      return 'last_owner';
    default:
      return status >= 500 || status === 429 ? 'unavailable' : 'internal';
  }
}

const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'EPROTO',
]);

/** A certificate chain that does not end at a CA this client trusts (self-signed, own CA). */
const UNTRUSTED_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/** How a Node.js client trusts a private CA; the extension says its own setting instead. */
export const NODE_CA_HINT =
  'set NODE_EXTRA_CA_CERTS to the CA certificate file (PEM) in the environment of notebook-secrets';

/**
 * Turns what fetch threw into a ServerUnreachable with a message a person can act on. `caHint`
 * says how this client trusts a private CA, for a certificate it does not trust.
 */
export function classifyFetchError(
  error: unknown,
  origin: string,
  caHint: string = NODE_CA_HINT,
): ServerUnreachable {
  const codes: string[] = [];
  let name = '';
  let detail = '';
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const obj = e as { code?: unknown; name?: unknown; cause?: unknown; errors?: unknown };
    if (typeof obj.code === 'string') codes.push(obj.code);
    if (!name && typeof obj.name === 'string') name = obj.name;
    if (depth > 0 && !detail && e instanceof Error && e.message.length < 80) detail = e.message;
    if (Array.isArray(obj.errors)) {
      for (const inner of obj.errors as { code?: unknown }[]) {
        if (typeof inner?.code === 'string') codes.push(inner.code);
      }
    }
    e = obj.cause;
  }
  const has = (...wanted: string[]): boolean => codes.some((c) => wanted.includes(c));
  if (
    name === 'TimeoutError' ||
    has('UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT')
  ) {
    return new ServerUnreachable(
      'timeout',
      `The team server at ${origin} did not answer in time. Check the URL and your network.`,
    );
  }
  if (has('ECONNREFUSED')) {
    return new ServerUnreachable(
      'refused',
      `Could not connect to the team server at ${origin} (connection refused). Is the server running, and is the port right?`,
    );
  }
  if (has('ENOTFOUND', 'EAI_AGAIN')) {
    return new ServerUnreachable(
      'dns',
      `The host of ${origin} was not found (DNS). Check the server URL.`,
    );
  }
  const tls = codes.find(
    (c) => TLS_CODES.has(c) || c.startsWith('ERR_TLS') || c.startsWith('ERR_SSL'),
  );
  const untrusted = codes.find((c) => UNTRUSTED_CODES.has(c));
  if (untrusted) {
    return new ServerUnreachable(
      'tls',
      `The TLS certificate of ${origin} is not trusted by this client (${untrusted}). If the server uses a self-signed certificate or your organization's own CA, ${caHint}; otherwise check that the server sends its full certificate chain.`,
    );
  }
  if (tls) {
    return new ServerUnreachable(
      'tls',
      `A secure (TLS) connection to ${origin} failed (${tls}). Check that the URL's scheme (http/https) is right and that the server's certificate is valid and trusted.`,
    );
  }
  if (has('ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE')) {
    return new ServerUnreachable(
      'reset',
      `The connection to the team server at ${origin} was closed unexpectedly. Check the URL (http vs https) and try again.`,
    );
  }
  return new ServerUnreachable(
    'network',
    `Could not reach the team server at ${origin}${codes[0] || detail ? ` (${codes[0] ?? detail})` : ''}. Check your network.`,
  );
}
