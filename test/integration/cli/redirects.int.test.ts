/**
 * No HTTP client of the built CLI follows a redirect: `admin`, the signed-in commands and `login`
 * (ApiClient), and attach's Jupyter connection refuse a 3xx answer with a message that names where
 * it pointed, and nothing (token, body) reaches that address.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execCli } from '../sync/cliRunner';
import { buildServerCli } from '../server/serverProcess';

const TOKEN = `admin-token-${Math.random().toString(36).slice(2)}-redirect`;

/** Starts a server on 127.0.0.1; resolves with its URL. */
function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
    }),
  );
}

describe('redirects', () => {
  let cli: string;
  let home: string;
  let target: string;
  let redirector: string;
  const reached: IncomingMessage[] = [];
  const servers: Server[] = [];

  beforeAll(async () => {
    cli = await buildServerCli();
    home = mkdtempSync(join(tmpdir(), 'ns-redirects-'));
    // Where the redirects point: it answers like a server, and records whatever reaches it.
    const to = createServer((req, res) => {
      reached.push(req);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"users":[],"ok":true,"version":"0"}');
    });
    const from = createServer((req, res) => {
      res.writeHead(307, { location: `${target}${req.url}` });
      res.end();
    });
    servers.push(to, from);
    target = await listen(to);
    redirector = await listen(from);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    if (home) rmSync(home, { recursive: true, force: true });
  });

  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    execCli(cli, args, {
      env: {
        HOME: home,
        NOTEBOOK_SECRETS_CONFIG_DIR: join(home, 'config'),
        NOTEBOOK_SECRETS_KEYRING: '0',
        ...env,
      },
      input: TOKEN,
    });

  const refusal = (path: string) =>
    new RegExp(
      `answered ${path} with a redirect \\(HTTP 307\\) to ${target.replace(/\./g, '\\.')}${path}.*not followed`,
    );

  it('admin refuses a 307 and sends the token and the body nowhere else', async () => {
    const env = { NOTEBOOK_SECRETS_ADMIN_TOKEN: TOKEN };
    const list = await run(['admin', 'user', 'list', '--server', redirector], env);
    expect(list.code).toBe(2);
    expect(list.stderr).toMatch(refusal('/v1/users'));
    const add = await run(['admin', 'user', 'add', 'mallory', '--server', redirector], env);
    expect(add.code).toBe(2);
    expect(add.stderr).toMatch(refusal('/v1/users'));
    const created = await run(['admin', 'token', 'create', 'alice', '--server', redirector], env);
    expect(created.code).toBe(2);
    expect(created.stdout).toBe('');
    expect(reached).toEqual([]);
    for (const r of [list, add, created]) expect(r.stderr).not.toContain(TOKEN);
  });

  it('login and the signed-in commands refuse it too', async () => {
    const login = await run(['login', '--server', redirector, '--token-stdin']);
    expect(login.code).toBe(2);
    expect(login.stderr).toMatch(refusal('/v1/health'));
    const whoami = await run(['whoami'], {
      NOTEBOOK_SECRETS_SERVER: redirector,
      NOTEBOOK_SECRETS_TOKEN: TOKEN,
    });
    expect(whoami.code).toBe(2);
    expect(whoami.stderr).toMatch(refusal('/v1/me'));
    expect(reached).toEqual([]);
  });

  it('attach refuses it from the Jupyter server', async () => {
    const attach = await run(['attach', '--jupyter', `${redirector}/`, '--from-env', 'NS_'], {
      JUPYTER_TOKEN: TOKEN,
    });
    expect(attach.code).toBe(2);
    expect(attach.stderr).toMatch(/redirect \(HTTP 307\).*not followed/);
    expect(attach.stderr).not.toContain(TOKEN);
    expect(reached).toEqual([]);
  });
});
