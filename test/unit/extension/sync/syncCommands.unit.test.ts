import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { env, ui, workspace } from '../../fakes/vscode';
import { TOKEN_KEY } from '../../../../src/extension/sync/syncSession';
import { serverUrlProblem } from '../../../../src/extension/serverTrust';
import { LocalSecretStore } from '../../../../src/core/localStore';
import { ApiClient } from '../../../../src/sync/client';
import { MemoryKeyValueStore } from '../../../../src/sync/memoryKeyValueStore';
import { refuseIfReader } from '../../../../src/extension/sync/syncCommandDeps';
import { syncCommands } from '../../../../src/extension/sync/syncCommands';
import { SyncSession } from '../../../../src/extension/sync/syncSession';
import { FakeServer } from '../../sync/fakeServer';
import { sessionOn } from './sessionFixture';

const CANARY = 'canary-cmd-c0ffee';
const log = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
} as never;

const pick = (label: RegExp) => (call: { items?: unknown[] }) =>
  (call.items as { label: string }[]).find((i) => label.test(i.label));

describe('sync commands', () => {
  let server: FakeServer;
  let store: LocalSecretStore;
  let session: SyncSession;
  let project: string | undefined;
  let commands: ReturnType<typeof syncCommands>;
  let secrets: MemoryKeyValueStore;

  beforeEach(async () => {
    ui.reset();
    server = new FakeServer();
    server.addUser('alice', 'tok-alice');
    server.addUser('bob', 'tok-bob');
    server.addTeam('data', ['alice', 'bob']);
    ({ secrets, store, session } = await sessionOn(server, log));
    project = undefined;
    commands = syncCommands({
      session,
      store,
      log,
      activeProject: () => project,
      setActiveProject: (p) => {
        project = p;
        return Promise.resolve();
      },
      targetSecret: (arg) => Promise.resolve(store.get(arg as string)!),
    });
  });

  it('signs in through two prompts, the token as a password input', async () => {
    ui.answer('https://fake.test', 'tok-bob');
    await commands['notebookSecrets.signIn']();
    const [, tokenPrompt] = ui.calls.filter((c) => c.kind === 'input');
    expect(tokenPrompt!.options).toMatchObject({ password: true });
    expect(session.state.signedIn).toBe(true);
    expect(ui.messages('info').join('\n')).toMatch(/Signed in to https:\/\/fake.test as bob/);
    session.dispose();
  });

  it("offers Sign in with the server's identity provider: the browser, then back to a loopback port", async () => {
    server.provider = { name: 'Test IdP', device: true };
    // The browser: the provider signs bob in and sends him back with a one-time code.
    env.onOpenExternal = (opened) => {
      const query = server.signInRequest(opened);
      server.signInCodes.set('code-1', { user: 'bob', challenge: query.get('code_challenge')! });
      const back = new URL(query.get('redirect_uri')!);
      back.searchParams.set('code', 'code-1');
      back.searchParams.set('state', query.get('state')!);
      void fetch(back);
    };
    try {
      ui.answer('https://fake.test', pick(/Sign in with Test IdP/));
      await commands['notebookSecrets.signIn']();
    } finally {
      env.onOpenExternal = undefined;
    }
    // The browser opens the sign-in pushed ahead, by its id alone.
    const opened = new URL(env.opened.at(-1)!);
    expect(opened.href).toMatch(/^https:\/\/fake\.test\/v1\/auth\/requests\/request-\d+$/);
    const request = server.signInRequest(opened.href);
    expect(request.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(request.get('code_challenge_method')).toBe('S256');
    expect(ui.calls.filter((c) => c.kind === 'input')).toHaveLength(1);
    expect(session.state.signedIn).toBe(true);
    expect(ui.messages('info').join('\n')).toMatch(/Signed in to https:\/\/fake.test as bob/);
    // An expired access token is renewed with the refresh token, and the new pair is kept.
    const saved = JSON.parse((await secrets.get(TOKEN_KEY))!) as { token: string; refresh: string };
    expect(saved.refresh).toMatch(/^refresh-bob-/);
    server.tokens.delete(saved.token);
    await session.client!.me();
    const renewed = JSON.parse((await secrets.get(TOKEN_KEY))!) as {
      token: string;
      refresh: string;
    };
    expect(renewed.token).not.toBe(saved.token);
    expect(renewed.refresh).not.toBe(saved.refresh);
    session.dispose();
  });

  it('Resolve Sync Conflict while signed out says it needs a team server', async () => {
    await commands['notebookSecrets.resolveConflict']();
    expect(ui.messages('info')).toEqual(['This needs a team server. Sign in first.']);
  });

  it('resolves a conflict: compare shows versions and authors but no values until asked', async () => {
    await session.signIn('https://fake.test', 'tok-bob');
    await store.create({ name: 'K', value: 'base', scope: { kind: 'team', id: 'data' } });
    await session.syncNow();
    const id = store.list()[0]!.id;
    const alice = new ApiClient({
      baseUrl: 'https://fake.test',
      token: 'tok-alice',
      fetch: server.fetch,
    });
    await alice.updateSecret(id, 1, { value: `${CANARY}-theirs` });
    await store.update(id, { value: `${CANARY}-mine` });
    const status = await session.syncNow();
    expect(status?.kind).toBe('conflicts');

    ui.reset();
    ui.answer(pick(/^K$/), pick(/Compare/), 'Keep Mine');
    await commands['notebookSecrets.resolveConflict']();
    const compare = ui.calls.find((c) => c.message?.startsWith('Compare'))!;
    const detail = (compare.options as { detail: string }).detail;
    expect(detail).toMatch(/Mine \(this machine\): edited from version 1 by bob/);
    expect(detail).toMatch(/Theirs \(server\): version 2 by alice/);
    expect(detail).not.toContain(CANARY);
    expect(server.serverValue(id)).toBe(`${CANARY}-mine`);
    expect(session.syncEngine!.conflicts()).toEqual([]);
    session.dispose();
  });

  it('selects the active project from the projects of /v1/me', async () => {
    ui.answer((call: { items?: unknown[] }) => (call.items as { project?: string }[])[0]);
    await commands['notebookSecrets.selectProject']();
    expect(project).toBeUndefined();
  });

  it('refuses readers with a message before the server would', () => {
    const reader = { name: 'X', role: 'reader' } as never;
    expect(() => refuseIfReader(reader, 'edit')).toThrow(/You can only read 'X'.*Ask an owner/);
  });
});

describe('sign-in over plain HTTP', () => {
  let server: FakeServer;
  let session: SyncSession;
  let commands: ReturnType<typeof syncCommands>;

  beforeEach(async () => {
    ui.reset();
    server = new FakeServer();
    server.addUser('bob', 'tok-bob');
    let store: LocalSecretStore;
    ({ store, session } = await sessionOn(server, log));
    commands = syncCommands({
      session,
      store,
      log,
      activeProject: () => undefined,
      setActiveProject: () => Promise.resolve(),
      targetSecret: () => Promise.reject(new Error('unused')),
    });
  });

  it('refuses http:// to another machine, naming the setting, and sends no token', async () => {
    let requests = 0;
    const counting = new SyncSession({
      secrets: new MemoryKeyValueStore(),
      store: new LocalSecretStore(new MemoryKeyValueStore(), { user: 'bob' }),
      log,
      intervalMinutes: () => 0,
      fetch: (...args) => {
        requests++;
        return server.fetch(...args);
      },
    });
    await expect(counting.signIn('http://fake.test', 'tok-bob')).rejects.toThrow(
      /plain http:\/\/ to fake.test.*notebookSecrets\.server\.allowInsecureHttp/,
    );
    expect(requests).toBe(0);
    expect(counting.state.signedIn).toBe(false);
    expect(serverUrlProblem('http://fake.test:8787')).toMatch(/allowInsecureHttp/);
    expect(serverUrlProblem('http://127.0.0.1:8787')).toBeUndefined();
    expect(serverUrlProblem('https://fake.test')).toBeUndefined();
  });

  it('with notebookSecrets.server.allowInsecureHttp, signs in and warns that it is insecure', async () => {
    await workspace.getConfiguration('notebookSecrets').update('server.allowInsecureHttp', true);
    ui.answer('http://fake.test', 'tok-bob');
    await commands['notebookSecrets.signIn']();
    expect(session.state.signedIn).toBe(true);
    expect(ui.messages('info')).toEqual([]);
    expect(ui.messages('warning').join('\n')).toMatch(
      /Signed in to http:\/\/fake.test as bob.*INSECURE.*unencrypted/,
    );
    session.dispose();
  });

  it('uses notebookSecrets.server.caFile for its connections, and names it when it cannot be read', async () => {
    const missing = join(tmpdir(), `ns-missing-ca-${process.pid}.pem`);
    await workspace.getConfiguration('notebookSecrets').update('server.caFile', missing);
    const withCa = new SyncSession({
      secrets: new MemoryKeyValueStore(),
      store: new LocalSecretStore(new MemoryKeyValueStore(), { user: 'bob' }),
      log,
      intervalMinutes: () => 0,
    });
    await expect(withCa.signIn('https://fake.test', 'tok-bob')).rejects.toThrow(
      `Cannot read the CA file in notebookSecrets.server.caFile, ${missing} (ENOENT).`,
    );
    const notPem = join(tmpdir(), `ns-not-a-ca-${process.pid}.pem`);
    writeFileSync(notPem, 'not a certificate');
    try {
      await workspace.getConfiguration('notebookSecrets').update('server.caFile', notPem);
      await expect(withCa.signIn('https://fake.test', 'tok-bob')).rejects.toThrow(
        /is not a PEM certificate/,
      );
    } finally {
      rmSync(notPem, { force: true });
    }
    expect(withCa.state.signedIn).toBe(false);
  });
});
