/**
 * PGlite runs PostgreSQL single-user, without autovacuum: the driver's maintain() does what
 * autovacuum would, so the planner has statistics (a change-feed page of a never-analyzed feed is
 * read by a scan of the whole table) and the space of updated rows is reused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SqlDriver } from '../../../src/server/db/driver';
import { openPglite } from '../../../src/server/db/pglite';

let db: SqlDriver | undefined;

afterEach(async () => {
  await db?.close();
  db = undefined;
});

const stats = async (driver: SqlDriver) =>
  (
    await driver.query<{ analyzed: boolean; vacuumed: boolean; tuples: number }>(
      `SELECT s.last_analyze IS NOT NULL AS analyzed, s.last_vacuum IS NOT NULL AS vacuumed,
         c.reltuples::float8 AS tuples
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
       WHERE s.relname = 'items'`,
    )
  )[0]!;

describe('PGlite maintenance', () => {
  it('analyzes a table that changed past the threshold, and only then', async () => {
    db = await openPglite(undefined);
    await db.query('CREATE TABLE items (id int PRIMARY KEY, note text)');
    await db.query('INSERT INTO items SELECT g, $1 FROM generate_series(1, 20) g', ['n']);
    expect(await db.maintain!()).toEqual([]);

    await db.query('INSERT INTO items SELECT g, $1 FROM generate_series(21, 5000) g', ['n']);
    expect(await db.maintain!()).toEqual(['analyzed public.items']);
    expect(await stats(db)).toEqual({ analyzed: true, vacuumed: false, tuples: 5000 });
    expect(await db.maintain!()).toEqual([]);
  });

  it('vacuums a table whose updates left dead rows', async () => {
    db = await openPglite(undefined);
    await db.query('CREATE TABLE items (id int PRIMARY KEY, note text)');
    await db.query('INSERT INTO items SELECT g, $1 FROM generate_series(1, 5000) g', ['n']);
    await db.maintain!();
    await db.query(`UPDATE items SET note = 'changed' WHERE id % 2 = 0`);
    expect(await db.maintain!()).toEqual(['vacuumed and analyzed public.items']);
    expect(await stats(db)).toMatchObject({ analyzed: true, vacuumed: true });
    expect(await db.maintain!()).toEqual([]);
  });

  it('runs beside a transaction, which waits for it or it for the transaction', async () => {
    db = await openPglite(undefined);
    await db.query('CREATE TABLE items (id int PRIMARY KEY, note text)');
    await db.query('INSERT INTO items SELECT g, $1 FROM generate_series(1, 5000) g', ['n']);
    const driver = db;
    const [, done] = await Promise.all([
      driver.transaction(async (tx) => {
        await tx.query(`INSERT INTO items VALUES (5001, 'late')`);
        return tx.query('SELECT count(*)::int AS n FROM items');
      }),
      driver.maintain!(),
    ]);
    expect(done).toEqual(['analyzed public.items']);
    expect(await driver.query('SELECT count(*)::int AS n FROM items')).toEqual([{ n: 5001 }]);
  });
});
