import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MalformedResponse } from '../../../src/core/errors';
import { LocalSecretStore } from '../../../src/core/localStore';
import { ApiClient } from '../../../src/sync/client';
import { SyncEngine } from '../../../src/sync/engine';
import { MemoryKeyValueStore } from '../../../src/sync/memoryKeyValueStore';
import { syncClient } from '../../support/syncClient';
import { FakeServer } from './fakeServer';

const CANARY = 'canary-batch-5d1e-do-not-leak';
const TEAM = { kind: 'team', id: 'data' } as const;

interface Side {
  store: LocalSecretStore;
  engine: SyncEngine;
  logs: string[];
}

/** A client of `user`, over `fetch` (default: the fake server's) with pages of `pageLimit`. */
function client(
  server: FakeServer,
  user: string,
  options: { fetch?: typeof fetch; pageLimit?: number } = {},
): Promise<Side> {
  return syncClient({
    user,
    baseUrl: 'http://fake.test',
    token: `tok-${user}`,
    fetch: options.fetch ?? server.fetch,
    ...(options.pageLimit !== undefined && { pageLimit: options.pageLimit }),
  });
}

/** Creates `count` team secrets on the server as alice; returns their ids. */
async function seed(server: FakeServer, count: number, prefix = 'S'): Promise<string[]> {
  const api = new ApiClient({
    baseUrl: 'http://fake.test',
    token: 'tok-alice',
    fetch: server.fetch,
  });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${prefix}_${i}`;
    ids.push((await api.createSecret({ name, value: `${CANARY}-${name}`, scope: TEAM })).id);
  }
  return ids;
}

async function values(side: Side): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of side.store.list()) {
    out.set(entry.name, (await side.store.getValue(entry.id)).value);
  }
  return out;
}

function count(server: FakeServer, pattern: RegExp): number {
  return server.requests.filter((r) => pattern.test(r)).length;
}

const VALUE_READ = /^GET \/v1\/secrets\/[^/]+\/value$/;

describe('SyncEngine: values in batches (POST /v1/values)', () => {
  let server: FakeServer;

  beforeEach(() => {
    server = new FakeServer();
    server.addUser('alice');
    server.addUser('bob');
    server.addTeam('data', ['alice', 'bob']);
  });

  it('pulls 1,201 values in chunks of 500, 500 and 201, without single reads', async () => {
    await seed(server, 1201);
    const bob = await client(server, 'bob');
    server.requests = [];
    const report = await bob.engine.sync();
    expect(report.pulled).toBe(1201);
    expect(server.valueBatches).toEqual([500, 500, 201]);
    expect(count(server, VALUE_READ)).toBe(0);
    const got = await values(bob);
    expect(got.size).toBe(1201);
    expect(got.get('S_0')).toBe(`${CANARY}-S_0`);
    expect(got.get('S_1200')).toBe(`${CANARY}-S_1200`);
    expect(bob.logs.join('\n')).not.toContain(CANARY);
  });

  it('sends the first batch alone only until the server has answered one', async () => {
    await seed(server, 1000, 'A');
    const bob = await client(server, 'bob');
    // Batches in flight at once, as the server sees them.
    let inFlight = 0;
    let most = 0;
    server.beforeValues = () => {
      most = Math.max(most, ++inFlight);
    };
    const inner = server.fetch;
    const api = new ApiClient({
      baseUrl: 'http://fake.test',
      token: 'tok-bob',
      fetch: async (input, init) => {
        const answer = await inner(input, init);
        // An answer leaves the server a tick later, as over a socket.
        await new Promise((resolve) => setImmediate(resolve));
        if (init?.method === 'POST') inFlight--;
        return answer;
      },
    });
    const engine = new SyncEngine({ client: api, store: bob.store, kv: new MemoryKeyValueStore() });
    await engine.init();
    await engine.sync();
    expect(server.valueBatches).toEqual([500, 500]);
    expect(most).toBe(1);

    await seed(server, 1000, 'B');
    most = 0;
    await engine.sync();
    expect(server.valueBatches).toEqual([500, 500, 500, 500]);
    expect(most).toBe(2);
    expect(bob.store.list()).toHaveLength(2000);
  });

  it("asks for a page's values as it comes, while the page before is stored", async () => {
    const kv = new MemoryKeyValueStore();
    const store = new LocalSecretStore(kv, { user: 'bob' });
    await store.load();
    // How many entries the store held as each batch of values was asked for.
    const held: number[] = [];
    const api = new ApiClient({
      baseUrl: 'http://fake.test',
      token: 'tok-bob',
      fetch: (input, init) => {
        if (init?.method === 'POST') held.push(store.list().length);
        return server.fetch(input, init);
      },
    });
    const engine = new SyncEngine({ client: api, store, kv });
    await engine.init();
    await engine.sync();
    // Two pages of the feed (the fake lists everything in one page; its feed pages by 1,000).
    await seed(server, 2000);
    await engine.sync();
    expect(store.list()).toHaveLength(2000);
    expect(held).toHaveLength(4);
    // The second page's first batch before the first page was stored (one by one: 0, 0, 1000, 1000).
    expect(held.slice(0, 3)).toEqual([0, 0, 0]);
  });

  it("reads the feed's next pages while a page waits for its values, a few pages ahead", async () => {
    const pages: string[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const { store, engine } = await client(server, 'bob', {
      pageLimit: 100,
      fetch: async (input, init) => {
        const url = new URL(String(input));
        if (url.pathname === '/v1/changes') pages.push(url.searchParams.get('since') ?? '');
        // Every batch of values waits until the test lets them through.
        if (init?.method === 'POST') await held;
        return server.fetch(input, init);
      },
    });
    await engine.sync();
    await seed(server, 1000);
    const asked = pages.length;
    const round = engine.sync();
    // Ten pages of 100: while the first page's values are held, the next pages are asked for,
    // up to six ahead of the page being stored (a reader one page ahead stops at the second).
    await vi.waitFor(() => expect(pages.length - asked).toBe(7));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(pages.length - asked).toBe(7);
    expect(store.list()).toHaveLength(0);
    release();
    await round;
    expect(pages.length - asked).toBe(10);
    expect(new Set(pages.slice(asked)).size).toBe(10);
    expect(store.list()).toHaveLength(1000);
  });

  it('reads a full listing in one chain from a server that refuses parts (an older one)', async () => {
    await seed(server, 3);
    const asked: string[] = [];
    const { store, engine, logs } = await client(server, 'bob', {
      fetch: async (input, init) => {
        const url = new URL(String(input));
        if (url.pathname === '/v1/changes') asked.push(url.search);
        if (url.searchParams.has('parts')) {
          // As a server whose query schema has no `parts` answers.
          const body = { error: { code: 'invalid_input', message: 'Unrecognized key: "parts"' } };
          return new Response(JSON.stringify(body), {
            status: 400,
            headers: { 'content-type': 'application/json' },
          });
        }
        return server.fetch(input, init);
      },
    });
    await engine.sync();
    expect(store.list()).toHaveLength(3);
    expect(asked).toEqual(['?limit=1000&parts=4', '?limit=1000']);
    expect(logs).toEqual([
      'info The server cannot list in parts (an older version); listing in one.',
    ]);
    // Asked once a session: the next full listing goes without.
    await engine.forget();
    await engine.sync();
    expect(asked.slice(2)).toEqual(['?limit=1000']);
    expect(store.list()).toHaveLength(3);
  });

  it('treats missing ids as a 404 of the single read: skipped quietly, the rest stored', async () => {
    const outcome = async (batch: boolean) => {
      const s = new FakeServer();
      s.addUser('alice');
      s.addUser('bob');
      s.addTeam('data', ['alice', 'bob']);
      s.batchValues = batch;
      const ids = await seed(s, 4);
      const bob = await client(s, 'bob');
      // Between the change feed and the values: one deleted, one taken out of bob's reach.
      const race = () => {
        s.rows.get(ids[1]!)!.deleted = true;
        const row = s.rows.get(ids[2]!)!;
        row.meta = { ...row.meta, scope: { kind: 'personal' } };
      };
      if (batch) s.beforeValues = race;
      else {
        const inner = s.fetch;
        let raced = false;
        Object.defineProperty(s, 'fetch', {
          value: (input: string | URL | Request, init?: RequestInit) => {
            if (
              !raced &&
              VALUE_READ.test(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`)
            ) {
              raced = true;
              race();
            }
            return inner(input, init);
          },
        });
      }
      // The client captured server.fetch at construction; rebuild it for the per-id variant.
      const side = batch ? bob : await client(s, 'bob');
      const report = await side.engine.sync();
      return {
        report,
        values: [...(await values(side))].sort(),
        warnings: side.logs.filter((l) => l.startsWith('warn')),
        batches: s.valueBatches,
      };
    };
    const batched = await outcome(true);
    const single = await outcome(false);
    expect(batched.batches).toEqual([4]);
    expect(single.batches).toEqual([]);
    expect(batched.values).toEqual([
      ['S_0', `${CANARY}-S_0`],
      ['S_3', `${CANARY}-S_3`],
    ]);
    expect(batched.values).toEqual(single.values);
    expect(batched.report).toEqual(single.report);
    expect(batched.report.pulled).toBe(2);
    expect(batched.warnings).toEqual([]);
    expect(single.warnings).toEqual([]);
  });

  it('a later sync brings a secret that was missing once it is visible again', async () => {
    const ids = await seed(server, 2);
    const bob = await client(server, 'bob');
    const row = server.rows.get(ids[0]!)!;
    const scope = row.meta.scope;
    server.beforeValues = () => {
      row.meta = { ...row.meta, scope: { kind: 'personal' } };
    };
    await bob.engine.sync();
    expect([...(await values(bob)).keys()]).toEqual(['S_1']);
    server.beforeValues = undefined;
    row.meta = { ...row.meta, scope, version: row.meta.version + 1 };
    (server as unknown as { bump(id: string): void }).bump(row.meta.id);
    await bob.engine.sync();
    expect([...(await values(bob)).keys()].sort()).toEqual(['S_0', 'S_1']);
  });

  it('falls back to single reads once on an older server (404) and remembers it', async () => {
    server.batchValues = false;
    await seed(server, 3, 'A');
    const bob = await client(server, 'bob');
    server.requests = [];
    await bob.engine.sync();
    expect(count(server, /^POST \/v1\/values$/)).toBe(1);
    expect(count(server, VALUE_READ)).toBe(3);
    expect((await values(bob)).get('A_2')).toBe(`${CANARY}-A_2`);
    expect(bob.logs.join('\n')).toMatch(/info .*POST \/v1\/values.*one by one/);

    await seed(server, 2, 'B');
    server.requests = [];
    await bob.engine.sync();
    expect(count(server, /^POST \/v1\/values$/)).toBe(0);
    expect(count(server, VALUE_READ)).toBe(2);
    expect((await values(bob)).size).toBe(5);
  });

  it('does not fall back on other errors: a failed batch fails the sync and stores nothing', async () => {
    await seed(server, 2);
    const bob = await client(server, 'bob');
    server.beforeValues = () => {
      server.corruptNext = '{"values": "nope", "missing": []}';
    };
    await expect(bob.engine.sync()).rejects.toBeInstanceOf(MalformedResponse);
    expect(bob.store.list()).toEqual([]);
    server.beforeValues = undefined;
    await bob.engine.sync();
    expect((await values(bob)).size).toBe(2);
    expect(count(server, VALUE_READ)).toBe(0);
  });
});

describe('ApiClient.getValues', () => {
  const answering =
    (body: unknown, status = 200): typeof fetch =>
    () =>
      Promise.resolve(
        new Response(JSON.stringify(body), {
          status,
          headers: { 'content-type': 'application/json' },
        }),
      );
  const api = (fetch: typeof globalThis.fetch) =>
    new ApiClient({ baseUrl: 'http://h', token: 't0k', fetch });

  it('posts the ids in the body and returns values and missing', async () => {
    let seen: { url: string; method?: string; body?: string } | undefined;
    const client = api((url, init) => {
      seen = { url: String(url), method: init?.method, body: init?.body as string };
      return answering({
        values: [{ id: 'a', value: CANARY, encoding: 'text', version: 3 }],
        missing: ['b'],
      })(url, init);
    });
    const answer = await client.getValues(['a', 'b']);
    expect(seen).toEqual({ url: 'http://h/v1/values', method: 'POST', body: '{"ids":["a","b"]}' });
    expect(answer).toEqual({
      values: [{ id: 'a', value: CANARY, encoding: 'text', version: 3 }],
      missing: ['b'],
    });
  });

  it.each([
    ['a malformed body', { values: [{ id: 'a', value: CANARY }], missing: [] }, /field values\.0/],
    ['an id not asked for', { values: [], missing: ['a', 'zzz'] }, /not asked for/],
    [
      'an id twice',
      { values: [{ id: 'a', value: CANARY, encoding: 'text', version: 1 }], missing: ['a'] },
      /twice/,
    ],
    ['an id left out', { values: [], missing: ['a'] }, /1 of the 2 ids/],
  ])('rejects %s with a MalformedResponse that names no value', async (_what, body, message) => {
    const error = await api(answering(body))
      .getValues(['a', 'b'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MalformedResponse);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain(CANARY);
  });

  it('gives an ApiError with status 404 from a server without the route', async () => {
    const error = await api(
      answering(
        { error: { code: 'not_found', message: 'There is no endpoint POST /v1/values.' } },
        404,
      ),
    )
      .getValues(['a'])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 404 });
  });
});
