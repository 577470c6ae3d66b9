/**
 * Plans of what every request runs, at the size of a large organisation: the token lookup and the
 * change feed's audience of each write read each table through an index, so their cost does not
 * grow with the number of users, teams and project members. Plan shapes, not timings (an EXPLAIN after ANALYZE on PostgreSQL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlDriver } from '../../../src/server/db/driver';
import { openPostgres } from '../../../src/server/db/postgres';
import { FEED_READERS, migrate } from '../../../src/server/db/schema';
import { callerSelect } from '../../../src/server/store/auth';
import { type PostgresCluster, startPostgres } from './postgres';

const MEMBERS = 20_000;
let cluster: PostgresCluster;
let db: SqlDriver;

beforeAll(async () => {
  cluster = await startPostgres();
  db = await openPostgres(await cluster.createDatabase());
  await migrate(db);
  await db.query(
    `INSERT INTO users (id, name) SELECT 'u' || i, 'u' || i FROM generate_series(1, $1::int) i`,
    [MEMBERS],
  );
  await db.query(
    `INSERT INTO projects (id, name) SELECT 'p' || i, 'p' || i FROM generate_series(1, 2000) i`,
  );
  await db.query(
    `INSERT INTO teams (id, name) SELECT 't' || i, 't' || i FROM generate_series(1, 2000) i`,
  );
  await db.query(
    `INSERT INTO team_members (team_id, user_id)
     SELECT 't' || (i % 2000 + 1), 'u' || i FROM generate_series(1, $1::int) i`,
    [MEMBERS],
  );
  await db.query(
    `INSERT INTO project_members (project_id, principal)
     SELECT 'p' || (i % 2000 + 1), 'user:u' || i FROM generate_series(1, $1::int) i
     UNION ALL SELECT 'p' || i, 'team:t' || i FROM generate_series(1, 2000) i`,
    [MEMBERS],
  );
  await db.query(`INSERT INTO tokens (id, user_id, name, hash) VALUES ('tk', 'u5', 't', 'h5')`);
  await db.query('ANALYZE');
}, 120_000);

afterAll(async () => {
  await db?.close();
  await cluster?.stop();
});

describe('plans at the size of a large organisation', () => {
  it(`looks a token's caller up by index among ${MEMBERS.toLocaleString('en-US')} members`, async () => {
    const [caller] = await db.query<{ teams: string[]; projects: string[] }>(callerSelect("'h5'"));
    // u5 is in team t6; its own project is p6, and its team t6 is in project p6 as well.
    expect(caller).toMatchObject({ teams: ['t6'], projects: ['p6'] });
    const plan = (
      await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) ${callerSelect("'h5'")}`)
    )
      .map((row) => row['QUERY PLAN'])
      .join('\n');
    expect(plan).not.toMatch(/Seq Scan on (project_members|team_members|users)\b/);
  });

  it(`reads a write's audience by index among ${MEMBERS.toLocaleString('en-US')} members`, async () => {
    const keys = ['user:bench', 'team:t6', 'project:p7'];
    const [row] = await db.query<{ r: string[] }>('SELECT feed_readers($1::text[]) AS r', [keys]);
    // t6's members; p7's: its user members and the members of its team t7.
    const expected = ['user:bench'];
    for (let i = 1; i <= MEMBERS; i++) {
      if (i % 2000 === 5 || i % 2000 === 6) expected.push(`user:u${i}`);
    }
    expect(row!.r).toEqual(expected.sort());
    const plan = (
      await db.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (COSTS OFF) ${FEED_READERS.replaceAll('keys', `'{${keys.join(',')}}'::text[]`)}`,
      )
    )
      .map((row) => row['QUERY PLAN'])
      .join('\n');
    expect(plan).not.toMatch(/Seq Scan on (project_members|team_members)\b/);
  });
});
