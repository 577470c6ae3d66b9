import { beforeEach, describe, expect, it } from 'vitest';
import { LocalSecretStore } from '../../../src/core/localStore';
import { MalformedResponse } from '../../../src/core/errors';
import { ApiClient } from '../../../src/sync/client';
import { SyncEngine } from '../../../src/sync/engine';
import { ServerUnreachable } from '../../../src/sync/errors';
import { MemoryKeyValueStore } from '../../../src/sync/memoryKeyValueStore';
import { SYNC_STATE_KEY, syncMarkOf } from '../../../src/sync/syncState';
import { storedIndex } from '../../support/storedIndex';
import { FakeServer } from './fakeServer';

const CANARY = 'canary-7f3a9c-do-not-leak';

interface Side {
  kv: MemoryKeyValueStore;
  store: LocalSecretStore;
  engine: SyncEngine;
  logs: string[];
}

async function client(server: FakeServer, user: string): Promise<Side> {
  const kv = new MemoryKeyValueStore();
  const store = new LocalSecretStore(kv, { user });
  await store.load();
  const logs: string[] = [];
  const api = new ApiClient({
    baseUrl: 'http://fake.test',
    token: `tok-${user}`,
    fetch: server.fetch,
  });
  const engine = new SyncEngine({ client: api, store, kv, log: (l, m) => logs.push(`${l} ${m}`) });
  await engine.init();
  return { kv, store, engine, logs };
}

async function valueOf(side: Side, name: string): Promise<string | undefined> {
  const entry = side.store.list().find((e) => e.name === name);
  return entry ? (await side.store.getValue(entry.id)).value : undefined;
}

describe('SyncEngine (fake server)', () => {
  let server: FakeServer;
  let a: Side;
  let b: Side;

  beforeEach(async () => {
    server = new FakeServer();
    server.addUser('alice');
    server.addUser('bob');
    server.addTeam('data', ['alice', 'bob']);
    a = await client(server, 'alice');
    b = await client(server, 'bob');
  });

  it('pushes a local secret and pulls it on another client of the same team', async () => {
    await a.store.create({ name: 'DB_URL', value: 'v1', scope: { kind: 'team', id: 'data' } });
    expect(a.engine.outbox()).toMatchObject([{ op: 'create', name: 'DB_URL' }]);
    const report = await a.engine.sync();
    expect(report.pushed).toBe(1);
    expect(a.engine.outbox()).toEqual([]);
    expect(a.store.list()[0]!.id).toMatch(/^srv-/);
    await b.engine.sync();
    expect(await valueOf(b, 'DB_URL')).toBe('v1');
    expect(syncMarkOf(b.store.list()[0]!)).toBe('synced');
  });

  it('keeps both values when two clients edit offline, and reports the conflict', async () => {
    await a.store.create({ name: 'K', value: 'base', scope: { kind: 'team', id: 'data' } });
    await a.engine.sync();
    await b.engine.sync();
    const id = a.store.list()[0]!.id;
    await a.store.update(id, { value: 'from-a' });
    await b.store.update(id, { value: 'from-b' });
    await a.engine.sync();
    const report = await b.engine.sync();
    expect(report.conflicts).toBe(1);
    expect(server.serverValue(id)).toBe('from-a');
    expect(await valueOf(b, 'K')).toBe('from-b');
    const [conflict] = b.engine.conflicts();
    expect(conflict).toMatchObject({ name: 'K', conflict: { kind: 'both_edited' } });
    const comparison = await b.engine.compare(id);
    expect(comparison.mine.value).toBeUndefined();
    expect(comparison.theirs).toMatchObject({ version: 2, author: 'alice', deleted: false });
    const withValues = await b.engine.compare(id, { values: true });
    expect(withValues.mine.value?.value).toBe('from-b');
    expect(withValues.theirs.value?.value).toBe('from-a');
    await b.engine.resolveConflict(id, 'mine');
    expect(server.serverValue(id)).toBe('from-b');
    await a.engine.sync();
    expect(await valueOf(a, 'K')).toBe('from-b');
    expect(b.engine.conflicts()).toEqual([]);
  });

  it('keep theirs replaces the local side with the server copy', async () => {
    await a.store.create({ name: 'K', value: 'base', scope: { kind: 'team', id: 'data' } });
    await a.engine.sync();
    await b.engine.sync();
    const id = a.store.list()[0]!.id;
    await a.store.update(id, { value: 'from-a' });
    await a.engine.sync();
    await b.store.update(id, { value: 'from-b' });
    await b.engine.sync();
    await b.engine.resolveConflict(id, 'theirs');
    expect(await valueOf(b, 'K')).toBe('from-a');
    expect(syncMarkOf(b.store.get(id)!)).toBe('synced');
  });

  it('delete here vs edit there brings theirs back as a conflict', async () => {
    await a.store.create({ name: 'K', value: 'base', scope: { kind: 'team', id: 'data' } });
    await a.engine.sync();
    await b.engine.sync();
    const id = a.store.list()[0]!.id;
    await b.store.delete(id);
    expect(b.engine.outbox()).toMatchObject([{ op: 'delete', id }]);
    await a.store.update(id, { value: 'edited' });
    await a.engine.sync();
    await b.engine.sync();
    expect(b.engine.conflicts()).toMatchObject([{ id, conflict: { kind: 'deleted_here' } }]);
    expect(await valueOf(b, 'K')).toBe('edited');
    await b.engine.resolveConflict(id, 'mine');
    expect(server.serverValue(id)).toBeUndefined();
    expect(b.store.get(id)).toBeUndefined();
  });

  it('edit here vs delete there keeps the local edit as a conflict; keep mine recreates it', async () => {
    await a.store.create({ name: 'K', value: 'base', scope: { kind: 'team', id: 'data' } });
    await a.engine.sync();
    await b.engine.sync();
    const id = a.store.list()[0]!.id;
    await a.store.delete(id);
    await a.engine.sync();
    await b.store.update(id, { value: 'edited-by-b' });
    await b.engine.sync();
    expect(b.engine.conflicts()).toMatchObject([{ id, conflict: { kind: 'deleted_there' } }]);
    expect(await valueOf(b, 'K')).toBe('edited-by-b');
    await b.engine.resolveConflict(id, 'mine');
    await a.engine.sync();
    expect(await valueOf(a, 'K')).toBe('edited-by-b');
  });

  it('removes a secret and its value when access is lost', async () => {
    await a.store.create({ name: 'SHARED', value: CANARY });
    await a.engine.sync();
    const id = a.store.list()[0]!.id;
    const owner = { principal: { kind: 'user' as const, id: 'alice' }, role: 'owner' as const };
    const api = new ApiClient({
      baseUrl: 'http://fake.test',
      token: 'tok-alice',
      fetch: server.fetch,
    });
    await api.putAccess(id, [owner, { principal: { kind: 'user', id: 'bob' }, role: 'reader' }]);
    await b.engine.sync();
    expect(b.store.get(id)?.role).toBe('reader');
    await api.putAccess(id, [owner]);
    await b.engine.sync();
    expect(b.store.get(id)).toBeUndefined();
    expect([...b.kv.data.values()].join('\n')).not.toContain(CANARY);
  });

  it('works offline and catches up when the server is back', async () => {
    await a.engine.sync();
    server.offline = true;
    await a.store.create({ name: 'OFFLINE', value: 'x' });
    await expect(a.engine.sync()).rejects.toBeInstanceOf(ServerUnreachable);
    expect(a.engine.outbox()).toHaveLength(1);
    server.offline = false;
    await a.engine.sync();
    expect(a.engine.outbox()).toEqual([]);
  });

  it('rejects a malformed answer with a clear error and changes nothing', async () => {
    await a.engine.sync();
    server.corruptNext = '{"changes": "nope"}';
    const error = await a.engine.sync().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MalformedResponse);
    expect((error as Error).message).toMatch(/malformed answer to GET \/v1\/me|not JSON|field/);
    expect(a.store.list()).toEqual([]);
  });

  it('never writes a value into the index, the sync state or a log', async () => {
    await a.store.create({ name: 'CANARY', value: CANARY, scope: { kind: 'team', id: 'data' } });
    const raw = await a.kv.get(SYNC_STATE_KEY);
    await a.engine.sync();
    await b.engine.sync();
    const id = b.store.list()[0]!.id;
    await b.store.delete(id);
    const state = await b.kv.get(SYNC_STATE_KEY);
    for (const side of [a, b]) {
      expect(storedIndex(side.kv.data).text).not.toContain(CANARY);
      expect(side.logs.join('\n')).not.toContain(CANARY);
    }
    expect(raw ?? '').not.toContain(CANARY);
    expect(state).not.toContain(CANARY);
    expect(JSON.stringify(b.engine.outbox())).not.toContain(CANARY);
  });
});
