/**
 * Typed errors shared by every part. Messages name what was wrong and what to do, and never carry
 * a secret value: constructors take names and numbers only.
 */
export type ErrorCode =
  | 'invalid_name'
  | 'invalid_input'
  | 'value_too_large'
  | 'not_found'
  | 'name_taken'
  | 'version_conflict'
  | 'access_denied'
  | 'unauthorized'
  | 'last_owner'
  | 'unavailable'
  | 'malformed_response'
  | 'internal';

export class SecretsError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A sign-in through the identity provider that did not finish (refused, failed, expired). */
export class SignInFailed extends SecretsError {
  constructor(message: string) {
    super('unauthorized', message);
  }
}

export class InvalidInput extends SecretsError {
  constructor(message: string, code: ErrorCode = 'invalid_input') {
    super(code, message);
  }
}

export class ValueTooLarge extends SecretsError {
  constructor(
    readonly bytes: number,
    readonly limit: number,
    what = 'The value',
  ) {
    super(
      'value_too_large',
      `${what} is ${formatBytes(bytes)}; the limit is ${formatBytes(limit)} (UTF-8 bytes).`,
    );
  }
}

export class SecretNotFound extends SecretsError {
  constructor(readonly secretName: string) {
    super('not_found', `No secret named '${secretName}' is available.`);
  }
}

export class NameTaken extends SecretsError {
  constructor(readonly secretName: string) {
    super('name_taken', `A secret named '${secretName}' already exists in this scope.`);
  }
}

export class VersionConflict extends SecretsError {
  constructor(
    readonly secretName: string,
    readonly currentVersion?: number,
  ) {
    super(
      'version_conflict',
      `'${secretName}' was changed elsewhere` +
        (currentVersion === undefined ? '' : ` (now version ${currentVersion})`) +
        '; refresh and try again.',
    );
  }
}

export class AccessDenied extends SecretsError {
  constructor(message: string) {
    super('access_denied', message);
  }
}

export class Unavailable extends SecretsError {
  constructor(message: string) {
    super('unavailable', message);
  }
}

export class MalformedResponse extends SecretsError {
  constructor(message: string) {
    super('malformed_response', message);
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const kib = bytes / 1024;
  return `${Number.isInteger(kib) ? kib : kib.toFixed(1)} KiB`;
}
