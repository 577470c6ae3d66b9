/**
 * A secret is known by its id and owner, never only by its name: someone else's personal secret
 * shared with you sits beside your own secret of the same name, on every device, and stores
 * written before entries carried an owner are migrated without losing an entry. Losing access
 * removes the value, whatever was edited locally. Against the real server (PGlite).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INDEX_KEY, sharedBy } from '../../../src/core/localStore';
import type { SecretMetadata } from '../../../src/core/model';
import { SYNC_STATE_KEY, syncMarkOf } from '../../../src/sync/syncState';
import { addUser, startServer, syncDevice, type RunningServer, type SyncDevice } from './harness';

const CANARY = `canary-owner-${Math.random().toString(36).slice(2)}`;

describe('sync: owners and names against the real server', () => {
  let server: RunningServer;
  let tokens: Record<string, string>;
  let seq = 0;

  beforeAll(async () => {
    server = await startServer();
    tokens = {};
  });

  afterAll(async () => {
    if (!server) return;
    expect(server.output()).not.toContain(CANARY);
    await server.dispose();
  });

  /** Fresh users per test, so names never meet across tests. */
  async function users(...names: string[]): Promise<string[]> {
    const ids = names.map((n) => `${n}${++seq}`);
    for (const id of ids) tokens[id] = await addUser(server, id);
    return ids;
  }

  function device(user: string): Promise<SyncDevice> {
    return syncDevice(server, user, tokens[user]!);
  }

  async function shareWith(owner: SyncDevice, id: string, user: string, role: 'owner' | 'reader') {
    const access = await owner.api.getAccess(id);
    await owner.api.putAccess(
      id,
      [...access.access, { principal: { kind: 'user', id: user }, role }],
      access.version,
    );
  }

  async function valueOf(d: SyncDevice, entry: SecretMetadata | undefined): Promise<string> {
    expect(entry).toBeDefined();
    return (await d.store.getValue(entry!.id)).value;
  }

  function named(d: SyncDevice, name: string): SecretMetadata[] {
    return d.store.list().filter((e) => e.name === name);
  }

  it("another user's shared secret sits beside your own of the same name; your edits stay yours", async () => {
    const [alice, carol] = await users('alice', 'carol');
    const a = await device(alice!);
    const c = await device(carol!);
    await c.store.create({ name: 'DB_PASSWORD', value: `${CANARY}-carol-own` });
    await c.engine.sync();
    const carolsId = c.store.list()[0]!.id;

    await a.store.create({ name: 'DB_PASSWORD', value: `${CANARY}-alice-prod` });
    await a.engine.sync();
    const alicesId = a.store.list()[0]!.id;
    await shareWith(a, alicesId, carol!, 'owner');

    await c.engine.sync();
    expect(
      named(c, 'DB_PASSWORD')
        .map((e) => [e.id, sharedBy(e) ?? null])
        .sort(),
    ).toEqual(
      [
        [carolsId, null],
        [alicesId, alice],
      ].sort(),
    );
    // get_secret picks your own personal secret first, then the shared one only when asked.
    expect(c.store.resolve('DB_PASSWORD')?.id).toBe(carolsId);
    expect(await valueOf(c, c.store.resolve('DB_PASSWORD'))).toBe(`${CANARY}-carol-own`);
    expect(await valueOf(c, c.store.get(alicesId))).toBe(`${CANARY}-alice-prod`);

    // carol edits her own: it goes to her secret, alice's is untouched.
    await c.store.update(carolsId, { value: `${CANARY}-carol-new` });
    const report = await c.engine.sync();
    expect(report).toMatchObject({ pushed: 1, conflicts: 0 });
    expect((await c.api.getValue(carolsId)).value).toBe(`${CANARY}-carol-new`);
    expect((await a.api.getValue(alicesId)).value).toBe(`${CANARY}-alice-prod`);

    // carol, as an owner, edits alice's: it goes to alice's.
    await c.store.update(alicesId, { description: 'rotated by carol', value: `${CANARY}-alice-2` });
    await c.engine.sync();
    expect((await a.api.getValue(alicesId)).value).toBe(`${CANARY}-alice-2`);
    expect((await c.api.getValue(carolsId)).value).toBe(`${CANARY}-carol-new`);
    await a.engine.sync();
    expect(named(a, 'DB_PASSWORD')).toHaveLength(1);
    expect(await valueOf(a, a.store.get(alicesId))).toBe(`${CANARY}-alice-2`);

    // A fresh device of carol's holds the same two secrets.
    const c2 = await device(carol!);
    await c2.engine.sync();
    expect(
      named(c2, 'DB_PASSWORD')
        .map((e) => e.id)
        .sort(),
    ).toEqual([carolsId, alicesId].sort());
    expect(c2.store.resolve('DB_PASSWORD')?.id).toBe(carolsId);
    for (const d of [c, c2]) {
      for (const e of named(d, 'DB_PASSWORD')) expect(syncMarkOf(e)).toBe('synced');
    }

    // A new personal secret of carol's may take a name only someone else uses with her.
    await a.store.create({ name: 'ONLY_ALICE', value: 'a' });
    await a.engine.sync();
    await shareWith(a, a.store.find('ONLY_ALICE', { kind: 'personal' })!.id, carol!, 'reader');
    await c.engine.sync();
    expect(c.store.resolve('ONLY_ALICE')?.created_by).toBe(alice);
    await c.store.create({ name: 'ONLY_ALICE', value: 'c' });
    await c.engine.sync();
    expect(named(c, 'ONLY_ALICE')).toHaveLength(2);
    expect(await valueOf(c, c.store.resolve('ONLY_ALICE'))).toBe('c');
    expect(c.engine.conflicts()).toEqual([]);
  });

  it('migrates a store written before entries had an owner, losing no entry', async () => {
    const [alice, carol] = await users('alice', 'carol');
    const a = await device(alice!);
    const c = await device(carol!);
    await c.store.create({ name: 'DB_PASSWORD', value: `${CANARY}-carol-own` });
    await c.store.create({ name: 'API_TOKEN', value: 'carol-token' });
    await c.engine.sync();
    const carolsId = c.store.find('DB_PASSWORD', { kind: 'personal' })!.id;
    await a.store.create({ name: 'DB_PASSWORD', value: `${CANARY}-alice-prod` });
    await a.store.create({ name: 'SHARED_ONLY', value: 'alice-shared' });
    await a.engine.sync();
    const alicesId = a.store.find('DB_PASSWORD', { kind: 'personal' })!.id;
    const sharedId = a.store.find('SHARED_ONLY', { kind: 'personal' })!.id;
    await shareWith(a, alicesId, carol!, 'owner');
    await shareWith(a, sharedId, carol!, 'owner');
    await c.engine.sync();
    await c.store.update(sharedId, { value: 'carol-edit-pending' }); // not pushed yet

    // What the old layout held: alice's DB_PASSWORD in the place of carol's (whose entry the
    // old sync had replaced), shared secrets without an owner under `personal/`, and a cursor
    // that had already passed everything.
    const old = new Map<string, string>();
    const oldEntries: Record<string, unknown>[] = [];
    for (const entry of c.store.list()) {
      if (entry.id === carolsId) continue;
      const copy: Record<string, unknown> = { ...entry };
      delete copy.owner;
      oldEntries.push(copy);
      old.set(
        `notebook-secrets/value/personal/${entry.name}`,
        (await c.kv.get(
          `notebook-secrets/value/${sharedBy(entry) ? `personal@${alice}` : 'personal'}/${entry.name}`,
        ))!,
      );
    }
    old.set(INDEX_KEY, JSON.stringify({ version: 1, secrets: oldEntries }));
    old.set(SYNC_STATE_KEY, (await c.kv.get(SYNC_STATE_KEY))!);
    const migrated = await device(carol!);
    for (const [key, value] of old) await migrated.kv.store(key, value);
    await migrated.store.load();
    expect(migrated.store.list()).toHaveLength(3);
    expect(migrated.store.resolve('DB_PASSWORD')?.id).toBe(alicesId); // the old mix-up

    await migrated.engine.sync();
    await migrated.engine.sync();
    const byId = (id: string) => migrated.store.get(id);
    expect(
      migrated.store
        .list()
        .map((e) => e.id)
        .sort(),
    ).toEqual(
      [carolsId, alicesId, sharedId, c.store.find('API_TOKEN', { kind: 'personal' })!.id].sort(),
    );
    expect(sharedBy(byId(alicesId)!)).toBe(alice);
    expect(sharedBy(byId(sharedId)!)).toBe(alice);
    expect(sharedBy(byId(carolsId)!)).toBeUndefined();
    expect(migrated.store.resolve('DB_PASSWORD')?.id).toBe(carolsId);
    expect(await valueOf(migrated, byId(carolsId))).toBe(`${CANARY}-carol-own`);
    expect(await valueOf(migrated, byId(alicesId))).toBe(`${CANARY}-alice-prod`);
    // The pending edit of the shared secret survived the move and went to alice's secret.
    expect(await valueOf(migrated, byId(sharedId))).toBe('carol-edit-pending');
    expect((await a.api.getValue(sharedId)).value).toBe('carol-edit-pending');
    expect(migrated.engine.outbox()).toEqual([]);
    expect(migrated.engine.conflicts()).toEqual([]);
    expect(
      [...migrated.kv.data.keys()].filter((k) => k.startsWith('notebook-secrets/value/')).sort(),
    ).toEqual(
      [
        'notebook-secrets/value/personal/API_TOKEN',
        'notebook-secrets/value/personal/DB_PASSWORD',
        `notebook-secrets/value/personal@${alice}/DB_PASSWORD`,
        `notebook-secrets/value/personal@${alice}/SHARED_ONLY`,
      ].sort(),
    );
  });

  it('losing access removes the value, even with a metadata edit made offline', async () => {
    const [alice, carol] = await users('alice', 'carol');
    const a = await device(alice!);
    const c = await device(carol!);
    await a.store.create({ name: 'LEAVING', value: `${CANARY}-leaving` });
    await a.engine.sync();
    const id = a.store.list()[0]!.id;
    await shareWith(a, id, carol!, 'owner');
    await c.engine.sync();
    expect(await valueOf(c, c.store.get(id))).toBe(`${CANARY}-leaving`);

    c.link.offline = true;
    await c.store.update(id, { description: 'noted offline' });
    const access = await a.api.getAccess(id);
    await a.api.putAccess(
      id,
      access.access.filter((g) => g.principal.id !== carol),
      access.version,
    );
    c.link.offline = false;
    await c.engine.sync();

    expect(c.store.get(id)).toBeUndefined();
    expect(c.engine.conflicts()).toEqual([]);
    expect([...c.kv.data.values()].join('\n')).not.toContain(CANARY);
    expect(c.logs.join('\n')).not.toContain(CANARY);
  });
});
