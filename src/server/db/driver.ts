/**
 * The storage driver: the one seam between the server and its database. PGlite (embedded) and
 * PostgreSQL (`pg`) implement it; everything above speaks one SQL dialect through it.
 */
export type Row = Record<string, unknown>;

export interface QueryOptions {
  /**
   * The statement's best plan does not depend on its values (lookups by equality on indexed
   * columns, run on every request): the backend may plan it once and reuse the plan. Without
   * this, every run is planned for its own values.
   */
  reusePlan?: boolean;
}

export interface SqlExecutor {
  query<T extends Row = Row>(
    sql: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<T[]>;
  /** Like query, but for statements whose affected row count matters (guarded UPDATE/DELETE). */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
}

export interface TransactionOptions {
  /** Take one snapshot for every statement (REPEATABLE READ), for consistent multi-query reads. */
  snapshot?: boolean;
}

export interface SqlDriver extends SqlExecutor {
  readonly kind: 'pglite' | 'postgres';
  /**
   * A read whose rows change only when one of `tables` is written (a token and its user's
   * memberships, read on every request). PGlite, the only process on its database, may answer it
   * from memory until a write that could change it; PostgreSQL, shared with other server
   * processes, runs it every time, so a revocation on one process takes effect on all at once.
   */
  queryStable<T extends Row = Row>(
    sql: string,
    params: readonly unknown[],
    tables: readonly string[],
  ): Promise<T[]>;
  /** Runs fn in one transaction: commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * For a database without autovacuum (PGlite): vacuums and analyzes the tables autovacuum would
   * have by now, and says what it did. The server runs it every minute, autovacuum's own pace.
   * Absent where PostgreSQL's autovacuum does this itself.
   */
  maintain?(): Promise<string[]>;
  close(): Promise<void>;
}

/** A unique-constraint violation (SQLSTATE 23505), e.g. a name taken in a scope. */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '23505';
}

/** A foreign-key violation (SQLSTATE 23503), e.g. a member that is not a user. */
export function isForeignKeyViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '23503';
}
