/**
 * How a sync round ends against the real server (PGlite): a resolved conflict always leaves the
 * server's copy (never a local edit marked synced), and a change feed that does not move on, or
 * does not end, stops the round with a clear error instead of looping.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scope } from '../../../src/core/model';
import { syncMarkOf } from '../../../src/sync/syncState';
import * as fc from 'fast-check';
import { ApiClient } from '../../../src/sync/client';
import { op3Arb, PROLOGUE, realView, runThreeClients } from '../../support/threeClients';
import { shareOwnedWithTeam } from '../../support/twoClients';
import {
  addTeam,
  addUser,
  startServer,
  syncDevice,
  type RunningServer,
  type SyncDevice,
} from './harness';

describe('sync rounds against the real server', () => {
  let server: RunningServer;
  const tokens: Record<string, string> = {};
  let seq = 0;

  beforeAll(async () => {
    server = await startServer();
    tokens.alice = await addUser(server, 'alice');
    tokens.bob = await addUser(server, 'bob');
  });

  afterAll(async () => {
    await server?.dispose();
  });

  async function freshTeam(): Promise<Scope & { kind: 'team' }> {
    const id = `r${++seq}`;
    await addTeam(server, id);
    await server.admin.addTeamMember(id, 'alice');
    await server.admin.addTeamMember(id, 'bob');
    return { kind: 'team', id };
  }

  async function valueOf(d: SyncDevice, id: string): Promise<string> {
    return (await d.store.getValue(id)).value;
  }

  /** Every synced entry of `d` holds the server's metadata version and value. */
  async function expectSameAsServer(d: SyncDevice, id: string): Promise<void> {
    const entry = d.store.get(id)!;
    expect(syncMarkOf(entry)).toBe('synced');
    const server = await d.api.getSecret(id);
    expect(entry.sync?.base).toBe(server.version);
    expect(await valueOf(d, id)).toBe((await d.api.getValue(id)).value);
  }

  it('"keep theirs" on a deleted-here conflict edited since takes the server\'s copy, and later edits arrive', async () => {
    const team = await freshTeam();
    const a = await syncDevice(server, 'alice', tokens.alice!);
    const b = await syncDevice(server, 'bob', tokens.bob!);
    await a.store.create({ name: 'X', value: 'base', scope: team });
    await a.engine.sync();
    await shareOwnedWithTeam(a.api, team.id);
    await a.engine.sync();
    await b.engine.sync();
    const id = a.store.list().find((e) => e.name === 'X')!.id;

    await a.store.delete(id); // offline, not pushed yet
    await b.store.update(id, { value: 'bob-1' });
    await b.engine.sync();
    await a.engine.sync();
    expect(a.engine.conflicts()).toMatchObject([{ id, conflict: { kind: 'deleted_here' } }]);
    expect(await valueOf(a, id)).toBe('bob-1');

    await a.store.update(id, { value: 'alice-after-conflict' });
    await a.engine.resolveConflict(id, 'theirs');
    await a.engine.sync();
    expect(await valueOf(a, id)).toBe('bob-1');
    await expectSameAsServer(a, id);
    expect(a.engine.outbox()).toEqual([]);

    await b.store.update(id, { value: 'bob-2' });
    await b.engine.sync();
    await a.engine.sync();
    expect(await valueOf(a, id)).toBe('bob-2');
    await expectSameAsServer(a, id);
  });

  it('"keep theirs" takes the server\'s copy as it is now, not as it was when the conflict came up', async () => {
    const team = await freshTeam();
    const a = await syncDevice(server, 'alice', tokens.alice!);
    const b = await syncDevice(server, 'bob', tokens.bob!);
    await a.store.create({ name: 'Y', value: 'base', scope: team });
    await a.engine.sync();
    await shareOwnedWithTeam(a.api, team.id);
    await a.engine.sync();
    await b.engine.sync();
    const id = a.store.list().find((e) => e.name === 'Y')!.id;

    await a.store.delete(id);
    await b.store.update(id, { value: 'bob-1' });
    await b.engine.sync();
    await a.engine.sync(); // deleted_here, theirs at bob-1
    await b.store.update(id, { value: 'bob-2' });
    await b.engine.sync();
    await a.engine.resolveConflict(id, 'theirs');
    expect(await valueOf(a, id)).toBe('bob-2');
    await expectSameAsServer(a, id);
    await a.engine.sync();
    await expectSameAsServer(a, id);
  });

  it('"keep mine" on a deleted-here conflict edited since pushes the edit over the server\'s current version', async () => {
    const team = await freshTeam();
    const a = await syncDevice(server, 'alice', tokens.alice!);
    const b = await syncDevice(server, 'bob', tokens.bob!);
    await a.store.create({ name: 'Z', value: 'base', scope: team });
    await a.engine.sync();
    await shareOwnedWithTeam(a.api, team.id);
    await a.engine.sync();
    await b.engine.sync();
    const id = a.store.list().find((e) => e.name === 'Z')!.id;

    await a.store.delete(id);
    await b.store.update(id, { value: 'bob-1' });
    await b.engine.sync();
    await a.engine.sync();
    await a.store.update(id, { value: 'alice-2' });
    const comparison = await a.engine.compare(id, { values: true });
    expect(comparison.mine).toMatchObject({ deleted: false, value: { value: 'alice-2' } });
    await a.engine.resolveConflict(id, 'mine');
    expect((await a.api.getValue(id)).value).toBe('alice-2');
    await expectSameAsServer(a, id);
    await b.engine.sync();
    expect(await valueOf(b, id)).toBe('alice-2');
  });

  it('a change feed that does not move past its cursor stops the round with a clear error', async () => {
    let stuck = false;
    let stuckAnswers = 0;
    const fetchStuck: typeof fetch = async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      // After 50 stuck answers, answer for real: an endless loop would otherwise hang the test.
      if (stuck && url.pathname === '/v1/changes' && stuckAnswers < 50) {
        stuckAnswers++;
        const next = url.searchParams.get('since') ?? '';
        return Response.json({ changes: [], next, more: true, reset: false });
      }
      return globalThis.fetch(input, init);
    };
    const a = await syncDevice(server, 'alice', tokens.alice!, { fetch: fetchStuck });
    await a.engine.sync();
    stuck = true;
    await expect(a.engine.sync()).rejects.toThrow(/did not move past its cursor/);
    expect(stuckAnswers).toBe(1);
    stuck = false;
    await a.store.create({ name: 'AFTER_STUCK', value: 'v' });
    await expect(a.engine.sync()).resolves.toMatchObject({ pushed: 1 });
  });

  it('a round reads at most maxPages pages; the next round carries on from there', async () => {
    const team = await freshTeam();
    const a = await syncDevice(server, 'alice', tokens.alice!);
    const b = await syncDevice(server, 'bob', tokens.bob!, { pageLimit: 1, maxPages: 3 });
    await b.engine.sync();
    for (let i = 0; i < 5; i++)
      await a.store.create({ name: `PAGE_${i}`, value: `v${i}`, scope: team });
    await a.engine.sync();
    await expect(b.engine.sync()).rejects.toThrow(/did not end after 3 pages/);
    const afterFirst = b.store.list().filter((e) => e.name.startsWith('PAGE_')).length;
    expect(afterFirst).toBeGreaterThan(0);
    await b.engine.sync().catch(() => undefined);
    await b.engine.sync();
    expect(
      b.store
        .list()
        .filter((e) => e.name.startsWith('PAGE_'))
        .map((e) => e.name)
        .sort(),
    ).toEqual(['PAGE_0', 'PAGE_1', 'PAGE_2', 'PAGE_3', 'PAGE_4']);
  });

  it('random operations on three clients of two users with the same names, sharing: each secret stays itself, all converge', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op3Arb, { maxLength: 25, size: 'medium' }), async (ops) => {
        // Every run starts from nothing: the previous run's secrets go.
        for (const user of ['alice', 'bob'] as const) {
          const api = new ApiClient({ baseUrl: server.url, token: tokens[user]! });
          for (const s of await api.listSecrets({})) {
            if (s.role === 'owner') await api.deleteSecret(s.id).catch(() => undefined);
          }
        }
        const team = await freshTeam();
        const view = realView(server.url, { alice: tokens.alice!, bob: tokens.bob! }, team.id);
        await runThreeClients(view, [...PROLOGUE, ...ops], `q${++run}`);
      }),
      { numRuns: Number(process.env.NS_SYNC_PROPERTY_RUNS ?? 8), endOnFailure: true },
    );
  }, 240_000);
});
