/**
 * The real server process (`notebook-secrets serve`, the bundled CLI): first start, restart after
 * SIGKILL in the middle of writes, graceful SIGTERM, a wrong key, and two processes on one
 * PostgreSQL database.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChangesPage, SecretList, VersionList } from '../../../src/core/api';
import { testCacheHome } from '../cliCache';
import { client, expectOk, type Client } from './harness';
import { startPostgres, type PostgresCluster } from './postgres';
import { buildServerCli, freePort, serve, type ServeProcess } from './serverProcess';

const execFileAsync = promisify(execFile);
const CANARY = `canary-${randomBytes(6).toString('hex')}-process`;
const dirs: string[] = [];
const procs: ServeProcess[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ns-serve-'));
  dirs.push(dir);
  return dir;
}

async function start(options: Parameters<typeof serve>[0]): Promise<ServeProcess> {
  const p = await serve(options);
  procs.push(p);
  return p;
}

afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function userClient(url: string, adminToken: string, id: string): Promise<Client> {
  const admin = client(url, adminToken);
  await expectOk(admin('POST', '/v1/users', { body: { id } }));
  const token = (await expectOk(admin('POST', '/v1/tokens', { body: { user: id } }))).body.token;
  return client(url, token);
}

/** Reads the whole change feed as the caller and returns id → version of the upserts. */
async function feed(c: Client): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  let page = ChangesPage.parse((await expectOk(c('GET', '/v1/changes?limit=1000'))).body);
  for (;;) {
    for (const change of page.changes) {
      if (change.kind === 'upsert') result.set(change.secret.id, change.secret.version);
      else result.delete(change.id);
    }
    if (!page.more) return result;
    page = ChangesPage.parse(
      (await expectOk(c('GET', `/v1/changes?since=${page.next}&limit=1000`))).body,
    );
  }
}

/**
 * Keeps several writers busy (creates and guarded updates) until `stop` is set; remembers what
 * the server acknowledged.
 */
function writeLoad(c: Client, workers: number) {
  const acked = new Map<string, { version: number; value: string }>();
  let stop = false;
  let attempted = 0;
  const run = async (w: number) => {
    for (let i = 0; !stop; i++) {
      attempted++;
      try {
        const value = `${CANARY}-${w}-${i}`;
        const created = await c('POST', '/v1/secrets', { body: { name: `LOAD_${w}_${i}`, value } });
        if (created.status !== 201) continue;
        acked.set(created.body.id, { version: 1, value });
        const next = `${value}-b`;
        const updated = await c('PATCH', `/v1/secrets/${created.body.id}`, {
          body: { value: next },
          headers: { 'if-match': '"1"' },
        });
        if (updated.status === 200) acked.set(created.body.id, { version: 2, value: next });
      } catch {
        return; // the server is gone
      }
    }
  };
  const done = Promise.all(Array.from({ length: workers }, (_, w) => run(w)));
  return {
    acked,
    attempted: () => attempted,
    async stop() {
      stop = true;
      await done;
    },
  };
}

/** Every acknowledged write is there, every value decrypts, history and feed agree with the list. */
async function expectConsistent(c: Client, acked: Map<string, { version: number; value: string }>) {
  const list = SecretList.parse((await expectOk(c('GET', '/v1/secrets'))).body).secrets;
  const byId = new Map(list.map((s) => [s.id, s]));
  for (const [id, want] of acked) {
    const meta = byId.get(id);
    expect(meta, `acknowledged secret ${id} is missing`).toBeDefined();
    expect(meta!.version).toBeGreaterThanOrEqual(want.version);
    if (meta!.version === want.version) {
      const value = await expectOk(c('GET', `/v1/secrets/${id}/value`));
      expect(value.body.value).toBe(want.value);
    }
  }
  for (const meta of list) {
    expect((await c('GET', `/v1/secrets/${meta.id}/value`)).status).toBe(200);
    const versions = VersionList.parse(
      (await expectOk(c('GET', `/v1/secrets/${meta.id}/versions`))).body,
    ).versions;
    expect(versions.map((v) => v.version)).toEqual(
      Array.from({ length: meta.version }, (_, i) => meta.version - i),
    );
  }
  const fromFeed = await feed(c);
  expect(new Map(list.map((s) => [s.id, s.version]))).toEqual(fromFeed);
}

// One data directory through a server's life (one initdb: PGlite's is the slow part): first
// start, graceful stop under load, restart, SIGKILL under load, restart, wrong key. The tests run
// in order and each starts where the previous one stopped.
describe(
  'serve on PGlite (real process), one data directory through its life',
  { timeout: 180_000 },
  () => {
    const dataDir = tempDir();
    let port: number;
    let adminToken: string;
    let alice: Client;
    let acked = new Map<string, { version: number; value: string }>();

    beforeAll(async () => {
      port = await freePort();
    });

    it('prints an admin token once on first start and creates the key file 0600', async () => {
      const first = await start({ dataDir, port });
      adminToken = /\n\s+(nst_\S+)\n/.exec(first.stdout())?.[1] ?? '';
      expect(adminToken, first.stdout()).toMatch(/^nst_/);
      expect(first.stdout()).toContain(`Listening on http://127.0.0.1:${port}`);
      expect(statSync(join(dataDir, 'server.key')).mode & 0o777).toBe(0o600);
      const me = await client(first.url, adminToken)('GET', '/v1/me');
      expect(me.body.user).toMatchObject({ id: 'admin', admin: true });
      alice = await userClient(first.url, adminToken, 'alice');
      await expectOk(alice('POST', '/v1/secrets', { body: { name: 'KEPT', value: CANARY } }));

      // SIGTERM with writes in flight: they finish, the process exits 0.
      const load = writeLoad(alice, 6);
      while (load.acked.size < 10) await new Promise((r) => setTimeout(r, 20));
      expect(await first.kill('SIGTERM')).toBe(0);
      await load.stop();
      acked = load.acked;
      expect(first.stdout() + first.stderr()).not.toContain(CANARY);
    });

    it('restarts without a new admin token, with every acknowledged write', async () => {
      const second = await start({ dataDir, port });
      expect(second.stdout()).not.toContain('nst_');
      expect((await client(second.url, adminToken)('GET', '/v1/me')).status).toBe(200);
      expect((await alice('GET', '/v1/resolve/KEPT')).body.value).toBe(CANARY);
      await expectConsistent(alice, acked);

      const load = writeLoad(alice, 6);
      const target = acked.size + 15;
      while (load.acked.size < 15) await new Promise((r) => setTimeout(r, 20));
      expect(await second.kill('SIGKILL')).toBe('SIGKILL');
      await load.stop();
      expect(load.attempted()).toBeGreaterThan(load.acked.size);
      for (const [id, v] of load.acked) acked.set(id, v);
      expect(acked.size).toBeGreaterThanOrEqual(target);
      expect(second.stdout() + second.stderr()).not.toContain(CANARY);
    });

    it('comes back consistent after SIGKILL in the middle of writes, and keeps working', async () => {
      const third = await start({ dataDir, port });
      await expectConsistent(alice, acked);
      const next = await alice('POST', '/v1/secrets', {
        body: { name: 'AFTER_RESTART', value: 'ok' },
      });
      expect(next.status).toBe(201);
      expect(await third.kill('SIGTERM')).toBe(0);
      expect(third.stdout() + third.stderr()).not.toContain(CANARY);
    });

    it('refuses to start with another key, saying which key it needs', async () => {
      const wrong = await start({
        dataDir,
        port,
        env: { NOTEBOOK_SECRETS_KEY: randomBytes(32).toString('base64') },
      });
      expect(await wrong.exited).toBe(1);
      expect(wrong.stderr()).toMatch(
        /Refusing to start: This database has values encrypted with key id [0-9a-f]{16}/,
      );
    });
  },
);

describe('two serve processes on one PostgreSQL', () => {
  let cluster: PostgresCluster;
  let databaseUrl: string;
  let a: ServeProcess;
  let b: ServeProcess;
  const env = {
    NOTEBOOK_SECRETS_ADMIN_TOKEN: 'admin-token-for-two-servers-0123456789',
    NOTEBOOK_SECRETS_KEY: randomBytes(32).toString('base64'),
  };

  beforeAll(async () => {
    cluster = await startPostgres();
    databaseUrl = await cluster.createDatabase();
    const full = { ...env, DATABASE_URL: databaseUrl };
    [a, b] = await Promise.all([
      start({ dataDir: tempDir(), port: await freePort(), env: full }),
      start({ dataDir: tempDir(), port: await freePort(), env: full }),
    ]);
  });

  afterAll(async () => {
    await a?.kill('SIGTERM');
    await b?.kill('SIGTERM');
    await cluster?.stop();
  });

  it('administers users, teams, projects, members and tokens with `notebook-secrets admin`', async () => {
    const cli = await buildServerCli();
    const admin = async (...args: string[]) => {
      const { stdout } = await execFileAsync(
        process.execPath,
        [cli, 'admin', ...args, '--server', b.url],
        {
          env: {
            ...process.env,
            NOTEBOOK_SECRETS_ADMIN_TOKEN: env.NOTEBOOK_SECRETS_ADMIN_TOKEN,
            XDG_CACHE_HOME: testCacheHome(),
          },
        },
      );
      return stdout.trim();
    };
    expect(await admin('user', 'add', 'carol', '--name', 'Carol')).toBe('Added user carol.');
    await admin('team', 'add', 'data');
    await admin('project', 'add', 'churn');
    await admin('member', 'add', 'carol', '--team', 'data');
    await admin('member', 'add', 'team:data', '--project', 'churn');
    expect(await admin('member', 'list', '--project', 'churn')).toBe('team:data');
    const token = await admin('token', 'create', 'carol', '--name', 'laptop');
    expect(token).toMatch(/^nst_/);
    const me = await expectOk(client(a.url, token)('GET', '/v1/me'));
    expect(me.body.teams.map((t: { id: string }) => t.id)).toEqual(['data']);
    expect(me.body.projects.map((p: { id: string }) => p.id)).toEqual(['churn']);
    const refused = execFileAsync(
      process.execPath,
      [cli, 'admin', 'user', 'list', '--server', b.url],
      {
        env: {
          ...process.env,
          NOTEBOOK_SECRETS_ADMIN_TOKEN: token,
          XDG_CACHE_HOME: testCacheHome(),
        },
      },
    );
    // A user token on an admin endpoint: access denied (403), exit 6 as in docs/cli.md.
    await expect(refused).rejects.toMatchObject({
      code: 6,
      stderr: expect.stringContaining('needs an admin token'),
    });
  });

  it('serves the same data from both, with one winner per race and one change feed', async () => {
    const viaA = await userClient(a.url, env.NOTEBOOK_SECRETS_ADMIN_TOKEN, 'alice');
    const adminB = client(b.url, env.NOTEBOOK_SECRETS_ADMIN_TOKEN);
    const aliceToken = (await expectOk(adminB('POST', '/v1/tokens', { body: { user: 'alice' } })))
      .body.token;
    const viaB = client(b.url, aliceToken);

    const created = await expectOk(
      viaA('POST', '/v1/secrets', { body: { name: 'SHARED', value: 'one' } }),
    );
    expect((await expectOk(viaB('GET', `/v1/secrets/${created.body.id}/value`))).body.value).toBe(
      'one',
    );
    const cursor = ChangesPage.parse((await expectOk(viaA('GET', '/v1/changes'))).body).next;

    const race = await Promise.all([
      viaA('PATCH', `/v1/secrets/${created.body.id}`, {
        body: { value: 'from A' },
        headers: { 'if-match': '"1"' },
      }),
      viaB('PATCH', `/v1/secrets/${created.body.id}`, {
        body: { value: 'from B' },
        headers: { 'if-match': '"1"' },
      }),
    ]);
    expect(race.map((r) => r.status).sort()).toEqual([200, 412]);
    const names = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? viaA : viaB)('POST', '/v1/secrets', {
          body: { name: 'SAME_NAME', value: `${i}` },
        }),
      ),
    );
    expect(names.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        expectOk(
          (i % 2 ? viaA : viaB)('POST', '/v1/secrets', {
            body: { name: `BOTH_${i}`, value: `${i}` },
          }),
        ),
      ),
    );

    // A cursor from A continues on B: the database id is shared.
    const changes = ChangesPage.parse(
      (await expectOk(viaB('GET', `/v1/changes?since=${cursor}`))).body,
    );
    expect(changes.reset).toBe(false);
    expect(changes.changes).toHaveLength(22);
    const sameOnA = ChangesPage.parse(
      (await expectOk(viaA('GET', `/v1/changes?since=${cursor}`))).body,
    );
    expect(sameOnA).toEqual(changes);
    const listA = SecretList.parse((await viaA('GET', '/v1/secrets')).body);
    const listB = SecretList.parse((await viaB('GET', '/v1/secrets')).body);
    expect(listA).toEqual(listB);
  });

  it('survives SIGKILL of one process mid-write while the other keeps serving', async () => {
    const viaA = await userClient(a.url, env.NOTEBOOK_SECRETS_ADMIN_TOKEN, 'bob');
    const adminB = client(b.url, env.NOTEBOOK_SECRETS_ADMIN_TOKEN);
    const viaB = client(
      b.url,
      (await expectOk(adminB('POST', '/v1/tokens', { body: { user: 'bob' } }))).body.token,
    );
    const load = writeLoad(viaA, 6);
    while (load.acked.size < 15) await new Promise((r) => setTimeout(r, 20));
    await a.kill('SIGKILL');
    await load.stop();
    await expectConsistent(viaB, load.acked);
  });

  it('refuses to start on that database with another key', async () => {
    const wrong = await start({
      dataDir: tempDir(),
      port: await freePort(),
      env: {
        ...env,
        DATABASE_URL: databaseUrl,
        NOTEBOOK_SECRETS_KEY: randomBytes(32).toString('hex'),
      },
    });
    expect(await wrong.exited).toBe(1);
    expect(wrong.stderr()).toContain('Refusing to start');
  });
});
