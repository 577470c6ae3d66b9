/**
 * The change feed across the schema change that orders it by transaction id, on both backends: a
 * database written with the old numbering reads on from its cursors, and a database whose rows
 * carry transaction ids of another cluster (a dump restored elsewhere) starts every cursor over.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Keyring } from '../../../src/server/crypto';
import type { SqlDriver } from '../../../src/server/db/driver';
import { openPglite } from '../../../src/server/db/pglite';
import { openPostgres } from '../../../src/server/db/postgres';
import { migrate, MIGRATIONS } from '../../../src/server/db/schema';
import type { Caller, StoreContext } from '../../../src/server/store/context';
import { changes } from '../../../src/server/store/feed';
import { write } from '../../../src/server/store/transaction';
import { startPostgres, type PostgresCluster } from './postgres';

/** A page of the feed as the client reads it. */
const feed = async (...args: Parameters<typeof changes>) => (await changes(...args)).parse();

const BEFORE_XIDS = MIGRATIONS.filter((m) => m.version <= 4);

const alice: Caller = {
  userId: 'alice',
  admin: false,
  tokenId: 'test',
  tokenCreatedBy: null,
  teams: [],
  projects: [],
  principals: ['user:alice'],
  client: 'test',
  ip: '127.0.0.1',
};

let cluster: PostgresCluster | undefined;
const dirs: string[] = [];

const BACKENDS: [string, () => Promise<SqlDriver>][] = [
  [
    'PGlite',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'ns-feed-'));
      dirs.push(dir);
      return openPglite(dir);
    },
  ],
  [
    'PostgreSQL',
    async () => {
      cluster ??= await startPostgres();
      return openPostgres(await cluster.createDatabase());
    },
  ],
];

afterAll(async () => {
  await cluster?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Adds alice's secret; with `legacy`, numbered as servers before the change did. */
async function addSecret(db: SqlDriver, name: string, legacy: boolean): Promise<string> {
  const id = randomUUID();
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO secrets (id, name, scope_kind, scope_id, encoding, type, description, version,
         created_at, updated_at, created_by)
       VALUES ($1, $2, 'personal', 'alice', 'text', 'generic', '', 1, now(), now(), 'alice')`,
      [id, name],
    );
    await tx.query(
      `INSERT INTO grants (secret_id, principal, role) VALUES ($1, 'user:alice', 'owner')`,
      [id],
    );
    if (legacy) {
      const [counter] = await tx.query<{ value: number }>(
        `UPDATE counters SET value = value + 1 WHERE name = 'changes' RETURNING value`,
      );
      await tx.query(
        `INSERT INTO changes (seq, secret_id, kind, audience) VALUES ($1, $2, 'create', '{user:alice}')`,
        [Number(counter!.value), id],
      );
    }
  });
  return id;
}

describe.each(BACKENDS)('change feed migration on %s', (_name, open) => {
  it('reads on from cursors issued before, and orders new changes after the old ones', async () => {
    const db = await open();
    try {
      const databaseId = await migrate(db, BEFORE_XIDS);
      const old: string[] = [];
      for (let i = 0; i < 3; i++) old.push(await addSecret(db, `OLD_${i}`, true));

      expect(await migrate(db)).toBe(databaseId);
      const ctx: StoreContext = {
        db,
        keyring: new Keyring(randomBytes(32)),
        databaseId,
        options: { keepValues: 1 },
      };
      const ids = (page: Awaited<ReturnType<typeof feed>>) =>
        page.changes.map((c) => (c.kind === 'upsert' ? c.secret.id : c.id));

      const fromTwo = await feed(ctx, alice, `${databaseId}.2`, 100);
      expect(fromTwo).toMatchObject({ reset: false, more: false });
      expect(ids(fromTwo)).toEqual([old[2]]);
      expect(await feed(ctx, alice, `${databaseId}.4`, 100)).toMatchObject({ reset: true });

      // A full listing pages through every secret, old rows and new.
      const added = await addSecret(db, 'NEW', false);
      await write(ctx, async () => ({
        result: undefined,
        changes: [{ secretIds: [added, old[0]!], kind: 'edit', audience: ['user:alice'] }],
      }));
      const seen: string[] = [];
      let page = await feed(ctx, alice, undefined, 1);
      seen.push(...ids(page));
      while (page.more) {
        page = await feed(ctx, alice, page.next, 1);
        seen.push(...ids(page));
      }
      expect(seen.sort()).toEqual([...old, added].sort());
      expect(ids(await feed(ctx, alice, fromTwo.next, 100))).toEqual([added, old[0]]);
      expect((await feed(ctx, alice, page.next, 100)).changes).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('starts every cursor over when its rows carry transaction ids of another cluster', async () => {
    const db = await open();
    try {
      const databaseId = await migrate(db);
      const ctx: StoreContext = {
        db,
        keyring: new Keyring(randomBytes(32)),
        databaseId,
        options: { keepValues: 1 },
      };
      const id = await addSecret(db, 'COPIED', false);
      await write(ctx, async () => ({
        result: undefined,
        changes: [{ secretIds: [id], kind: 'create', audience: ['user:alice'] }],
      }));
      const cursor = (await feed(ctx, alice, undefined, 100)).next;
      // As if dumped from a cluster whose transaction ids are far ahead of this one's.
      await db.query(
        `UPDATE changes SET xid = (pg_current_xact_id()::text::bigint + 1000000)::text::xid8`,
      );

      const newId = await migrate(db);
      expect(newId).not.toBe(databaseId);
      const page = await feed({ ...ctx, databaseId: newId }, alice, cursor, 100);
      expect(page).toMatchObject({ reset: true, changes: [{ kind: 'upsert' }] });
      const rows = await db.query<{ xid: string }>(`SELECT xid::text AS xid FROM changes`);
      expect(rows.map((r) => r.xid)).toEqual(['0']);
    } finally {
      await db.close();
    }
  });

  it('keeps the plan of feed_readers for the connection, with the same answers', async () => {
    const db = await open();
    try {
      await migrate(
        db,
        MIGRATIONS.filter((m) => m.version <= 10),
      );
      await db.query(`INSERT INTO users (id, name) VALUES ('bob', 'bob'), ('carol', 'carol')`);
      await db.query(`INSERT INTO teams (id, name) VALUES ('data', 'data')`);
      await db.query(`INSERT INTO team_members (team_id, user_id) VALUES ('data', 'bob')`);
      await db.query(`INSERT INTO projects (id, name) VALUES ('web', 'web')`);
      await db.query(
        `INSERT INTO project_members (project_id, principal)
         VALUES ('web', 'user:carol'), ('web', 'team:data')`,
      );
      const audiences = [
        [],
        ['user:alice'],
        ['user:alice', 'team:data'],
        ['project:web'],
        ['team:none'],
      ];
      const answers = async () => {
        const out: string[][] = [];
        for (const keys of audiences) {
          const [row] = await db.query<{ r: string[] }>('SELECT feed_readers($1::text[]) AS r', [
            keys,
          ]);
          out.push(row!.r);
        }
        return out;
      };
      const before = await answers();
      await migrate(db);
      // PL/pgSQL keeps its statements' plans per connection; a LANGUAGE sql function that
      // cannot be inlined is planned again on every call.
      const [fn] = await db.query<{ lang: string }>(
        `SELECT l.lanname AS lang FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
         WHERE p.proname = 'feed_readers'`,
      );
      expect(fn!.lang).toBe('plpgsql');
      expect(await answers()).toEqual(before);
      expect(before).toEqual([
        [],
        ['user:alice'],
        ['user:alice', 'user:bob'],
        ['user:bob', 'user:carol'],
        [],
      ]);
    } finally {
      await db.close();
    }
  });
});
