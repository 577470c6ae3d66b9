import { describe, expect, it } from 'vitest';
import { InvalidInput, MalformedResponse } from '../../../src/core/errors';
import { normalizeServerUrl } from '../../../src/core/serverUrl';
import { ApiClient } from '../../../src/sync/client';
import { ApiError, ServerUnreachable, classifyFetchError } from '../../../src/sync/errors';
import { backoffDelay } from '../../../src/sync/scheduler';

const CANARY = 'canary-client-91be';

function answering(status: number, body: string, type = 'application/json'): typeof fetch {
  return () => Promise.resolve(new Response(body, { status, headers: { 'content-type': type } }));
}

function throwing(code: string): typeof fetch {
  return () =>
    Promise.reject(
      Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error(code), { code }),
      }),
    );
}

const meta = {
  id: 's1',
  name: 'A',
  encoding: 'text',
  type: 'generic',
  description: '',
  scope: { kind: 'personal' },
  version: 1,
  created_at: 'x',
  updated_at: 'x',
  created_by: 'alice',
  access: [],
};

describe('ApiClient', () => {
  it('normalizes and checks the server URL', () => {
    expect(normalizeServerUrl(' http://127.0.0.1:8787/ ')).toBe('http://127.0.0.1:8787');
    expect(() => normalizeServerUrl('ftp://x')).toThrow(InvalidInput);
    expect(() => normalizeServerUrl('not a url')).toThrow(/not a full URL/);
    expect(() => normalizeServerUrl('https://u:p@host')).toThrow(/credentials/);
  });

  it('sends the token and If-Match, and validates the answer', async () => {
    let seen: Headers | undefined;
    const api = new ApiClient({
      baseUrl: 'http://h/',
      token: 't0k',
      fetch: (_url, init) => {
        seen = new Headers(init?.headers);
        return Promise.resolve(
          new Response(JSON.stringify({ ...meta, version: 2 }), { status: 200 }),
        );
      },
    });
    const result = await api.updateSecret('s1', 1, { value: CANARY });
    expect(result.version).toBe(2);
    expect(seen?.get('authorization')).toBe('Bearer t0k');
    expect(seen?.get('if-match')).toBe('"1"');
  });

  it('explains a wrong URL (an HTML 404 page) without echoing the body', async () => {
    const api = new ApiClient({
      baseUrl: 'http://h',
      token: 't',
      fetch: answering(404, `<html>${CANARY}</html>`, 'text/html'),
    });
    const error = await api.me().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as Error).message).toMatch(/HTTP 404 \(text\/html\).*Check the URL/);
    expect((error as Error).message).not.toContain(CANARY);
  });

  it('says a refused token is wrong, expired or revoked', async () => {
    const api = new ApiClient({
      baseUrl: 'http://h',
      token: 't',
      fetch: answering(401, '{"error":{"code":"unauthorized","message":"no"}}'),
    });
    await expect(api.me()).rejects.toThrow(/refused the token \(401\).*Sign in again/);
  });

  it('maps API errors to typed errors with the server message and current version', async () => {
    const body = JSON.stringify({
      error: { code: 'version_conflict', message: 'Stale version.', current_version: 5 },
    });
    const api = new ApiClient({ baseUrl: 'http://h', token: 't', fetch: answering(412, body) });
    const error = (await api.updateSecret('s1', 1, {}).catch((e: unknown) => e)) as ApiError;
    expect(error.code).toBe('version_conflict');
    expect(error.details.currentVersion).toBe(5);
    expect(error.retryable).toBe(false);
  });

  it('turns a malformed answer into MalformedResponse naming the field, never the value', async () => {
    const bad = JSON.stringify({ value: 42, encoding: 'text', version: 1, extra: CANARY });
    const api = new ApiClient({ baseUrl: 'http://h', token: 't', fetch: answering(200, bad) });
    const error = (await api.getValue('s1').catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(MalformedResponse);
    expect(error.message).toMatch(/field value/);
    expect(error.message).not.toContain(CANARY);
    const notJson = new ApiClient({
      baseUrl: 'http://h',
      token: 't',
      fetch: answering(200, CANARY, 'text/plain'),
    });
    const error2 = (await notJson.getValue('s1').catch((e: unknown) => e)) as Error;
    expect(error2.message).toMatch(/not JSON \(text\/plain\)/);
    expect(error2.message).not.toContain(CANARY);
  });

  it('classifies network failures', async () => {
    for (const [code, reason, text] of [
      ['ECONNREFUSED', 'refused', /connection refused/],
      ['ENOTFOUND', 'dns', /not found \(DNS\)/],
      ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls', /TLS.*certificate/],
      ['ECONNRESET', 'reset', /closed unexpectedly/],
      ['ENETUNREACH', 'network', /Could not reach/],
    ] as const) {
      const api = new ApiClient({ baseUrl: 'https://h', token: 't', fetch: throwing(code) });
      const error = (await api.me().catch((e: unknown) => e)) as ServerUnreachable;
      expect(error).toBeInstanceOf(ServerUnreachable);
      expect(error.reason).toBe(reason);
      expect(error.message).toMatch(text);
    }
    const timeout = Object.assign(new Error('t'), { name: 'TimeoutError' });
    expect(classifyFetchError(timeout, 'http://h').reason).toBe('timeout');
  });

  it('says how to trust a private CA when the certificate is not trusted', async () => {
    for (const code of [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
    ]) {
      const cli = new ApiClient({ baseUrl: 'https://h', token: 't', fetch: throwing(code) });
      const error = (await cli.me().catch((e: unknown) => e)) as ServerUnreachable;
      expect(error.message).toMatch(new RegExp(`not trusted.*${code}.*NODE_EXTRA_CA_CERTS`));
      const editor = new ApiClient({
        baseUrl: 'https://h',
        token: 't',
        fetch: throwing(code),
        caHint: 'set the setting notebookSecrets.server.caFile',
      });
      const error2 = (await editor.me().catch((e: unknown) => e)) as ServerUnreachable;
      expect(error2.message).toContain('notebookSecrets.server.caFile');
      expect(error2.message).not.toContain('NODE_EXTRA_CA_CERTS');
    }
  });

  it('refuses to send a request without a token', async () => {
    const api = new ApiClient({ baseUrl: 'http://h', fetch: answering(200, '{}') });
    await expect(api.me()).rejects.toThrow(/Not signed in/);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially with jitter and stays under the cap', () => {
    expect(backoffDelay(0, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffDelay(0, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffDelay(3, 1000, 60_000, () => 0.5)).toBe(6000);
    expect(backoffDelay(20, 1000, 60_000, () => 1)).toBe(60_000);
  });
});
