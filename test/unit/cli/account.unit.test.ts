/**
 * Signing in and out, the active project, and `admin`'s refusals, run in-process through each
 * command's `run(…, io)` against the fake server (see cliHarness.ts).
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { action } from '../../../src/cli/client/io';
import { EXIT } from '../../../src/cli/client/session';
import * as admin from '../../../src/cli/commands/admin';
import * as login from '../../../src/cli/commands/login';
import * as logout from '../../../src/cli/commands/logout';
import * as projects from '../../../src/cli/commands/projects';
import { fakeServer, recordingIo, SERVER_URL } from './cliHarness';

/** An io without a sign-in in its environment, keeping its config in `dir`. */
function signedOutIo(server: ReturnType<typeof fakeServer>, dir: string, stdin?: string) {
  return recordingIo(server, {
    ...(stdin !== undefined && { stdin }),
    env: {
      NOTEBOOK_SECRETS_CONFIG_DIR: dir,
      NOTEBOOK_SECRETS_SERVER: undefined,
      NOTEBOOK_SECRETS_TOKEN: undefined,
    },
  });
}

describe('login and logout', () => {
  it('login keeps the token from stdin in the 0600 file; logout revokes and forgets it', async () => {
    const server = fakeServer();
    const token = server.addUser('carol', 'tok-carol-login');
    const dir = mkdtempSync(join(tmpdir(), 'nbsec-login-'));
    const signIn = signedOutIo(server, dir, `${token}\n`);
    await login.run({ server: SERVER_URL, tokenStdin: true }, signIn);
    expect(signIn.out).toBe(
      `Signed in to ${SERVER_URL} as carol (teams: none). Token kept in ${dir}/credentials.json (0600).\n`,
    );
    expect(signIn.err).toBe('');
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toMatchObject({
      server: SERVER_URL,
      user: 'carol',
    });

    const signOut = signedOutIo(server, dir);
    await logout.run({ json: true }, signOut);
    expect(JSON.parse(signOut.out)).toEqual({
      signed_out: true,
      revoked: true,
      server: SERVER_URL,
    });
    expect(server.tokens.has(token)).toBe(false);
    expect(readFileSync(join(dir, 'config.json'), 'utf8')).not.toContain('carol');
  });

  it('a refused token exits 3 and saves nothing', async () => {
    const server = fakeServer();
    const dir = mkdtempSync(join(tmpdir(), 'nbsec-login-'));
    const io = signedOutIo(server, dir, 'tok-wrong');
    const command = { optsWithGlobals: () => ({}) } as unknown as Command;
    await action<[Command]>(
      (inner) => login.run({ server: SERVER_URL, tokenStdin: true }, inner),
      io,
    )(command);
    expect(io.exitCode).toBe(EXIT.unauthorized);
    expect(io.err).not.toContain('tok-wrong');
    expect(existsSync(join(dir, 'config.json'))).toBe(false);
    expect(existsSync(join(dir, 'credentials.json'))).toBe(false);
  });

  it('--token warns that it may stay in the shell history', async () => {
    const server = fakeServer();
    const dir = mkdtempSync(join(tmpdir(), 'nbsec-login-'));
    const io = signedOutIo(server, dir);
    await login.run({ server: SERVER_URL, token: 'tok-alice' }, io);
    expect(io.err).toBe(
      'warning: a token given with --token may be kept in your shell history; prefer --token-stdin.\n',
    );
  });

  it('logout without a sign-in says so', async () => {
    const io = signedOutIo(fakeServer(), mkdtempSync(join(tmpdir(), 'nbsec-login-')));
    await logout.run({}, io);
    expect(io.out).toBe('Not signed in.\n');
  });
});

describe('projects and use', () => {
  it('projects says when you belong to none; --json names the active one', async () => {
    const server = fakeServer();
    const io = recordingIo(server);
    await projects.run({}, io);
    expect(io.out).toBe('You belong to no project.\n');
    const json = recordingIo(server, { env: { NOTEBOOK_SECRETS_PROJECT: 'ml' } });
    await projects.run({ json: true }, json);
    expect(JSON.parse(json.out)).toEqual({ active: 'ml', projects: [] });
  });

  it('use PROJECT you do not belong to exits 4; use --none clears the saved one', async () => {
    const server = fakeServer();
    const io = recordingIo(server);
    await expect(projects.runUse('ml', {}, io)).rejects.toMatchObject({
      exitCode: EXIT.notFound,
      message: "You do not belong to a project 'ml'. Yours: none.",
    });
    await projects.runUse(undefined, { none: true }, io);
    expect(io.out).toBe('No active project.\n');
    await expect(projects.runUse(undefined, {}, io)).rejects.toMatchObject({
      exitCode: EXIT.usage,
    });
  });
});

describe('admin', () => {
  /** Runs an admin command as commander would: AdminError reported with its exit code. */
  async function runAdmin(
    server: ReturnType<typeof fakeServer>,
    env: NodeJS.ProcessEnv,
    work: (io: ReturnType<typeof recordingIo>) => Promise<void>,
  ) {
    const io = recordingIo(server, { env });
    await admin.adminAction<[]>((inner) => work(inner as typeof io), io)();
    return io;
  }

  it('without an admin token exits 3 before any request', async () => {
    const server = fakeServer();
    const io = await runAdmin(server, {}, (inner) => admin.runUserList({}, inner));
    expect(io.exitCode).toBe(3);
    expect(io.err).toMatch(/^notebook-secrets admin: No admin token: set /);
    expect(server.requests).toEqual([]);
  });

  it('a refused token exits 3, an unreachable server 7, an answer not JSON 8', async () => {
    const server = fakeServer();
    const env = { NOTEBOOK_SECRETS_ADMIN_TOKEN: 'adm-wrong' };
    const refused = await runAdmin(server, env, (inner) => admin.runUserList({}, inner));
    expect(refused.exitCode).toBe(3);
    expect(refused.err).toBe('notebook-secrets admin: Bad token.\n');
    expect(refused.err).not.toContain('adm-wrong');

    server.offline = true;
    const offline = await runAdmin(server, env, (inner) => admin.runUserList({}, inner));
    expect(offline.exitCode).toBe(7);

    server.offline = false;
    server.corruptNext = '<html>';
    const html = await runAdmin(server, env, (inner) => admin.runUserList({}, inner));
    expect(html.exitCode).toBe(8);
    expect(html.err).toContain('not JSON. Is this the URL of a Notebook Secrets server?');
  });

  it('member commands need exactly one of --team and --project', async () => {
    const server = fakeServer();
    const env = { NOTEBOOK_SECRETS_ADMIN_TOKEN: 'adm' };
    const io = await runAdmin(server, env, (inner) => admin.runMemberList({}, inner));
    expect(io.exitCode).toBe(2);
    expect(io.err).toBe('notebook-secrets admin: Give exactly one of --team ID or --project ID.\n');
  });

  it('reads the admin token from stdin with --token-stdin', async () => {
    const server = fakeServer();
    const io = recordingIo(server, { stdin: 'adm-from-stdin\n' });
    await admin.adminAction<[]>((inner) => admin.runUserList({ tokenStdin: true }, inner), io)();
    // The fake server has no admin routes: its refusal shows the token was sent.
    expect(io.exitCode).toBe(3);
    expect(server.requests).toEqual(['GET /v1/users']);
  });
});
