/** The one way the store writes: a transaction that adds its change-feed rows. */
import type { SqlExecutor } from '../db/driver';
import type { StoreContext } from './context';
import { type PendingChange, recordChanges } from './feed';

/**
 * Runs one write transaction and records its change-feed rows in it, so a change is in the feed
 * exactly when the write commits. The rows take no lock (see feed.ts): concurrent writers commit
 * side by side.
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
