/**
 * The sync engine against the real team server (`notebook-secrets serve`): conflicts, deletes,
 * sharing, outages and revoked tokens, and the random two-client property. Runs on PGlite, and on
 * PostgreSQL too when the server suite's cluster helper gives a DATABASE_URL.
 */
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scope } from '../../../src/core/model';
import { ServerUnreachable } from '../../../src/sync/errors';
import { SyncScheduler } from '../../../src/sync/scheduler';
import { SYNC_STATE_KEY, syncMarkOf } from '../../../src/sync/syncState';
import { opArb, runScenario, shareOwnedWithTeam } from '../../support/twoClients';
import {
  addTeam,
  addUser,
  startServer,
  syncDevice,
  type RunningServer,
  type SyncDevice,
} from './harness';
import { storedIndex } from '../../support/storedIndex';
import { backends } from './backends';

const CANARY = `canary-sync-${Math.random().toString(36).slice(2)}`;

interface Client extends SyncDevice {
  token: string;
}

describe.each(backends())('sync against the real server ($name)', ({ start }) => {
  let server: RunningServer;
  let database: { databaseUrl: string; stop(): Promise<void> } | undefined;
  let tokens: Record<string, string>;
  let teamSeq = 0;

  beforeAll(async () => {
    database = await start?.();
    server = await startServer(database ? { databaseUrl: database.databaseUrl } : {});
    await addTeam(server, 'data');
    tokens = {
      alice: await addUser(server, 'alice', ['data']),
      bob: await addUser(server, 'bob', ['data']),
      carol: await addUser(server, 'carol'),
    };
  });

  afterAll(async () => {
    try {
      if (server) {
        expect(server.output()).not.toContain(CANARY);
        await server.dispose();
      }
    } finally {
      await database?.stop();
    }
  });

  async function client(user: string, token = tokens[user]!): Promise<Client> {
    return { token, ...(await syncDevice(server, user, token)) };
  }

  async function freshTeam(): Promise<Scope> {
    const id = `t${++teamSeq}-${Date.now().toString(36)}`;
    await addTeam(server, id);
    await server.admin.addTeamMember(id, 'alice');
    await server.admin.addTeamMember(id, 'bob');
    return { kind: 'team', id };
  }

  function teamOf(scope: Scope): string {
    return scope.kind === 'team' ? scope.id : '';
  }

  async function valueOf(c: Client, name: string): Promise<string | undefined> {
    const entry = c.store.list().find((e) => e.name === name);
    return entry ? (await c.store.getValue(entry.id)).value : undefined;
  }

  function noCanary(...clients: Client[]): void {
    for (const c of clients) {
      for (const [key, stored] of c.kv.data) {
        if (key.startsWith('notebook-secrets/value/')) continue;
        expect(stored, key).not.toContain(CANARY);
      }
      expect(c.logs.join('\n')).not.toContain(CANARY);
      expect(JSON.stringify(c.engine.outbox())).not.toContain(CANARY);
    }
  }

  it('two clients edit one secret offline: both values survive and the conflict is reported', async () => {
    const scope = await freshTeam();
    const a = await client('alice');
    const b = await client('bob');
    await a.store.create({ name: 'API_KEY', value: 'base', scope });
    await a.engine.sync();
    await shareOwnedWithTeam(a.api, teamOf(scope)); // team members edit too (owners)
    await a.engine.sync();
    await b.engine.sync();
    expect(await valueOf(b, 'API_KEY')).toBe('base');
    const id = a.store.list()[0]!.id;

    a.link.offline = true;
    b.link.offline = true;
    await a.store.update(id, { value: `${CANARY}-alice` });
    await b.store.update(id, { value: `${CANARY}-bob` });
    await expect(a.engine.sync()).rejects.toBeInstanceOf(ServerUnreachable);
    a.link.offline = false;
    b.link.offline = false;

    await a.engine.sync();
    const report = await b.engine.sync();
    expect(report.conflicts).toBe(1);
    expect(b.engine.conflicts()).toMatchObject([
      { id, name: 'API_KEY', conflict: { kind: 'both_edited' } },
    ]);
    expect(syncMarkOf(b.store.get(id)!)).toBe('conflict');
    // Both values survive: bob's locally, alice's on the server.
    expect(await valueOf(b, 'API_KEY')).toBe(`${CANARY}-bob`);
    expect((await a.api.getValue(id)).value).toBe(`${CANARY}-alice`);

    const comparison = await b.engine.compare(id);
    expect(comparison.theirs).toMatchObject({ author: 'alice', deleted: false });
    expect(comparison.mine.value).toBeUndefined();
    const withValues = await b.engine.compare(id, { values: true });
    expect(withValues.theirs.value?.value).toBe(`${CANARY}-alice`);

    await b.engine.resolveConflict(id, 'mine');
    await a.engine.sync();
    expect(await valueOf(a, 'API_KEY')).toBe(`${CANARY}-bob`);
    expect(a.engine.conflicts()).toEqual([]);
    expect(b.engine.conflicts()).toEqual([]);
    noCanary(a, b);
  });

  it('delete on one side, edit on the other: nothing is lost either way', async () => {
    const scope = await freshTeam();
    const a = await client('alice');
    const b = await client('bob');
    await a.store.create({ name: 'ONE', value: 'one', scope });
    await a.store.create({ name: 'TWO', value: 'two', scope });
    await a.engine.sync();
    await shareOwnedWithTeam(a.api, teamOf(scope));
    await a.engine.sync();
    await b.engine.sync();
    const one = a.store.list().find((e) => e.name === 'ONE')!.id;
    const two = a.store.list().find((e) => e.name === 'TWO')!.id;

    // ONE: alice deletes, bob edits. TWO: alice edits, bob deletes.
    await a.store.delete(one);
    await a.store.update(two, { value: 'two-edited' });
    await b.store.update(one, { value: 'one-edited' });
    await b.store.delete(two);
    await a.engine.sync();
    await b.engine.sync();

    const conflicts = Object.fromEntries(
      b.engine.conflicts().map((c) => [c.name, c.conflict.kind]),
    );
    expect(conflicts).toEqual({ ONE: 'deleted_there', TWO: 'deleted_here' });
    expect(await valueOf(b, 'ONE')).toBe('one-edited'); // bob's edit is kept
    expect(await valueOf(b, 'TWO')).toBe('two-edited'); // alice's edit came back

    await b.engine.resolveConflict(b.store.list().find((e) => e.name === 'ONE')!.id, 'mine');
    await b.engine.resolveConflict(two, 'theirs');
    await b.engine.sync();
    await a.engine.sync();
    expect(await valueOf(a, 'ONE')).toBe('one-edited');
    expect(await valueOf(a, 'TWO')).toBe('two-edited');
    expect(b.engine.conflicts()).toEqual([]);
  });

  it('share then unshare: the secret leaves the other client and its SecretStorage', async () => {
    const a = await client('alice');
    const c = await client('carol');
    await a.store.create({ name: 'SHARED_TOKEN', value: CANARY, type: 'token' });
    await a.engine.sync();
    const id = a.store.list().find((e) => e.name === 'SHARED_TOKEN')!.id;
    const owner = { principal: { kind: 'user' as const, id: 'alice' }, role: 'owner' as const };
    const access = await a.api.getAccess(id);
    await a.api.putAccess(
      id,
      [...access.access, { principal: { kind: 'user', id: 'carol' }, role: 'reader' }],
      access.version,
    );
    await c.engine.sync();
    const shared = c.store.get(id);
    expect(shared).toMatchObject({ name: 'SHARED_TOKEN', role: 'reader' });
    expect(await valueOf(c, 'SHARED_TOKEN')).toBe(CANARY);

    const now = await a.api.getAccess(id);
    await a.api.putAccess(id, [owner], now.version);
    await c.engine.sync();
    expect(c.store.get(id)).toBeUndefined();
    expect([...c.kv.data.keys()].filter((k) => k.includes('SHARED_TOKEN'))).toEqual([]);
    expect([...c.kv.data.values()].join('\n')).not.toContain(CANARY);
    noCanary(a, c);
  });

  it('a rename on the server arrives under the new name, the old name and its value key gone', async () => {
    const scope = await freshTeam();
    const a = await client('alice');
    const b = await client('bob');
    const c = await client('carol');
    await a.store.create({ name: 'OLD_TEAM', value: `${CANARY}-team`, scope });
    await a.store.create({ name: 'OLD_MINE', value: `${CANARY}-mine` });
    // Two names swapped in one round of the feed: A→B while B→A.
    await a.store.create({ name: 'SWAP_A', value: 'was-a', scope });
    await a.store.create({ name: 'SWAP_B', value: 'was-b', scope });
    await a.engine.sync();
    const idOf = (name: string): string => a.store.list().find((e) => e.name === name)!.id;
    const mine = idOf('OLD_MINE');
    const access = await a.api.getAccess(mine);
    await a.api.putAccess(
      mine,
      [...access.access, { principal: { kind: 'user', id: 'carol' }, role: 'reader' }],
      access.version,
    );
    await b.engine.sync();
    await c.engine.sync();
    expect(await valueOf(c, 'OLD_MINE')).toBe(`${CANARY}-mine`);

    const rename = async (id: string, name: string): Promise<void> => {
      const meta = await a.api.getSecret(id);
      await a.api.updateSecret(id, meta.version, { name });
    };
    await rename(idOf('OLD_TEAM'), 'NEW_TEAM');
    await rename(mine, 'NEW_MINE');
    const [swapA, swapB] = [idOf('SWAP_A'), idOf('SWAP_B')];
    await rename(swapA, 'SWAP_TMP');
    await rename(swapB, 'SWAP_A');
    await rename(swapA, 'SWAP_B');
    await b.engine.sync();
    await c.engine.sync();

    expect(b.store.get(idOf('OLD_TEAM'))).toMatchObject({ name: 'NEW_TEAM' });
    expect(await valueOf(b, 'NEW_TEAM')).toBe(`${CANARY}-team`);
    expect(await valueOf(b, 'OLD_TEAM')).toBeUndefined();
    expect(b.store.get(swapA)).toMatchObject({ name: 'SWAP_B' });
    expect(b.store.get(swapB)).toMatchObject({ name: 'SWAP_A' });
    expect(await valueOf(b, 'SWAP_A')).toBe('was-b');
    expect(await valueOf(b, 'SWAP_B')).toBe('was-a');
    // Someone else's personal secret shared with carol: its entry (keyed by owner) takes the name.
    expect(c.store.get(mine)).toMatchObject({ name: 'NEW_MINE', role: 'reader' });
    expect(await valueOf(c, 'NEW_MINE')).toBe(`${CANARY}-mine`);
    for (const device of [b, c]) {
      expect(device.store.list().map((e) => e.name)).not.toContain('OLD_TEAM');
      expect(device.store.list().map((e) => e.name)).not.toContain('OLD_MINE');
      expect([...device.kv.data.keys()].filter((k) => /OLD_|SWAP_TMP/.test(k))).toEqual([]);
    }
    // Alice's own device, which made none of the renames, follows too.
    await a.engine.sync();
    expect(a.store.get(mine)).toMatchObject({ name: 'NEW_MINE' });
    expect(await valueOf(a, 'SWAP_A')).toBe('was-b');
    noCanary(a, b, c);
  });

  it('server down during a push, then back: the change waits in the outbox and goes through', async () => {
    const scope = await freshTeam();
    const a = await client('alice');
    const b = await client('bob');
    await a.engine.sync();
    const scheduler = new SyncScheduler(a.engine, {
      baseDelayMs: 50,
      maxDelayMs: 200,
      random: () => 0.5,
    });
    await server.stop();
    try {
      await a.store.create({ name: 'WHILE_DOWN', value: 'queued', scope });
      const status = await scheduler.syncNow();
      expect(status.kind).toBe('offline');
      expect(status.pending).toBe(1);
      expect(status.lastError).toMatch(/connection refused/);
      expect(a.engine.outbox()).toMatchObject([{ op: 'create', name: 'WHILE_DOWN' }]);
      expect(await valueOf(a, 'WHILE_DOWN')).toBe('queued'); // the local copy keeps working
    } finally {
      await server.start();
    }
    const back = await scheduler.syncNow();
    scheduler.stop();
    expect(back.kind).toBe('synced');
    expect(back.pending).toBe(0);
    await b.engine.sync();
    expect(await valueOf(b, 'WHILE_DOWN')).toBe('queued');
  });

  it('a token revoked mid-session: sync stops with a clear error, the local copy stays', async () => {
    const created = await server.admin.createToken({ user: 'bob', name: 'revoke-me' });
    const b = await client('bob', created.token);
    const a = await client('alice');
    const scope = await freshTeam();
    await a.store.create({ name: 'KEEP_ME', value: 'kept', scope });
    await a.engine.sync();
    await b.engine.sync();
    await server.admin.revokeToken(created.id);
    const scheduler = new SyncScheduler(b.engine);
    const status = await scheduler.syncNow();
    scheduler.stop();
    expect(status).toMatchObject({ kind: 'error', unauthorized: true });
    expect(status.lastError).toMatch(/refused the token \(401\)/);
    expect(await valueOf(b, 'KEEP_ME')).toBe('kept');
    expect(b.store.resolve('KEEP_ME')?.name).toBe('KEEP_ME');
  });

  it('random operations on two clients with disconnects: no write lost, all converge', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        const scope = await freshTeam();
        await runScenario(
          {
            baseUrl: server.url,
            fetch: globalThis.fetch,
            tokens: [tokens.alice!, tokens.bob!],
            users: ['alice', 'bob'],
            scope,
            shareWithTeam: true,
          },
          ops,
          `p${++run}`,
        );
      }),
      { numRuns: Number(process.env.NS_SYNC_PROPERTY_RUNS ?? 15), endOnFailure: true },
    );
  }, 240_000);

  it('keeps no value in the sync state or the index', async () => {
    const a = await client('alice');
    await a.store.create({ name: 'CANARY_CHECK', value: CANARY });
    await a.engine.sync();
    expect(await a.kv.get(SYNC_STATE_KEY)).not.toContain(CANARY);
    expect(storedIndex(a.kv.data).text).not.toContain(CANARY);
  });
});
