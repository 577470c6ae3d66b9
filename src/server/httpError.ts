/** An error with its HTTP status and API code; the message goes to the client as is. */
import type { ApiErrorCode } from '../core/api';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly extra: { current_version?: number; field?: string; retry_after?: number } = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const notFound = (what = 'secret'): HttpError =>
  new HttpError(404, 'not_found', `No ${what} with this id is available to you.`);

export const ownersOnly = (action: string): HttpError =>
  new HttpError(
    403,
    'access_denied',
    `Only owners of this secret can ${action}; you are a reader.`,
  );
