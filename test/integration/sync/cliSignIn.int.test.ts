/**
 * `notebook-secrets login` through the team server's identity provider (oidc-provider on
 * loopback), with the built CLI: the device grant with no browser here, the browser sign-in back
 * to a loopback port, refresh of an expired access token, and no token in the config, the
 * output or the server's logs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, serverEnv, startTestProvider, type TestProvider } from '../server/oidcProvider';
import { cliEnv, cliRunner, type CliResult, type RunCli } from './cliRunner';
import { buildCli, freePort, startServer, type RunningServer } from './harness';

describe('notebook-secrets login with an identity provider (built CLI, real server)', () => {
  let cli: string;
  let home: string;
  let idp: TestProvider;
  let server: RunningServer;
  let run: RunCli;

  beforeAll(async () => {
    cli = await buildCli();
    home = mkdtempSync(join(tmpdir(), 'ns-cli-signin-'));
    const port = await freePort();
    idp = await startTestProvider(`http://127.0.0.1:${port}/v1/auth/callback`);
    server = await startServer({
      port,
      env: {
        ...serverEnv(idp),
        // Short-lived, so the test sees a refresh: 3 seconds.
        NOTEBOOK_SECRETS_ACCESS_TOKEN_MINUTES: '0.05',
      },
    });
    run = cliRunner(cli, home);
  });

  afterAll(async () => {
    await server?.dispose();
    await idp?.close();
    rmSync(home, { recursive: true, force: true });
  });

  /** Runs `login` and, once it prints the URL to open, signs in there as `login`. */
  function login(user: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [cli, 'login', '--server', server.url, ...args], {
        env: { ...cliEnv(home, user), ...env },
      });
      let stdout = '';
      let stderr = '';
      let opened = false;
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const url =
          /open (http\S+complete\S*|http\S+user_code=\S+)\)?/.exec(stderr)?.[1] ??
          /visit:\s+(http\S+)/.exec(stderr)?.[1];
        if (url && !opened) {
          opened = true;
          void new Browser(user).open(url.replace(/\)$/, ''));
        }
      });
      child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  }

  const credentials = (user: string) =>
    readFileSync(join(home, user, 'config', 'credentials.json'), 'utf8');

  it('signs in with a code on another device, then reads and writes as that person', async () => {
    idp.people.set('alice', { groups: ['data'] });
    const result = await login('alice', ['--device']);
    expect(result.stderr).toMatch(
      /To sign in with Test IdP, open \S+ on any device and enter the code/,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Signed in to \S+ as alice \(teams: data\)/);
    expect((await run('alice', ['set', 'API_KEY'], 'value-1')).code).toBe(0);
    const got = await run('alice', ['get', 'API_KEY']);
    expect(got.stdout).toBe('value-1');
    // The sign-in is in her audit log, with how she signed in.
    const audit = await run('alice', ['audit']);
    expect(audit.stdout).toMatch(/alice\s+sign_in\s+notebook-secrets-cli\S*\s+device/);
  });

  it('signs in through the browser, back to a loopback port', async () => {
    idp.people.set('bob', { groups: [] });
    const result = await login('bob', [], { BROWSER: 'true' });
    expect(result.stderr).toMatch(/Sign in with Test IdP in your browser/);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/as bob/);
  });

  it('renews an expired access token with the refresh token, and keeps tokens out of config and output', async () => {
    idp.people.set('carol', { groups: ['data'] });
    const result = await login('carol', ['--device']);
    expect(result.code, result.stderr).toBe(0);
    const before = JSON.parse(credentials('carol')) as { tokens: Record<string, string> };
    const access = before.tokens[server.url]!;
    // Wait for the access token to expire, as the server sees it.
    while (
      (await fetch(`${server.url}/v1/me`, { headers: { authorization: `Bearer ${access}` } })).ok
    ) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const list = await run('carol', ['list']);
    expect(list.code, list.stderr).toBe(0);
    const after = JSON.parse(credentials('carol')) as { tokens: Record<string, string> };
    expect(after.tokens[server.url]).not.toBe(access);
    expect(after.tokens[`${server.url} refresh`]).not.toBe(before.tokens[`${server.url} refresh`]);
    const config = readFileSync(join(home, 'carol', 'config', 'config.json'), 'utf8');
    const outputs = result.stdout + result.stderr + list.stdout + list.stderr + server.output();
    for (const token of [
      ...idp.sent,
      ...Object.values(before.tokens),
      ...Object.values(after.tokens),
    ]) {
      expect(config).not.toContain(token);
      expect(outputs).not.toContain(token);
    }
    // Signed out: the refresh token no longer works either.
    expect((await run('carol', ['logout'])).code).toBe(0);
    const refused = await fetch(`${server.url}/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'refresh_token',
        refresh_token: after.tokens[`${server.url} refresh`],
      }),
    });
    expect(refused.status).toBe(400);
  });
});
