import * as http from 'node:http';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KernelSessions } from '../../../src/broker/kernelSessions';
import { KernelSetupHandler } from '../../../src/broker/kernelSetup';
import { SecretRequestHandler } from '../../../src/broker/requestHandler';
import { BrokerServer, type BrokerServerOptions } from '../../../src/broker/server';
import type { BrokerLog } from '../../../src/broker/secretSource';

const VALUE = 'CANARY_unit_7f3a9c2e11';

interface Sent {
  status: number;
  body: { value?: string; error?: { code: string; message: string } };
  headers: http.IncomingHttpHeaders;
}

function send(
  endpoint: string,
  opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<Sent> {
  const unix = endpoint.startsWith('unix:');
  const url = unix ? undefined : new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        ...(unix
          ? { socketPath: endpoint.slice(5), host: 'localhost' }
          : { host: url!.hostname, port: url!.port }),
        method: opts.method ?? 'POST',
        path: opts.path ?? '/v1/secret',
        headers: { 'Content-Type': 'application/json', ...opts.headers },
        agent: false,
      },
      (res) => {
        let data = '';
        res.on('data', (d: Buffer) => (data += d.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: data ? (JSON.parse(data) as Sent['body']) : {},
            headers: res.headers,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body ?? JSON.stringify({ name: 'API_KEY' }));
  });
}

const lines: string[] = [];
const log: BrokerLog = {
  debug: (m) => lines.push(m),
  info: (m) => lines.push(m),
  warn: (m) => lines.push(m),
  error: (m) => lines.push(m),
};

let broker: BrokerServer | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

/** Answers API_KEY with VALUE, and nothing else. */
function apiKeyHandler(): SecretRequestHandler {
  return new SecretRequestHandler({
    log,
    source: {
      resolve: async (name) =>
        name === 'API_KEY' ? { value: VALUE, encoding: 'text' } : undefined,
    },
  });
}

async function start(extra: Partial<BrokerServerOptions> = {}) {
  const sessions = new KernelSessions();
  const handler = apiKeyHandler();
  broker = new BrokerServer({ sessions, handler, log, ...extra });
  const endpoint = await broker.start();
  const { token } = sessions.issue('file:///a.ipynb');
  return { endpoint, token, sessions, auth: { Authorization: `Bearer ${token}` } };
}

describe('broker over a Unix socket', () => {
  it('serves a value to the right token, from a 0600 socket in a 0700 directory', async () => {
    const { endpoint, auth } = await start({ listen: 'unix' });
    expect(endpoint).toMatch(/^unix:/);
    const path = endpoint.slice(5);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(path)).mode & 0o777).toBe(0o700);
    const r = await send(endpoint, { headers: auth });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ value: VALUE, encoding: 'text' });
    expect(r.headers['cache-control']).toBe('no-store');
  });

  it('removes its socket directory when stopped', async () => {
    const { endpoint } = await start({ listen: 'unix' });
    await broker!.stop();
    broker = undefined;
    expect(() => statSync(dirname(endpoint.slice(5)))).toThrow();
  });
});

describe('loopback TCP listener for R kernels', () => {
  it('serves the same tokens on 127.0.0.1 next to the Unix socket, started once', async () => {
    const { endpoint, auth } = await start({ listen: 'unix' });
    const tcp = await broker!.tcpEndpoint();
    expect(tcp).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await broker!.tcpEndpoint()).toBe(tcp);
    expect((await send(tcp, { headers: auth })).body).toEqual({ value: VALUE, encoding: 'text' });
    expect((await send(endpoint, { headers: auth })).status).toBe(200);
  });

  it('refuses a foreign Host on the TCP listener, and the Unix socket Host on it', async () => {
    await start({ listen: 'unix' });
    const tcp = await broker!.tcpEndpoint();
    for (const host of ['evil.test', 'localhost']) {
      const r = await send(tcp, { headers: { Host: host } });
      expect(r.status).toBe(403);
    }
  });

  it('is the main endpoint in tcp mode, and closes when the broker stops', async () => {
    const { endpoint, auth } = await start({ listen: 'tcp' });
    expect(await broker!.tcpEndpoint()).toBe(endpoint);
    await broker!.stop();
    broker = undefined;
    await expect(send(endpoint, { headers: auth })).rejects.toThrow();
  });
});

describe('broker authentication and request checks', () => {
  it('listens on 127.0.0.1 with a random port in tcp mode', async () => {
    const { endpoint, auth } = await start({ listen: 'tcp' });
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await send(endpoint, { headers: auth })).status).toBe(200);
  });

  it('refuses a missing, malformed, unknown or revoked token with 401', async () => {
    const { endpoint, token, sessions } = await start({ listen: 'tcp' });
    const attempts: Record<string, string>[] = [
      {},
      { Authorization: 'Basic abc' },
      { Authorization: `Bearer ${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}` },
      { Authorization: `Bearer ${'x'.repeat(300)}` },
    ];
    for (const headers of attempts) {
      const r = await send(endpoint, { headers });
      expect(r.status).toBe(401);
      expect(r.body.error?.code).toBe('unauthorized');
    }
    sessions.revoke(token);
    expect((await send(endpoint, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(
      401,
    );
  });

  it('refuses requests with an Origin header or from a browser fetch, even with a valid token', async () => {
    const { endpoint, auth } = await start({ listen: 'tcp' });
    const withOrigin = await send(endpoint, {
      headers: { ...auth, Origin: 'https://evil.example' },
    });
    expect(withOrigin.status).toBe(403);
    expect(withOrigin.body.error?.code).toBe('forbidden');
    const fetchSite = await send(endpoint, {
      headers: { ...auth, 'Sec-Fetch-Site': 'cross-site' },
    });
    expect(fetchSite.status).toBe(403);
  });

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    const { endpoint, auth } = await start({ listen: 'tcp' });
    const r = await send(endpoint, { headers: { ...auth, Host: 'attacker.example:80' } });
    expect(r.status).toBe(403);
    expect(r.body.error?.message).toBe('Unexpected Host header.');
    const port = new URL(endpoint).port;
    expect((await send(endpoint, { headers: { ...auth, Host: `localhost:${port}` } })).status).toBe(
      200,
    );
  });

  it('accepts POST only, on one path, as JSON', async () => {
    const { endpoint, auth } = await start({ listen: 'tcp' });
    const get = await send(endpoint, { method: 'GET', headers: auth, body: '' });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect((await send(endpoint, { path: '/v1/secret?name=API_KEY', headers: auth })).status).toBe(
      400,
    );
    const form = await send(endpoint, {
      headers: { ...auth, 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(400);
    const notJson = await send(endpoint, { headers: auth, body: '{' });
    expect(notJson.body.error?.message).toBe('The request body is not JSON.');
    const badName = await send(endpoint, { headers: auth, body: JSON.stringify({ name: '1x' }) });
    expect(badName.status).toBe(400);
    expect(badName.body.error?.code).toBe('invalid_input');
    const huge = await send(endpoint, {
      headers: auth,
      body: JSON.stringify({ name: 'a'.repeat(5000) }),
    });
    expect(huge.body.error?.message).toBe('The request body is too large.');
  });

  it('answers 404 not_found for an unknown name, with what to do', async () => {
    const { endpoint, auth } = await start({ listen: 'tcp' });
    const r = await send(endpoint, { headers: auth, body: JSON.stringify({ name: 'NOPE' }) });
    expect(r.status).toBe(404);
    expect(r.body.error?.message).toMatch(/No secret named 'NOPE'.*Notebook Secrets view/);
  });
});

describe('broker rate limits', () => {
  it('answers 429 with Retry-After once a kernel exceeds its rate, then recovers', async () => {
    const { endpoint, auth } = await start({
      listen: 'tcp',
      rateLimit: { perSecond: 20, burst: 3 },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await send(endpoint, { headers: auth })).status);
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses).toContain(429);
    const limited = await send(endpoint, { headers: auth });
    if (limited.status === 429) expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200));
    expect((await send(endpoint, { headers: auth })).status).toBe(200);
  });

  it('limits failed authentications across all clients', async () => {
    const { endpoint } = await start({
      listen: 'tcp',
      authFailureLimit: { perSecond: 1, burst: 2 },
    });
    const bad = { Authorization: `Bearer ${'B'.repeat(43)}` };
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await send(endpoint, { headers: bad })).status);
    expect(statuses).toEqual([401, 401, 429, 429]);
  });
});

describe('broker logs', () => {
  it('never contain a value', () => {
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(VALUE);
  });
});

describe('claims (POST /v1/claim)', () => {
  const CLAIM = 'claim-token-of-this-window-0123456789';
  const gate = (answers: string[]) => ({
    accepts: (t: string) => t === CLAIM,
    claim: async ({ notebook }: { notebook: string }) => {
      answers.push(notebook);
      return { token: 'kernel-token' };
    },
  });

  it("hands the gate the notebook a claim names, with the window's claim token only", async () => {
    const asked: string[] = [];
    const { endpoint, token } = await start({ claims: gate(asked) });
    const body = JSON.stringify({ notebook: '/work/a.ipynb' });
    const ok = await send(endpoint, {
      path: '/v1/claim',
      headers: { Authorization: `Bearer ${CLAIM}` },
      body,
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ token: 'kernel-token' });
    // A kernel's own token is no claim token, and a claim token reads no secret.
    const withKernelToken = await send(endpoint, {
      path: '/v1/claim',
      headers: { Authorization: `Bearer ${token}` },
      body,
    });
    expect(withKernelToken.status).toBe(401);
    const read = await send(endpoint, { headers: { Authorization: `Bearer ${CLAIM}` } });
    expect(read.status).toBe(401);
    expect(asked).toEqual(['/work/a.ipynb']);
  });

  it('refuses a claim with more than the notebook, and the path where no gate is set', async () => {
    const { endpoint } = await start({ claims: gate([]) });
    const extra = await send(endpoint, {
      path: '/v1/claim',
      headers: { Authorization: `Bearer ${CLAIM}` },
      body: JSON.stringify({ notebook: '/work/a.ipynb', name: 'API_KEY' }),
    });
    expect(extra.status).toBe(400);
    await broker!.stop();
    const plain = await start();
    const unknown = await send(plain.endpoint, {
      path: '/v1/claim',
      headers: { Authorization: `Bearer ${CLAIM}` },
      body: JSON.stringify({ notebook: '/work/a.ipynb' }),
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error?.message).toMatch(/Unknown path/);
  });
});

describe('setup and environment (POST /v1/setup, /v1/environment)', () => {
  const CLAIM = 'claim-token-of-this-window-0123456789';

  async function withSetup(environment: string[], askServe?: () => Promise<boolean | undefined>) {
    const sessions = new KernelSessions();
    const handler = apiKeyHandler();
    const setup = new KernelSetupHandler({
      secrets: handler,
      log,
      choices: { choices: () => ({ environment }), ...(askServe && { askServe }) },
    });
    const claimed: unknown[] = [];
    broker = new BrokerServer({
      sessions,
      handler,
      setup,
      log,
      claims: {
        accepts: (t) => t === CLAIM,
        claim: async () => ({ token: 'never' }),
        setup: async (body) => {
          claimed.push(body);
          return { serve_platform_calls: null, environment: ['FROM_CLAIM'] };
        },
      },
    });
    const endpoint = await broker.start();
    const { token } = sessions.issue('file:///a.ipynb');
    return { endpoint, auth: { Authorization: `Bearer ${token}` }, claimed };
  }

  it("answers a kernel's setup and environment with its token; names outside the list are refused", async () => {
    const { endpoint, auth } = await withSetup(['API_KEY', 'MISSING_KEY'], async () => true);
    const setup = await send(endpoint, {
      path: '/v1/setup',
      headers: auth,
      body: JSON.stringify({ ask: ['colab'] }),
    });
    expect(setup.body).toEqual({
      serve_platform_calls: true,
      environment: ['API_KEY', 'MISSING_KEY'],
    });
    const env = await send(endpoint, {
      path: '/v1/environment',
      headers: auth,
      body: JSON.stringify({ names: ['API_KEY', 'MISSING_KEY', 'OTHER_KEY'] }),
    });
    expect(env.status).toBe(200);
    expect(env.body).toMatchObject({
      values: { API_KEY: { value: VALUE, encoding: 'text' } },
      refused: {
        MISSING_KEY: expect.stringMatching(/No secret named 'MISSING_KEY'/),
        OTHER_KEY: "'OTHER_KEY' is not in this notebook's environment list.",
      },
    });
    const check = await send(endpoint, {
      path: '/v1/environment',
      headers: auth,
      body: JSON.stringify({ names: ['API_KEY', 'OTHER_KEY'], check: true }),
    });
    expect(check.body).toEqual({ allowed: ['API_KEY'] });
    const bad = await send(endpoint, {
      path: '/v1/environment',
      headers: auth,
      body: JSON.stringify({ names: ['not a name'] }),
    });
    expect(bad.status).toBe(400);
    expect(lines.join('\n')).not.toContain(VALUE);
  });

  it('answers a setup with the claim token through the gate, and reads nothing with it', async () => {
    const { endpoint, claimed } = await withSetup([]);
    const claim = { Authorization: `Bearer ${CLAIM}` };
    const setup = await send(endpoint, {
      path: '/v1/setup',
      headers: claim,
      body: JSON.stringify({ notebook: '/work/a.ipynb' }),
    });
    expect(setup.body).toEqual({ serve_platform_calls: null, environment: ['FROM_CLAIM'] });
    expect(claimed).toEqual([{ notebook: '/work/a.ipynb' }]);
    const env = await send(endpoint, {
      path: '/v1/environment',
      headers: claim,
      body: JSON.stringify({ names: ['API_KEY'] }),
    });
    expect(env.status).toBe(401);
  });
});
