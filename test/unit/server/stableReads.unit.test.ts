import { describe, expect, it } from 'vitest';
import { StableReads } from '../../../src/server/db/stableReads';

const TABLES = ['tokens', 'users', 'team_members'];
const AUTH = 'SELECT * FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1';

/** A database stand-in: counts the reads that reach it and answers with the current rows. */
function source(rows: { user: string }[]) {
  let reads = 0;
  return {
    get reads() {
      return reads;
    },
    rows,
    read: () => {
      reads++;
      return Promise.resolve(rows.map((r) => ({ ...r })));
    },
  };
}

describe('StableReads', () => {
  it('answers a repeated read from memory, with a copy the caller may change', async () => {
    const stable = new StableReads();
    const db = source([{ user: 'ann' }]);
    const first = await stable.read(AUTH, ['h1'], TABLES, db.read);
    first[0]!.user = 'changed';
    expect(await stable.read(AUTH, ['h1'], TABLES, db.read)).toEqual([{ user: 'ann' }]);
    expect(db.reads).toBe(1);
    await stable.read(AUTH, ['h2'], TABLES, db.read);
    expect(db.reads).toBe(2);
  });

  it('forgets everything at the end of a transaction, committed or not', async () => {
    const stable = new StableReads();
    const db = source([{ user: 'ann' }]);
    await stable.read(AUTH, ['h1'], TABLES, db.read);
    await stable.transaction(async () => undefined);
    await stable.read(AUTH, ['h1'], TABLES, db.read);
    expect(db.reads).toBe(2);
    await expect(
      stable.transaction(() => Promise.reject(new Error('rolled back'))),
    ).rejects.toThrow('rolled back');
    await stable.read(AUTH, ['h1'], TABLES, db.read);
    expect(db.reads).toBe(3);
  });

  it('forgets on a single statement that writes a table a kept read depends on, not on others', async () => {
    const stable = new StableReads();
    const db = source([{ user: 'ann' }]);
    await stable.read(AUTH, ['h1'], TABLES, db.read);
    await stable.statement(
      `WITH r AS (SELECT 1), a AS (INSERT INTO audit (actor, token_id) SELECT 'ann', 'x' FROM r) SELECT * FROM r`,
      () => Promise.resolve(undefined),
    );
    await stable.statement('SELECT * FROM users', () => Promise.resolve(undefined));
    await stable.read(AUTH, ['h1'], TABLES, db.read);
    expect(db.reads).toBe(1);
    await stable.statement('INSERT INTO users (id) VALUES ($1)', () => Promise.resolve(undefined));
    await stable.read(AUTH, ['h1'], TABLES, db.read);
    expect(db.reads).toBe(2);
  });

  it('does not keep a read that a write overtook, nor an empty answer', async () => {
    const stable = new StableReads();
    const db = source([{ user: 'ann' }]);
    let release: () => void = () => undefined;
    const slow = stable.read(AUTH, ['h1'], TABLES, async () => {
      const rows = await db.read();
      await new Promise<void>((r) => (release = r));
      return rows;
    });
    await Promise.resolve();
    await stable.transaction(async () => {
      db.rows.length = 0;
    });
    release();
    expect(await slow).toEqual([{ user: 'ann' }]);
    expect(await stable.read(AUTH, ['h1'], TABLES, db.read)).toEqual([]);
    await stable.read(AUTH, ['h1'], TABLES, db.read);
    expect(db.reads).toBe(3);
  });
});
