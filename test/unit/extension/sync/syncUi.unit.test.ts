import { beforeEach, describe, expect, it } from 'vitest';
import { ui } from '../../fakes/vscode';
import { LocalSecretStore } from '../../../../src/core/localStore';
import { ApiClient } from '../../../../src/sync/client';
import { MemoryKeyValueStore } from '../../../../src/sync/memoryKeyValueStore';
import { LAST_OWNER_RULE, shareDialog } from '../../../../src/extension/sync/shareDialog';
import { describeSyncState } from '../../../../src/extension/sync/syncStatusBar';
import { TOKEN_KEY } from '../../../../src/extension/sync/syncSession';
import { FakeServer } from '../../sync/fakeServer';
import { sessionWith } from './sessionFixture';

const CANARY = 'canary-ui-5d1e';

function logger() {
  const lines: string[] = [];
  const line = (level: string) => (m: string) => lines.push(`${level} ${m}`);
  return {
    lines,
    log: {
      debug: line('debug'),
      info: line('info'),
      warn: line('warn'),
      error: line('error'),
    } as never,
  };
}

describe('sync status bar', () => {
  const now = new Date('2026-01-01T00:01:00Z');
  const base = { conflicts: 0, pending: 0, lastSyncAt: new Date('2026-01-01T00:00:30Z') };

  it('says local, synced, offline, conflicts and errors, with the last sync time', () => {
    expect(describeSyncState({ signedIn: false }, undefined).text).toMatch(/local/);
    const synced = describeSyncState(
      { signedIn: true, server: 'http://s', status: { ...base, kind: 'synced' } },
      'ml',
      now,
    );
    expect(synced.text).toBe('$(cloud) Secrets · ml');
    expect(synced.tooltip).toMatch(/Last sync: 30 s ago/);
    expect(synced.tooltip).toMatch(/Active project: ml/);
    const offline = describeSyncState(
      {
        signedIn: true,
        server: 'http://s',
        status: { ...base, kind: 'offline', pending: 2, lastError: 'refused' },
      },
      undefined,
      now,
    );
    expect(offline.text).toMatch(/offline/);
    expect(offline.tooltip).toMatch(/local copy.*\n.*\n?.*2 change\(s\) waiting/s);
    const conflicts = describeSyncState(
      { signedIn: true, server: 'http://s', status: { ...base, kind: 'conflicts', conflicts: 2 } },
      undefined,
      now,
    );
    expect(conflicts).toMatchObject({
      text: '$(warning) 2 conflicts',
      command: 'notebookSecrets.resolveConflict',
    });
    const unauthorized = describeSyncState(
      {
        signedIn: true,
        server: 'http://s',
        status: { ...base, kind: 'error', unauthorized: true, lastError: '401' },
      },
      undefined,
      now,
    );
    expect(unauthorized.command).toBe('notebookSecrets.signIn');
  });
});

describe('SyncSession', () => {
  let server: FakeServer;
  let secrets: MemoryKeyValueStore;
  let store: LocalSecretStore;

  beforeEach(async () => {
    ui.reset();
    server = new FakeServer();
    server.addUser('alice', 'tok-alice');
    secrets = new MemoryKeyValueStore();
    store = new LocalSecretStore(secrets, { user: 'alice' });
    await store.load();
  });

  it('checks /v1/me at sign-in, keeps the token in SecretStorage only, and syncs', async () => {
    const { log, lines } = logger();
    const session = sessionWith(server, log, secrets, store);
    await expect(session.signIn('https://fake.test', 'wrong')).rejects.toThrow(
      /refused the token \(401\)/,
    );
    expect(await secrets.get(TOKEN_KEY)).toBeUndefined();
    await store.create({ name: 'LOCAL_ONE', value: CANARY });
    const me = await session.signIn('https://fake.test/', 'tok-alice');
    expect(me.user.id).toBe('alice');
    expect(JSON.parse((await secrets.get(TOKEN_KEY))!)).toEqual({
      server: 'https://fake.test',
      token: 'tok-alice',
    });
    const status = await session.syncNow();
    expect(status?.kind).toBe('synced');
    expect([...server.rows.values()].map((r) => r.meta.name)).toEqual(['LOCAL_ONE']);
    expect(lines.join('\n')).not.toContain(CANARY);
    expect(lines.join('\n')).not.toContain('tok-alice');

    // A new window resumes from SecretStorage.
    const again = sessionWith(server, log, secrets, store);
    await again.restore();
    expect(again.state.signedIn).toBe(true);
    again.dispose();

    await session.signOut();
    expect(await secrets.get(TOKEN_KEY)).toBeUndefined();
    expect(session.state.signedIn).toBe(false);
    expect(store.list().map((e) => e.name)).toEqual(['LOCAL_ONE']); // own personal secret stays
    session.dispose();
  });
});

describe('share dialog', () => {
  it('adds a user as reader, and explains the last-owner rule before the server refuses', async () => {
    ui.reset();
    const server = new FakeServer();
    server.addUser('alice', 'tok-alice');
    const api = new ApiClient({
      baseUrl: 'https://fake.test',
      token: 'tok-alice',
      fetch: server.fetch,
    });
    const secret = await api.createSecret({ name: 'SHARE_ME', value: 'v' });
    const pick = (label: RegExp) => (call: { items?: unknown[] }) =>
      (call.items as { label: string }[]).find((i) => label.test(i.label));
    ui.answer(
      pick(/Add a user/),
      'bob',
      pick(/Reader/),
      pick(/alice/), // the only owner
      pick(/Remove Access/),
      undefined, // the modal explaining the rule
      pick(/Done/),
    );
    await shareDialog(api, secret);
    const access = await api.getAccess(secret.id);
    expect(access.access).toContainEqual({
      principal: { kind: 'user', id: 'bob' },
      role: 'reader',
    });
    expect(access.access).toContainEqual({
      principal: { kind: 'user', id: 'alice' },
      role: 'owner',
    });
    expect(ui.messages('warning')).toContain(LAST_OWNER_RULE);
  });
});
