/** The PostgreSQL backend (`DATABASE_URL`), on a `pg` connection pool. */
import pg from 'pg';
import type { QueryOptions, Row, SqlDriver, SqlExecutor, TransactionOptions } from './driver';

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

/**
 * Each connection's plan_cache_mode as last set. A prepared statement is planned for each run's
 * values (a generic plan, chosen after five runs, reads a whole change-feed page as if the
 * cursor were unknown), except statements whose callers say their plan can be reused
 * (QueryOptions.reusePlan): those always run their generic plan, which halves the database's
 * work for a token lookup or a value read. (Under `auto`, PostgreSQL went on planning each run
 * whenever its estimate for the generic plan came out higher than for the runs' own: on
 * 1,000,000 secrets, where a name has many rows, a resolve was planned every time, 1.4 ms against
 * 0.5 ms.) The mode is set only when it changes; a rollback may undo it, so it is then unknown.
 */
const planModes = new WeakMap<pg.PoolClient, string>();

async function run(
  client: pg.PoolClient,
  sql: string,
  params: readonly unknown[],
  options: QueryOptions = {},
): Promise<pg.QueryResult> {
  const config = named(sql, params);
  if (config.name !== undefined) {
    const mode = options.reusePlan ? 'force_generic_plan' : 'force_custom_plan';
    if (planModes.get(client) !== mode) {
      await client.query(`SET plan_cache_mode = ${mode}`);
      planModes.set(client, mode);
    }
  }
  return client.query(config);
}

/** Runs one statement on a connection from the pool. */
async function runPooled(
  pool: pg.Pool,
  sql: string,
  params: readonly unknown[],
  options?: QueryOptions,
): Promise<pg.QueryResult> {
  const client = await pool.connect();
  try {
    const result = await run(client, sql, params, options);
    client.release();
    return result;
  } catch (error) {
    // An error from the database leaves the connection usable; any other may not have.
    client.release(error instanceof pg.DatabaseError ? undefined : (error as Error));
    throw error;
  }
}

function executor(client: pg.Pool | pg.PoolClient): SqlExecutor {
  const exec = (sql: string, params: readonly unknown[], options?: QueryOptions) =>
    client instanceof pg.Pool
      ? runPooled(client, sql, params, options)
      : run(client, sql, params, options);
  return {
    async query<T extends Row>(
      sql: string,
      params: readonly unknown[] = [],
      options?: QueryOptions,
    ) {
      return (await exec(sql, params, options)).rows as T[];
    },
    async execute(sql: string, params: readonly unknown[] = []) {
      return (await exec(sql, params)).rowCount ?? 0;
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
    // See planModes. The pool awaits this before it hands the connection out.
    onConnect: async (client) => {
      await client.query('SET plan_cache_mode = force_custom_plan');
      planModes.set(client as pg.PoolClient, 'force_custom_plan');
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
    // A token lookup: read every time (another process may have revoked it), on a reused plan.
    queryStable: (sql, params) => base.query(sql, params, { reusePlan: true }),
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}) {
      const client = await pool.connect();
      try {
        await client.query(options.snapshot ? 'BEGIN ISOLATION LEVEL REPEATABLE READ' : 'BEGIN');
        const result = await fn(executor(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        planModes.delete(client);
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
