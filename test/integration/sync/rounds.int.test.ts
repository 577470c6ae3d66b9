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

  /** A new user (their token in `tokens`) and a new team of them and alice, whom no test shares. */
  async function newUserWithAlice(user: string): Promise<Scope & { kind: 'team' }> {
    tokens[user] = await addUser(server, user);
    const id = `r${++seq}`;
    await addTeam(server, id);
    await server.admin.addTeamMember(id, 'alice');
    await server.admin.addTeamMember(id, user);
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

  it('a fresh device reads a long listing in parts side by side, then what changed meanwhile', async () => {
    // carol, in a team with alice only: the other tests' listings stay as short as they were.
    const team = await newUserWithAlice('carol');
    const a = await syncDevice(server, 'alice', tokens.alice!);
    for (let i = 0; i < 30; i++) {
      await a.store.create({ name: `PARTS_${i}`, value: `v${i}`, scope: team });
    }
    await a.engine.sync();
    const asked: string[] = [];
    let inFlight = 0;
    let most = 0;
    const recording: typeof fetch = async (input, init) => {
      const url = new URL(String(input));
      if (url.pathname !== '/v1/changes') return fetch(input, init);
      asked.push(url.search);
      // Written while the listing is read: the feed after it brings it in the same round.
      if (asked.length === 2) {
        await a.store.create({ name: 'PARTS_DURING', value: 'during', scope: team });
        await a.engine.sync();
      }
      most = Math.max(most, ++inFlight);
      try {
        return await fetch(input, init);
      } finally {
        inFlight--;
      }
    };
    const b = await syncDevice(server, 'carol', tokens.carol!, { pageLimit: 4, fetch: recording });
    await b.engine.sync();
    const names = b.store
      .list()
      .filter((e) => e.name.startsWith('PARTS_'))
      .map((e) => e.name);
    expect(names.sort()).toEqual(
      [...Array.from({ length: 30 }, (_, i) => `PARTS_${i}`), 'PARTS_DURING'].sort(),
    );
    expect(
      await b.store.getValue(b.store.list().find((e) => e.name === 'PARTS_DURING')!.id),
    ).toMatchObject({ value: 'during' });
    expect(asked[0]).toContain('parts=4');
    // Ranges side by side, each its own chain of cursors (up to 4: the server splits into no
    // more than the pages it expects after the first).
    const parts = new Set(
      asked.slice(1).flatMap((q) => {
        const since = new URLSearchParams(q).get('since') ?? '';
        const place = since.split('.');
        return place.length === 4 ? [place[3]] : [];
      }),
    );
    expect(parts.size).toBeGreaterThan(1);
    expect(parts.size).toBeLessThanOrEqual(4);
    expect(most).toBeGreaterThan(1);
    // The next round reads on from where the feed ended: one page, nothing new.
    const before = asked.length;
    await expect(b.engine.sync()).resolves.toMatchObject({ pulled: 0 });
    expect(asked.length - before).toBe(1);
  });

  it('a round reads at most maxPages pages; the next round carries on from there', async () => {
    // erin, in a team with alice only: a first listing of one page whatever the other tests wrote.
    const team = await newUserWithAlice('erin');
    const a = await syncDevice(server, 'alice', tokens.alice!);
    const b = await syncDevice(server, 'erin', tokens.erin!, { pageLimit: 1, maxPages: 3 });
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
