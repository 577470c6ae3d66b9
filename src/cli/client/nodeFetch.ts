/**
 * The part of `fetch` the API client uses, over node:http/https. Node's built-in fetch loads
 * undici on first use and keeps the process alive after the answer; a CLI command that makes one
 * request pays for both on every run, so the CLI passes this one to ApiClient instead.
 * Errors keep Node's codes (ECONNREFUSED, TLS codes…) for classifyFetchError; a timeout rejects
 * with the signal's TimeoutError, as fetch does.
 */
import type { IncomingMessage } from 'node:http';

export const nodeFetch = (async (
  input: URL | string,
  init: RequestInit = {},
): Promise<Response> => {
  const url = new URL(String(input));
  // Loaded on first use: https brings TLS, which commands without a request need not load.
  // getBuiltinModule, not import(): a dynamic import starts Node's ESM loader, which costs more
  // than the request.
  const { request: send } =
    url.protocol === 'https:'
      ? process.getBuiltinModule('node:https')
      : process.getBuiltinModule('node:http');
  const body = typeof init.body === 'string' ? Buffer.from(init.body, 'utf8') : undefined;
  const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
  if (body) headers['content-length'] = String(body.length);
  const signal = init.signal ?? undefined;
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const req = send(url, { method: init.method ?? 'GET', headers }, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (init.redirect === 'error' && status >= 300 && status < 400) {
        res.resume();
        return reject(new TypeError('unexpected redirect'));
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        signal?.removeEventListener('abort', onAbort);
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status,
          ok: status >= 200 && status < 300,
          headers: {
            get: (name: string) => {
              const value = res.headers[name.toLowerCase()];
              return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
            },
          },
          text: () => Promise.resolve(text),
        } as unknown as Response);
      });
    });
    const onAbort = (): void => {
      req.destroy();
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
    req.end(body);
  });
}) as typeof globalThis.fetch;
