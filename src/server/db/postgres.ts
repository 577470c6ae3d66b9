/** The PostgreSQL backend (`DATABASE_URL`), on a `pg` connection pool. */
import pg from 'pg';
import type { Row, SqlDriver, SqlExecutor, TransactionOptions } from './driver';

// BIGINT (int8) as a JS number: our sequences stay far below 2^53.
pg.types.setTypeParser(20, (text: string) => Number(text));

function executor(client: pg.Pool | pg.PoolClient): SqlExecutor {
  return {
    async query<T extends Row>(sql: string, params: readonly unknown[] = []) {
      const result = await client.query<T>(sql, params as unknown[]);
      return result.rows;
    },
    async execute(sql: string, params: readonly unknown[] = []) {
      const result = await client.query(sql, params as unknown[]);
      return result.rowCount ?? 0;
    },
  };
}

export async function openPostgres(url: string, poolSize = 10): Promise<SqlDriver> {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    application_name: 'notebook-secrets',
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // Fail fast with a clear message when the database is unreachable.
  const probe = await pool.connect();
  probe.release();
  const base = executor(pool);
  return {
    kind: 'postgres',
    ...base,
    queryStable: (sql, params) => base.query(sql, params),
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}) {
      const client = await pool.connect();
      try {
        await client.query(options.snapshot ? 'BEGIN ISOLATION LEVEL REPEATABLE READ' : 'BEGIN');
        const result = await fn(executor(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}
