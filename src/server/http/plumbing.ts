/**
 * The HTTP plumbing every route shares: JSON bodies only (parse errors never echo the body), one
 * error shape `{error: {code, message}}`, the headers of every answer, strings the database
 * cannot hold refused before a route sees them, and one log line per request (method, route,
 * status, time and user id: never bodies, headers or values).
 */
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import { versionTag, type ApiErrorBody } from '../../core/api';
import { KeyError } from '../crypto';
import { HttpError } from '../httpError';
import { checkStrings } from '../validation';

/** How long a refused request's unread body may keep arriving before its socket is closed. */
const LINGER_MS = 2_000;

export interface PlumbingOptions {
  /** The largest body in bytes, named in the 413 answer. */
  bodyLimit: number;
}

export const plumbingPlugin = fp(
  async (app: FastifyInstance, { bodyLimit }: PlumbingOptions) => {
    // JSON bodies only; parse errors must not echo the body back (Node's messages quote it).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
      const text = String(body);
      if (text.trim() === '') return done(null, undefined);
      try {
        done(
          null,
          JSON.parse(text, (key, value: unknown) => {
            if (key === '__proto__' || key === 'constructor') {
              throw new HttpError(
                400,
                'invalid_input',
                `The body may not contain the key '${key}'.`,
              );
            }
            return value;
          }),
        );
      } catch (error) {
        if (error instanceof HttpError) return done(error, undefined);
        done(new HttpError(400, 'malformed_json', 'The body is not valid JSON.'), undefined);
      }
    });

    app.setNotFoundHandler((request, reply) => {
      void sendError(
        reply,
        new HttpError(
          404,
          'not_found',
          `There is no endpoint ${request.method} ${request.url.split('?')[0]}.`,
        ),
      );
    });

    app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request, reply) =>
      handleError(error, request, reply, bodyLimit),
    );

    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
      // Keep-alive sockets between requests would hold the close until they time out.
      app.server.closeIdleConnections();
    });

    app.addHook('onRequest', async (request, reply) => {
      reply.header('Cache-Control', 'no-store');
      reply.header('X-Content-Type-Options', 'nosniff');
    });

    // Strings the database cannot hold as sent are refused before any route sees them. Values
    // are sealed, not stored as text: NUL is fine there.
    app.addHook('preValidation', async (request, reply) => {
      try {
        checkStrings(request.params, 'path');
        checkStrings(request.query, 'query');
        checkStrings(request.body, 'body', (path) => path.length === 1 && path[0] === 'value');
      } catch (error) {
        await app.auth.checkFirst(request, reply);
        throw error;
      }
    });

    app.addHook('onSend', async (request, reply) => {
      // A request that was in flight when the server began to stop is the last on its connection.
      if (closing) reply.header('Connection', 'close');
    });

    app.addHook('onResponse', async (request, reply) => {
      lingerOnUnreadBody(request);
      request.log.info(
        {
          method: request.method,
          route: request.routeOptions.url ?? 'unknown',
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
          user: request.caller?.userId,
        },
        'request',
      );
    });
  },
  { name: 'plumbing', dependencies: ['auth'] },
);

function handleError(
  error: Error & { code?: string; statusCode?: number },
  request: FastifyRequest,
  reply: FastifyReply,
  bodyLimit: number,
): FastifyReply {
  if (error instanceof HttpError) return sendError(reply, error);
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      // Fastify asks to close at once; the client, still sending, would then get a reset
      // instead of this answer. Node drains the rest instead, bounded by lingerOnUnreadBody.
      reply.removeHeader('connection');
      return sendError(
        reply,
        new HttpError(413, 'body_too_large', `The body is larger than ${bodyLimit} bytes.`),
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return sendError(
        reply,
        new HttpError(
          415,
          'unsupported_media_type',
          "Send bodies as 'Content-Type: application/json'.",
        ),
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return sendError(
        reply,
        new HttpError(400, 'malformed_json', 'The body is empty or its length is wrong.'),
      );
  }
  if (error instanceof KeyError) {
    request.log.error({ err: error }, 'a stored value does not decrypt');
    return sendError(
      reply,
      new HttpError(
        500,
        'internal',
        'The server cannot decrypt this value; an administrator must check its keys.',
      ),
    );
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return sendError(reply, new HttpError(400, 'invalid_input', 'The request is malformed.'));
  }
  request.log.error({ err: error }, 'request failed');
  return sendError(
    reply,
    new HttpError(500, 'internal', 'The server failed on this request; it has been logged.'),
  );
}

/** The logger: JSON lines to a stream (stderr by default), errors by type and code only. */
export function loggerOptions(options: {
  logStream?: NodeJS.WritableStream | false;
  logLevel?: string;
}): FastifyServerOptions['logger'] {
  if (options.logStream === false) return false;
  return {
    level: options.logLevel ?? 'info',
    stream: options.logStream ?? process.stderr,
    // Only these fields are ever logged for errors: never messages that might echo input.
    serializers: {
      err: (err: Error & { code?: string }) => ({
        type: err.name,
        code: err.code,
        ...(err instanceof HttpError || err instanceof SyntaxError ? {} : { stack: err.stack }),
      }),
    },
  } as unknown as FastifyServerOptions['logger'];
}

/**
 * A request answered before its whole body arrived (refused unauthenticated, or too large) keeps
 * its connection, so the client can read the answer while it finishes sending: Node discards the
 * rest of the body. A client that has not finished after LINGER_MS loses the connection.
 */
function lingerOnUnreadBody(request: FastifyRequest): void {
  const raw = request.raw;
  const socket = raw.socket as Partial<Socket> | undefined;
  // (Injected requests, in tests, have no real socket.)
  if (raw.complete || typeof socket?.destroy !== 'function' || socket.destroyed) return;
  setTimeout(() => {
    if (!raw.complete) socket.destroy!();
  }, LINGER_MS).unref();
}

function sendError(reply: FastifyReply, error: HttpError): FastifyReply {
  const body: ApiErrorBody = {
    error: { code: error.code, message: error.message, ...error.extra },
  };
  if (error.extra.current_version !== undefined)
    reply.header('ETag', versionTag(error.extra.current_version));
  return reply.code(error.status).type('application/json; charset=utf-8').send(body);
}
