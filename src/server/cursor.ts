/**
 * The change-feed cursor: `<database id>.<sequence>`, opaque to clients. The database id lets the
 * server notice a cursor from another database (or a restored one) and answer with a full listing
 * instead of silently skipping changes.
 */
export interface Cursor {
  databaseId: string;
  seq: number;
}

const CURSOR = /^([0-9a-f]{32})\.(0|[1-9][0-9]{0,15})$/;

export function encodeCursor(cursor: Cursor): string {
  return `${cursor.databaseId}.${cursor.seq}`;
}

/** Returns the cursor, or undefined when the text is not one this server could have issued. */
export function decodeCursor(text: string): Cursor | undefined {
  const match = CURSOR.exec(text);
  if (!match) return undefined;
  const seq = Number(match[2]);
  if (!Number.isSafeInteger(seq)) return undefined;
  return { databaseId: match[1]!, seq };
}

export type CursorCheck =
  { kind: 'incremental'; since: number } | { kind: 'reset'; reason: 'none' | 'foreign' | 'ahead' };

/**
 * Decides how to answer `since`: incremental from its sequence, or a full listing when there is no
 * cursor, it is from another database, or it is ahead of this one (a database restored from backup).
 */
export function checkCursor(
  since: string | undefined,
  databaseId: string,
  head: number,
): CursorCheck {
  if (since === undefined || since === '') return { kind: 'reset', reason: 'none' };
  const cursor = decodeCursor(since);
  if (!cursor || cursor.databaseId !== databaseId) return { kind: 'reset', reason: 'foreign' };
  if (cursor.seq > head) return { kind: 'reset', reason: 'ahead' };
  return { kind: 'incremental', since: cursor.seq };
}
