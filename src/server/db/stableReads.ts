/**
 * Rows of `queryStable` kept in memory by the embedded backend, the only process on its database,
 * so that every write passes through its driver. The memory empties when a write could change
 * what it holds: at the end of every transaction (commit or rollback), and on a single statement
 * that writes and names a table one of the kept reads depends on. A read that a write overtook
 * (begun before the write ended) is not kept, so no row older than a committed write is served.
 */
import type { Row } from './driver';

const WRITES = /\b(insert|update|delete|truncate|alter|drop|merge|copy)\b/i;
/** Bounds memory when callers present many distinct keys (e.g. many tokens). */
const MAX_ENTRIES = 1_000;

export class StableReads {
  private readonly rows = new Map<string, Row[]>();
  private readonly tables = new Set<string>();
  private tablePattern: RegExp | undefined;
  private generation = 0;

  async read<T extends Row>(
    sql: string,
    params: readonly unknown[],
    tables: readonly string[],
    run: () => Promise<T[]>,
  ): Promise<T[]> {
    this.watch(tables);
    const key = `${sql}\u0000${JSON.stringify(params)}`;
    const kept = this.rows.get(key);
    if (kept) return structuredClone(kept) as T[];
    const began = this.generation;
    const rows = await run();
    // An empty answer (an unknown token) is not kept: it would let strangers fill the memory.
    if (began === this.generation && rows.length > 0) {
      if (this.rows.size >= MAX_ENTRIES) this.rows.clear();
      this.rows.set(key, structuredClone(rows));
    }
    return rows;
  }

  /** Runs a statement outside a transaction; forgets everything when it may write a kept table. */
  async statement<T>(sql: string, run: () => Promise<T>): Promise<T> {
    if (!this.mayChange(sql)) return run();
    this.forget();
    try {
      return await run();
    } finally {
      this.forget();
    }
  }

  /** Runs a whole transaction; forgets everything as it begins and once it has ended. */
  async transaction<T>(run: () => Promise<T>): Promise<T> {
    this.forget();
    try {
      return await run();
    } finally {
      this.forget();
    }
  }

  private mayChange(sql: string): boolean {
    return this.tablePattern !== undefined && WRITES.test(sql) && this.tablePattern.test(sql);
  }

  private forget(): void {
    this.generation++;
    this.rows.clear();
  }

  private watch(tables: readonly string[]): void {
    if (tables.every((t) => this.tables.has(t))) return;
    for (const t of tables) this.tables.add(t);
    this.tablePattern = new RegExp(`\\b(${[...this.tables].join('|')})\\b`, 'i');
  }
}
