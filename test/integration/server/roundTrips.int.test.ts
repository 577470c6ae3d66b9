/**
 * Round trips to the database per write request: every statement the server sends (including
 * BEGIN, COMMIT and settings) is one exchange on a PostgreSQL connection, or one message to the
 * PGlite worker, and under load the server's time goes mostly into them. Counts, not timings: the
 * server runs in this process and each query a pool connection sends, or each message the
 * worker is sent, is counted.
 */
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  client,
  type Client,
  expectOk,
  pgliteBackend,
  postgresBackend,
  startTestServer,
  type TestServer,
  unique,
} from './harness';

const backend = postgresBackend();
let t: TestServer;
let admin: Client;
let sent: string[] = [];
const query = pg.Client.prototype.query;

beforeAll(async () => {
  t = await startTestServer(backend);
  admin = client(t.url, t.adminToken);
  // Each query a connection sends, by its text (named statements send theirs too).
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string };
    sent.push(typeof first === 'string' ? first : String(first?.text));
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
});

afterAll(async () => {
  pg.Client.prototype.query = query;
  await t?.server.close();
  await backend.dispose();
});

/** The statements one request sends, once connections and their settings are warm. */
async function statementsOf(request: () => Promise<unknown>): Promise<string[]> {
  sent = [];
  await request();
  return sent;
}

/** The statements of a request, leaving out the settings a connection warmed by others may need. */
async function queriesOf(request: () => Promise<unknown>): Promise<string[]> {
  return (await statementsOf(request)).filter((sql) => !/^SET\b/.test(sql));
}

describe('round trips per write on PostgreSQL', () => {
  it('a create and a PATCH are each one statement, the token checked in it', async () => {
    const create = () =>
      expectOk(admin('POST', '/v1/secrets', { body: { name: unique('RT_'), value: 'v1' } }));
    const patch = (id: string, version: number, value: string) =>
      expectOk(
        admin('PATCH', `/v1/secrets/${id}`, {
          body: { value },
          headers: { 'if-match': `"${version}"` },
        }),
      );
    // Warm up every connection of the pool the requests below may use.
    for (let i = 0; i < 12; i++) {
      const { body } = await create();
      await patch(body.id, 1, 'v2');
    }
    let id = '';
    const created = await statementsOf(async () => {
      id = (await create()).body.id;
    });
    const patched = await statementsOf(() => patch(id, 1, 'v2'));
    // One statement stands for itself: no BEGIN, COMMIT or setting, and no token lookup first.
    expect(created).toHaveLength(1);
    expect(patched).toHaveLength(1);
    expect([...created, ...patched].every((sql) => /FROM tokens t/.test(sql))).toBe(true);
  });

  it('looks a token up before the body while this process has not seen it valid', async () => {
    const { token } = (
      await expectOk(admin('POST', '/v1/tokens', { body: { user: 'admin', name: unique('rt') } }))
    ).body as { token: string };
    const fresh = client(t.url, token);
    const first = await queriesOf(() =>
      expectOk(fresh('POST', '/v1/secrets', { body: { name: unique('RT_'), value: 'v' } })),
    );
    expect(first).toHaveLength(2);
    const second = await queriesOf(() =>
      expectOk(fresh('POST', '/v1/secrets', { body: { name: unique('RT_'), value: 'v' } })),
    );
    expect(second).toHaveLength(1);
  });

  it('refuses a token revoked by another process, in the write, and writes nothing', async () => {
    const created = (
      await expectOk(admin('POST', '/v1/tokens', { body: { user: 'admin', name: unique('rt') } }))
    ).body as { id: string; token: string };
    const revoked = client(t.url, created.token);
    await expectOk(revoked('POST', '/v1/secrets', { body: { name: unique('RT_'), value: 'v' } }));
    // As another server process on the same database would revoke it: this one does not know.
    const other = new pg.Client({ connectionString: t.config.databaseUrl });
    await other.connect();
    await other.query('DELETE FROM tokens WHERE id = $1', [created.id]);
    await other.end();
    const name = unique('RT_GONE_');
    // A request refused before its statement (a bad body, a bad If-Match) still names the token
    // first, as on every other route.
    expect((await revoked('POST', '/v1/secrets', { body: { name: 'no spaces' } })).status).toBe(
      401,
    );
    const refused = await revoked('POST', '/v1/secrets', { body: { name, value: 'v' } });
    expect(refused.status).toBe(401);
    const listed = (await expectOk(admin('GET', `/v1/secrets?q=${name}`))).body as {
      secrets: unknown[];
    };
    expect(listed.secrets).toEqual([]);
    // Refused once, it is looked up before the body again.
    const again = await queriesOf(() =>
      revoked('POST', '/v1/secrets', { body: { name, value: 'v' } }),
    );
    expect(again).toHaveLength(1);
    expect(again[0]).not.toMatch(/INSERT/);
  });

  it('looks a token up before the body again once this process revoked one', async () => {
    const mint = async () =>
      (await expectOk(admin('POST', '/v1/tokens', { body: { user: 'admin', name: unique('rt') } })))
        .body as { id: string; token: string };
    const [kept, gone] = [await mint(), await mint()];
    for (const { token } of [kept, gone]) {
      await expectOk(
        client(t.url, token)('POST', '/v1/secrets', { body: { name: unique('RT_'), value: 'v' } }),
      );
    }
    await expectOk(admin('DELETE', `/v1/tokens/${gone.id}`));
    let status = 0;
    const refused = await queriesOf(async () => {
      status = (await client(t.url, gone.token)('POST', '/v1/secrets', { body: {} })).status;
    });
    expect(status).toBe(401);
    // The lookup alone, before the body: the statement never ran.
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/^SELECT t\.id AS token_id/);
    const stillValid = await queriesOf(() =>
      expectOk(
        client(t.url, kept.token)('POST', '/v1/secrets', {
          body: { name: unique('RT_'), value: 'v' },
        }),
      ),
    );
    expect(stillValid).toHaveLength(2);
  });
});

describe('round trips per write on PGlite', () => {
  const lite = pgliteBackend();
  let s: TestServer;
  const post = Worker.prototype.postMessage;
  let messages: string[] = [];

  beforeAll(async () => {
    s = await startTestServer(lite);
    Worker.prototype.postMessage = function (this: Worker, message: unknown, ...rest: never[]) {
      const sql = (message as { sql?: unknown } | null)?.sql;
      if (typeof sql === 'string') messages.push(sql);
      return post.call(this, message, ...rest);
    } as typeof post;
  });

  afterAll(async () => {
    Worker.prototype.postMessage = post;
    await s?.server.close();
    await lite.dispose();
  });

  it("keeps the token's caller in memory across a create and a PATCH", async () => {
    const owner = client(s.url, s.adminToken);
    const create = async () =>
      (await expectOk(owner('POST', '/v1/secrets', { body: { name: unique('RT_'), value: 'v' } })))
        .body as { id: string };
    await create();
    messages = [];
    const { id } = await create();
    await expectOk(
      owner('PATCH', `/v1/secrets/${id}`, {
        body: { value: 'v2' },
        headers: { 'if-match': '"1"' },
      }),
    );
    // Each write is its statement alone: the token's caller came from memory, which neither
    // write emptied (db/stableReads.ts).
    expect(messages).toHaveLength(2);
    expect(messages.some((sql) => /FROM tokens/.test(sql))).toBe(false);
  });
});
