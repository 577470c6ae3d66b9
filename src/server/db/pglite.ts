/**
 * The embedded backend: PGlite (PostgreSQL compiled to WASM) in a data directory, run in a worker
 * thread. A query costs PGlite milliseconds of synchronous CPU; on the server's event loop that
 * time would stall every other connection (and a queue of queries chained through promises would
 * keep the loop from reading sockets until it drained). In the worker, the loop stays free to
 * take requests and send answers while the database works on the other core. The worker runs the
 * same PGlite on the same files, so what a commit guarantees is unchanged: a transaction is
 * acknowledged only once PGlite has committed it there.
 */
import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { QueryOptions, Row, SqlDriver, SqlExecutor, TransactionOptions } from './driver';
import { StableReads } from './stableReads';

/** A request to the worker: one query, or a transaction's begin, commit or rollback. */
type Request =
  | { op: 'open'; dir: string | undefined }
  | {
      op: 'query' | 'execute';
      sql: string;
      params: readonly unknown[];
      tx?: number;
      reusePlan?: boolean;
    }
  | { op: 'begin'; snapshot: boolean }
  | { op: 'commit' | 'rollback'; tx: number }
  | { op: 'maintain' }
  | { op: 'close' };

type Reply =
  | { id: number; ok: true; rows?: Row[]; count?: number; tx?: number }
  | { id: number; ok: false; error: Record<string, unknown> };

/**
 * The worker's code. It runs from its source text (a worker of `eval`), so it refers to nothing
 * outside itself: PGlite is loaded by the path the server resolved. PGlite runs one statement at
 * a time and one transaction at a time, queueing the rest, as it does on the main thread.
 */
/* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/no-unsafe-assignment -- source text of its own, see above */
function workerMain(): void {
  const { parentPort, workerData } =
    require('node:worker_threads') as typeof import('node:worker_threads');
  const { PGlite, protocol, parse } = require(
    (workerData as { pglite: string }).pglite,
  ) as typeof import('@electric-sql/pglite');
  type Db = import('@electric-sql/pglite').PGlite;
  type Tx = import('@electric-sql/pglite').Transaction;
  type Message = import('@electric-sql/pglite').messages.BackendMessage;
  let db: Db | undefined;
  let nextTx = 1;
  const open = new Map<
    number,
    { tx: Tx; finish: (commit: boolean) => void; done: Promise<unknown> }
  >();
  const port = parentPort!;
  const errorFields = (error: unknown): Record<string, unknown> => {
    const fields: Record<string, unknown> = {};
    if (error && typeof error === 'object') {
      for (const [key, value] of Object.entries(error)) {
        if (value === null || ['string', 'number', 'boolean'].includes(typeof value))
          fields[key] = value;
      }
    }
    fields.message = error instanceof Error ? error.message : String(error);
    return fields;
  };
  type Statement = Request & { op: 'query' | 'execute' };
  type Answer = Omit<Reply & { ok: true }, 'id' | 'ok'>;
  const answer = (request: Statement, result: { rows: unknown[]; affectedRows?: number }) =>
    request.op === 'query' ? { rows: result.rows as Row[] } : { count: result.affectedRows ?? 0 };

  // Prepared statements. PGlite's query() parses and plans each statement anew, in six calls into
  // the database (parse, describe, bind, describe, execute, sync): for the short statements of
  // every request that is most of their cost. A statement with parameters is parsed once under a
  // name (as the PostgreSQL driver does), then bound and run in one call. It is planned for each
  // run's values unless its caller says the plan can be reused (QueryOptions.reusePlan): then it
  // always runs its generic plan (see the PostgreSQL driver for why not `auto`).
  type Prepared = { name: string; types: number[]; rowDescription: Message | undefined };
  const prepared = new Map<string, Prepared>();
  const MAX_PREPARED = 500;
  // The session's plan_cache_mode as last set; unknown (undefined) after a rollback undid it.
  let planMode: string | undefined;
  const concat = (parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  };
  const exec = async (parts: Uint8Array[]) =>
    (await db!.execProtocol(concat(parts), { syncToFs: false })).messages;
  /** Runs one statement in the open transaction `tx` (PGlite holds its lock meanwhile). */
  const run = async (tx: Tx, request: Statement): Promise<Answer> => {
    const params = request.params as unknown[];
    let statement = prepared.get(request.sql);
    if (!statement && (params.length === 0 || prepared.size >= MAX_PREPARED)) {
      return answer(request, await tx.query(request.sql, params));
    }
    if (!statement) {
      const name = `ns_${prepared.size + 1}`;
      const messages = await exec([
        protocol.serialize.parse({ name, text: request.sql, types: [] }),
        protocol.serialize.describe({ type: 'S', name }),
        protocol.serialize.sync(),
      ]);
      statement = {
        name,
        types: parse.parseDescribeStatementResults(messages),
        rowDescription: messages.find((m) => m.name === 'rowDescription'),
      };
      prepared.set(request.sql, statement);
    }
    const mode = request.reusePlan ? 'force_generic_plan' : 'force_custom_plan';
    if (planMode !== mode) {
      await exec([protocol.serialize.query(`SET plan_cache_mode = ${mode}`)]);
      planMode = mode;
    }
    const { types } = statement;
    const values = params.map((value, i) => {
      if (value === null || value === undefined) return null;
      const serialize = db!.serializers[types[i]!];
      // Without a serializer for its type, a parameter goes as its text form, as node-postgres sends it.
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- see the line above
      return serialize ? serialize(value) : String(value);
    });
    const messages = await exec([
      protocol.serialize.bind({ statement: statement.name, values }),
      protocol.serialize.execute({}),
      protocol.serialize.sync(),
    ]);
    const all = statement.rowDescription ? [statement.rowDescription, ...messages] : messages;
    return answer(request, parse.parseResults(all, db!.parsers)[0]!);
  };
  /** Runs `fn` in a PGlite transaction; a rollback may have undone the last SET. */
  const inTransaction = async <T>(fn: (tx: Tx) => Promise<T>): Promise<T> => {
    try {
      return await db!.transaction(fn);
    } catch (error) {
      planMode = undefined;
      throw error;
    }
  };

  // Group commit. Statements outside a transaction that arrive while the database is busy run
  // together in one transaction, answered once it has committed: each value read still commits
  // its audit row before the value leaves, but many reads share one commit (the WAL write that is
  // most of a read's cost). If the group fails, nothing of it stands, and each statement runs
  // again alone, so one statement's error is its own. A lone statement runs alone in the same way.
  type Waiting = { request: Statement; resolve: (a: Answer) => void; reject: (e: unknown) => void };
  let group: Waiting[] = [];
  let draining = false;
  const alone = async (w: Waiting) => {
    try {
      w.resolve(await inTransaction((tx) => run(tx, w.request)));
    } catch (error) {
      w.reject(error);
    }
  };
  const drain = async () => {
    while (group.length > 0) {
      const items = group;
      group = [];
      if (items.length === 1) {
        await alone(items[0]!);
        continue;
      }
      let results: Answer[] | undefined;
      try {
        results = await inTransaction(async (tx) => {
          const out: Answer[] = [];
          for (const { request } of items) out.push(await run(tx, request));
          return out;
        });
      } catch {
        for (const w of items) await alone(w);
      }
      if (results) items.forEach((w, i) => w.resolve(results[i]!));
    }
    draining = false;
  };
  const single = (request: Statement) =>
    new Promise<Answer>((resolve, reject) => {
      group.push({ request, resolve, reject });
      if (!draining) {
        draining = true;
        // Let the messages already sent join the group before it starts.
        setImmediate(() => void drain());
      }
    });

  const handle = async (request: Request): Promise<Omit<Reply & { ok: true }, 'id' | 'ok'>> => {
    switch (request.op) {
      case 'open':
        db = await PGlite.create(request.dir);
        return {};
      case 'query':
      case 'execute': {
        if (request.tx === undefined) return single(request);
        const tx = open.get(request.tx)?.tx;
        if (!tx) throw new Error('Transaction is closed');
        return run(tx, request);
      }
      case 'begin': {
        const id = nextTx++;
        return new Promise((begun, failed) => {
          let finish: (commit: boolean) => void = () => undefined;
          const done = db!
            .transaction(async (tx) => {
              if (request.snapshot)
                await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
              const commit = new Promise<boolean>((resolve) => (finish = resolve));
              open.set(id, { tx, finish, done });
              begun({ tx: id });
              // Throwing makes PGlite roll back; returning makes it commit.
              if (!(await commit)) throw new Error('rollback');
            })
            .finally(() => open.delete(id));
          // A transaction that fails to begin answers the begin (once begun, this does nothing).
          done.catch(failed);
        });
      }
      case 'commit':
      case 'rollback': {
        const entry = open.get(request.tx);
        if (!entry) throw new Error('Transaction is closed');
        entry.finish(request.op === 'commit');
        try {
          await entry.done;
        } catch (error) {
          planMode = undefined;
          if (request.op === 'commit') throw error;
        }
        return {};
      }
      case 'maintain': {
        // Counters of the statements run so far are flushed at the next statement's end.
        await db!.query('SELECT pg_stat_force_next_flush()');
        const { rows } = await db!.query<{ name: string; vacuum: boolean }>(
          `SELECT format('%I.%I', schemaname, relname) AS name,
             n_dead_tup > 50 + 0.2 * n_live_tup AS vacuum
           FROM pg_stat_user_tables
           WHERE n_dead_tup > 50 + 0.2 * n_live_tup OR n_mod_since_analyze > 50 + 0.1 * n_live_tup
           ORDER BY relname`,
        );
        for (const table of rows) {
          await db!.exec(`${table.vacuum ? 'VACUUM (ANALYZE)' : 'ANALYZE'} ${table.name}`);
        }
        return { rows: rows.map((t) => ({ table: t.name, vacuum: t.vacuum })) };
      }
      case 'close':
        await db?.close();
        return {};
    }
  };
  port.on('message', (message: Request & { id: number }) => {
    handle(message).then(
      (result) => port.postMessage({ id: message.id, ok: true, ...result }),
      (error: unknown) =>
        port.postMessage({ id: message.id, ok: false, error: errorFields(error) }),
    );
  });
}

/* eslint-enable @typescript-eslint/no-require-imports */

/** An error from the worker, rebuilt with the fields callers test (code, detail, …). */
function rebuild(fields: Record<string, unknown>): Error {
  const { message, ...rest } = fields;
  return Object.assign(new Error(String(message)), rest);
}

/** Opens (creating when absent) a PGlite database in `dir`; `undefined` keeps it in memory. */
export async function openPglite(dir: string | undefined): Promise<SqlDriver> {
  if (dir !== undefined) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const worker = new Worker(`(${workerMain.toString()})()`, {
    eval: true,
    workerData: { pglite: require.resolve('@electric-sql/pglite') },
  });
  const pending = new Map<
    number,
    { resolve: (reply: Reply) => void; reject: (e: Error) => void }
  >();
  let nextId = 1;
  let dead: Error | undefined;
  const fail = (error: Error) => {
    dead ??= error;
    for (const waiter of pending.values()) waiter.reject(dead);
    pending.clear();
  };
  worker.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    waiter?.resolve(reply);
  });
  worker.on('error', (error) => fail(new Error(`The database stopped: ${error.message}`)));
  worker.on('exit', () => fail(new Error('The database is closed.')));

  const call = (request: Request): Promise<Reply & { ok: true }> => {
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, {
        resolve: (reply) => (reply.ok ? resolve(reply) : reject(rebuild(reply.error))),
        reject,
      });
      worker.postMessage({ ...request, id });
    });
  };
  const stable = new StableReads();
  const executor = (tx?: number): SqlExecutor => {
    const run = async (
      op: 'query' | 'execute',
      sql: string,
      params: readonly unknown[],
      options: QueryOptions = {},
    ) => {
      const request = {
        op,
        sql,
        params,
        ...(tx !== undefined && { tx }),
        ...(options.reusePlan && { reusePlan: true }),
      };
      // A transaction's statements are covered by the transaction's own bookkeeping.
      return tx === undefined ? stable.statement(sql, () => call(request)) : call(request);
    };
    return {
      async query<T extends Row>(
        sql: string,
        params: readonly unknown[] = [],
        options?: QueryOptions,
      ) {
        return (await run('query', sql, params, options)).rows as T[];
      },
      async execute(sql: string, params: readonly unknown[] = []) {
        return (await run('execute', sql, params)).count!;
      },
    };
  };
  const base = executor();

  try {
    await call({ op: 'open', dir });
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  return {
    kind: 'pglite',
    ...base,
    queryStable<T extends Row>(sql: string, params: readonly unknown[], tables: readonly string[]) {
      return stable.read(sql, params, tables, () =>
        base.query<T>(sql, params, { reusePlan: true }),
      );
    },
    // PGlite runs one transaction at a time; it queues the others (and single statements).
    transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}) {
      return stable.transaction(async () => {
        const { tx } = await call({ op: 'begin', snapshot: options.snapshot ?? false });
        let result: T;
        try {
          result = await fn(executor(tx));
        } catch (error) {
          await call({ op: 'rollback', tx: tx! }).catch(() => undefined);
          throw error;
        }
        await call({ op: 'commit', tx: tx! });
        return result;
      });
    },
    // PostgreSQL in PGlite runs single-user: no autovacuum, so no statistics for the planner and
    // no reuse of dead rows' space unless asked. This does what autovacuum would, by its default
    // thresholds: VACUUM past 20% dead rows, ANALYZE past 10% changed (each plus 50 rows).
    async maintain() {
      const { rows } = await call({ op: 'maintain' });
      return (rows as { table: string; vacuum: boolean }[]).map(
        (t) => `${t.vacuum ? 'vacuumed and analyzed' : 'analyzed'} ${t.table}`,
      );
    },
    async close() {
      if (dead) return;
      try {
        await call({ op: 'close' });
      } finally {
        await worker.terminate();
      }
    },
  };
}
