/**
 * A fetch that also trusts one more CA (a team server with a self-signed certificate or a
 * company CA), for clients that cannot set NODE_EXTRA_CA_CERTS before they start: the VS Code
 * extension runs in a process it does not launch. Built on node:https so it needs no dependency;
 * it does what ApiClient asks of fetch (method, headers, a string body, a signal, no redirects).
 */
import { Agent, request } from 'node:https';
import { rootCertificates } from 'node:tls';

/** `fetch` for https:// URLs that trusts the system's CAs and `ca` (PEM); other URLs use fetch. */
export function fetchTrusting(ca: string | Buffer): typeof globalThis.fetch {
  const agent = new Agent({ ca: [...rootCertificates, ca.toString()], keepAlive: true });
  return (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol !== 'https:') return globalThis.fetch(input, init);
    const signal = init.signal ?? undefined;
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    if (init.body != null && typeof init.body !== 'string')
      return Promise.reject(new TypeError('fetchTrusting sends string bodies only.'));
    return new Promise<Response>((resolve, reject) => {
      const fail = (error: unknown) => reject(signal?.aborted ? signal.reason : error);
      const req = request(
        url,
        { method: init.method ?? 'GET', headers, agent, ...(signal && { signal }) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', fail);
          res.on('end', () => {
            const answerHeaders = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              for (const one of Array.isArray(value) ? value : [value ?? ''])
                answerHeaders.append(name, one);
            }
            const status = res.statusCode ?? 502;
            const empty = status === 204 || status === 304 || init.method === 'HEAD';
            resolve(
              new Response(empty ? null : Buffer.concat(chunks), {
                status,
                statusText: res.statusMessage ?? '',
                headers: answerHeaders,
              }),
            );
          });
        },
      );
      req.on('error', fail);
      if (typeof init.body === 'string') req.end(init.body);
      else req.end();
    });
  };
}
