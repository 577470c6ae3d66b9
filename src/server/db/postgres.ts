/** The PostgreSQL backend (`DATABASE_URL`), on a `pg` connection pool. */
import pg from 'pg';
import type { Row, SqlDriver, SqlExecutor, TransactionOptions } from './driver';

// BIGINT (int8) as a JS number: our sequences stay far below 2^53.
pg.types.setTypeParser(20, (text: string) => Number(text));

/**
 * Statement names by SQL text. A named statement is parsed once per connection and then only
 * planned, bound and run, which saves much of the cost of the short queries of every request. The
 * server's SQL texts are few (built from fixed fragments), but a bound keeps an unforeseen variety
 * from growing every connection's set of prepared statements: past it, texts run unnamed.
 */
const names = new Map<string, string>();
const MAX_NAMED = 500;

function named(sql: string, params: readonly unknown[]): pg.QueryConfig {
  // Without parameters, a text may hold several statements (migrations): those stay unnamed.
  if (params.length === 0) return { text: sql };
  let name = names.get(sql);
  if (name === undefined && names.size < MAX_NAMED) {
    name = `ns_${names.size + 1}`;
    names.set(sql, name);
  }
  return { text: sql, values: params as unknown[], ...(name !== undefined && { name }) };
}

function executor(client: pg.Pool | pg.PoolClient): SqlExecutor {
  return {
    async query<T extends Row>(sql: string, params: readonly unknown[] = []) {
      const result = await client.query<T>(named(sql, params));
      return result.rows;
    },
    async execute(sql: string, params: readonly unknown[] = []) {
      const result = await client.query(named(sql, params));
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
    // A prepared statement keeps its parse but is planned for each run's values: a generic plan
    // (chosen after five runs) reads a whole change-feed page as if the cursor were unknown. The
    // pool awaits this before it hands the connection out.
    onConnect: async (client) => {
      await client.query('SET plan_cache_mode = force_custom_plan');
    },
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
