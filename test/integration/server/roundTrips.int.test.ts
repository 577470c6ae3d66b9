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

describe('round trips per write on PostgreSQL', () => {
  it('a create and a PATCH are each the token lookup and one statement', async () => {
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
    // Each statement stands for itself: no BEGIN, COMMIT or setting between them.
    expect(created).toHaveLength(2);
    expect(patched).toHaveLength(2);
    expect([...created, ...patched].filter((sql) => /^(BEGIN|COMMIT|SET)\b/.test(sql))).toEqual([]);
  });
});
