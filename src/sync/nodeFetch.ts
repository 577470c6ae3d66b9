/**
 * The `fetch` of every client that sends a token (the CLI, the extension's team-server client, the
 * Jupyter connections of attach and Add Jupyter Server), over node:http and node:https:
 *
 * - It never follows a redirect: a 3xx answer rejects with RedirectRefused, so a token, a body or
 *   a printed answer never goes on to an address nobody checked.
 * - Plain http:// to the name `localhost` connects only to a loopback address
 *   (`loopbackOnlyLookup`): the plain-HTTP rule holds for the address actually connected to.
 * - `ca` adds one CA to trust for https://, for clients that cannot set NODE_EXTRA_CA_CERTS before
 *   they start (the extension runs in a process it does not launch).
 *
 * Node's built-in fetch loads undici on first use and keeps the process alive after the answer; a
 * CLI command that makes one request would pay for both on every run. Errors keep Node's codes
 * (ECONNREFUSED, TLS codes…) for classifyFetchError; a timeout rejects with the signal's
 * TimeoutError, as fetch does. The answer has what the clients read: status, ok, statusText,
 * headers.get, text() and json().
 */
import type { IncomingMessage } from 'node:http';
import type { Agent } from 'node:https';
import { InvalidInput } from '../core/errors';
import { loopbackOnlyLookup } from '../core/serverUrl';
import { displayText } from '../core/displayText';

/** A server answered with a redirect, which no client of ours follows. */
export class RedirectRefused extends InvalidInput {
  constructor(url: URL, status: number, location: string | undefined) {
    const to = location ? ` to ${displayText(location, 200)}` : '';
    super(
      `The server at ${url.origin} answered ${url.pathname} with a redirect (HTTP ${status})${to}. ` +
        'Redirects are not followed, so that a token or a value never goes on to an address you did ' +
        'not give: use the URL of the server itself.',
    );
  }
}

/** node:dns's lookup, checked for loopback names; loaded on first use. */
function guardedLookup() {
  return loopbackOnlyLookup(process.getBuiltinModule('node:dns').lookup);
}

/** Headers as a plain object, from a record, a Headers or a list of pairs. */
function headerRecord(headers: unknown): Record<string, string> {
  if (!headers) return {};
  const out: Record<string, string> = {};
  if (typeof (headers as Headers).forEach === 'function' && !Array.isArray(headers)) {
    (headers as Headers).forEach((value, name) => (out[name] = value));
  } else if (Array.isArray(headers)) {
    for (const [name, value] of headers as [string, string][]) out[name.toLowerCase()] = value;
  } else {
    Object.assign(out, headers as Record<string, string>);
  }
  return out;
}

/** A fetch as described above; with `ca`, https:// also trusts that CA (PEM). */
export function makeNodeFetch(options: { ca?: string | Buffer } = {}): typeof globalThis.fetch {
  let agent: Agent | undefined;
  const httpsAgent = (): Agent | undefined => {
    if (options.ca === undefined) return undefined;
    if (!agent) {
      const https = process.getBuiltinModule('node:https');
      const { rootCertificates } = process.getBuiltinModule('node:tls');
      agent = new https.Agent({
        ca: [...rootCertificates, options.ca.toString()],
        keepAlive: true,
      });
    }
    return agent;
  };
  return async (input: URL | string | Request, init: RequestInit = {}): Promise<Response> => {
    // @jupyterlab/services hands over a Request; the API client a URL and an init.
    const request = typeof input === 'object' && 'method' in input ? input : undefined;
    const url = new URL(request ? request.url : input);
    const method = init.method ?? request?.method ?? 'GET';
    const text =
      typeof init.body === 'string'
        ? init.body
        : request && method !== 'GET' && method !== 'HEAD'
          ? await request.text()
          : undefined;
    const body = text === undefined ? undefined : Buffer.from(text, 'utf8');
    const headers = { ...headerRecord(request?.headers), ...headerRecord(init.headers) };
    if (body) headers['content-length'] = String(body.length);
    const signal = init.signal ?? request?.signal ?? undefined;
    // Loaded on first use: https brings TLS, which commands without a request need not load.
    // getBuiltinModule, not import(): a dynamic import starts Node's ESM loader, which costs more
    // than the request.
    const secure = url.protocol === 'https:';
    const { request: send } = secure
      ? process.getBuiltinModule('node:https')
      : process.getBuiltinModule('node:http');
    const connect = secure
      ? { ...(httpsAgent() && { agent: httpsAgent() }) }
      : { lookup: guardedLookup() };
    return new Promise<Response>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const req = send(url, { method, headers, ...connect }, (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && status !== 304) {
          res.resume();
          signal?.removeEventListener('abort', onAbort);
          const location = res.headers.location;
          return reject(new RedirectRefused(url, status, location));
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          signal?.removeEventListener('abort', onAbort);
          const answer = Buffer.concat(chunks).toString('utf8');
          resolve({
            status,
            ok: status >= 200 && status < 300,
            statusText: res.statusMessage ?? '',
            headers: {
              get: (name: string) => {
                const value = res.headers[name.toLowerCase()];
                return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
              },
            },
            text: () => Promise.resolve(answer),
            json: () => Promise.resolve().then(() => JSON.parse(answer) as unknown),
          } as unknown as Response);
        });
      });
      const onAbort = (): void => {
        req.destroy();
        reject(signal!.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (error) => {
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      });
      req.end(body);
    });
  };
}

/** The fetch of clients that trust the system's CAs (and NODE_EXTRA_CA_CERTS). */
export const nodeFetch = makeNodeFetch();
