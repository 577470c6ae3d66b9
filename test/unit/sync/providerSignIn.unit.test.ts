import { describe, expect, it } from 'vitest';
import { ApiClient } from '../../../src/sync/client';
import { signInWithProvider, type Receive } from '../../../src/sync/providerSignIn';
import { FakeServer } from './fakeServer';

const server = new FakeServer();
const api = new ApiClient({ baseUrl: 'https://fake.test', fetch: server.fetch });

/** A receiver whose redirect back is `query` (never, when undefined); records its disposal. */
function receiver(query?: string) {
  const seen = { disposed: false };
  const receive: Receive = (state) =>
    Promise.resolve({
      redirectUri: 'vscode://notebook-secrets.notebook-secrets/signed-in',
      received:
        query === undefined
          ? new Promise<URLSearchParams>(() => undefined)
          : Promise.resolve(new URLSearchParams(`state=${state}&${query}`)),
      dispose: () => (seen.disposed = true),
    });
  return { receive, seen };
}

const options = {
  provider: 'Test IdP',
  device: false,
  say: () => undefined,
  open: () => Promise.resolve(true),
};

describe('the browser sign-in', () => {
  it('gives up when the browser never comes back, as the server forgets the sign-in', async () => {
    const { receive, seen } = receiver();
    await expect(signInWithProvider(api, { ...options, receive, timeoutMs: 20 })).rejects.toThrow(
      /not finished in the browser within/,
    );
    expect(seen.disposed).toBe(true);
  });

  it('stops when its signal is aborted, with the reason given', async () => {
    const { receive, seen } = receiver();
    const stop = new AbortController();
    const running = signInWithProvider(api, { ...options, receive, signal: stop.signal });
    stop.abort(new Error('stopped by the person'));
    await expect(running).rejects.toThrow('stopped by the person');
    expect(seen.disposed).toBe(true);
  });

  it('stops with an error of its own when the abort reason is not an Error', async () => {
    const { receive, seen } = receiver();
    const stop = new AbortController();
    const running = signInWithProvider(api, { ...options, receive, signal: stop.signal });
    stop.abort('a plain string');
    await expect(running).rejects.toThrow(/^The sign-in was cancelled\.$/);
    expect(seen.disposed).toBe(true);
  });

  it('opens a sign-in pushed ahead, and the whole authorize URL on a server without them', async () => {
    const opened: string[] = [];
    const open = (url: string) => Promise.resolve(opened.push(url) > 0);
    const { receive } = receiver('error=access_denied');
    await expect(signInWithProvider(api, { ...options, open, receive })).rejects.toThrow();
    expect(opened[0]).toMatch(/^https:\/\/fake\.test\/v1\/auth\/requests\/request-\d+$/);
    expect(server.signInRequest(opened[0]!).get('redirect_uri')).toBe(
      'vscode://notebook-secrets.notebook-secrets/signed-in',
    );
    // A server from before pushed sign-ins answers 404 to the push.
    const older = new ApiClient({
      baseUrl: 'https://fake.test',
      fetch: (input, init) =>
        String(input).endsWith('/v1/auth/requests')
          ? Promise.resolve(
              Response.json(
                { error: { code: 'not_found', message: 'No such route.' } },
                { status: 404 },
              ),
            )
          : server.fetch(input, init),
    });
    await expect(signInWithProvider(older, { ...options, open, receive })).rejects.toThrow();
    const authorize = new URL(opened[1]!);
    expect(authorize.pathname).toBe('/v1/auth/authorize');
    expect(authorize.searchParams.get('redirect_uri')).toBe(
      'vscode://notebook-secrets.notebook-secrets/signed-in',
    );
  });

  it('says so when the redirect back carries neither a code nor an error', async () => {
    const { receive } = receiver('other=1');
    await expect(signInWithProvider(api, { ...options, receive })).rejects.toThrow(
      /came back without a code/,
    );
  });
});
