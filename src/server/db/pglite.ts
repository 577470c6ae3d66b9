/** The embedded backend: PGlite (PostgreSQL compiled to WASM) in a data directory. */
import { mkdirSync } from 'node:fs';
import type { PGlite as PGliteType, Transaction } from '@electric-sql/pglite';
import type { Row, SqlDriver, SqlExecutor, TransactionOptions } from './driver';

function executor(db: PGliteType | Transaction): SqlExecutor {
  return {
    async query<T extends Row>(sql: string, params: readonly unknown[] = []) {
      const result = await db.query<T>(sql, params as unknown[]);
      return result.rows;
    },
    async execute(sql: string, params: readonly unknown[] = []) {
      const result = await db.query(sql, params as unknown[]);
      return result.affectedRows ?? 0;
    },
  };
}

/** Opens (creating when absent) a PGlite database in `dir`; `undefined` keeps it in memory. */
export async function openPglite(dir: string | undefined): Promise<SqlDriver> {
  if (dir !== undefined) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create(dir === undefined ? undefined : dir);
  const base = executor(db);
  return {
    kind: 'pglite',
    ...base,
    // PGlite runs one transaction at a time in this process; it queues the others.
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}) {
      return db.transaction(async (tx) => {
        if (options.snapshot) await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
        return fn(executor(tx));
      });
    },
    async close() {
      await db.close();
    },
  };
}
