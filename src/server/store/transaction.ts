/** The one way the store writes: a transaction whose change-feed rows are numbered last. */
import type { SqlExecutor } from '../db/driver';
import type { StoreContext } from './context';
import { type PendingChange, recordChanges } from './feed';

/**
 * Runs one write transaction. Its change-feed rows are numbered last, by incrementing the
 * counter row: that row lock serializes writers from here to commit, so sequence numbers
 * become visible in order and without gaps.
 */
export async function write<T>(
  ctx: StoreContext,
  fn: (tx: SqlExecutor) => Promise<{ result: T; changes: PendingChange[] }>,
): Promise<T> {
  return ctx.db.transaction(async (tx) => {
    const { result, changes } = await fn(tx);
    await recordChanges(tx, changes);
    return result;
  });
}
