/**
 * Round trips to PostgreSQL per write request: every statement the server sends (including
 * BEGIN, COMMIT and settings) is one exchange on the connection, and under load the server's time
 * goes mostly into them. Counts, not timings: the server runs in this process and each query a
 * pool connection sends is counted.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  client,
  type Client,
  expectOk,
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

  it('refuses a token revoked since it was last seen valid, and writes nothing', async () => {
    const created = (
      await expectOk(admin('POST', '/v1/tokens', { body: { user: 'admin', name: unique('rt') } }))
    ).body as { id: string; token: string };
    const revoked = client(t.url, created.token);
    await expectOk(revoked('POST', '/v1/secrets', { body: { name: unique('RT_'), value: 'v' } }));
    await expectOk(admin('DELETE', `/v1/tokens/${created.id}`));
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
});
