/**
 * The change-feed cursor, opaque to clients: `<database id>.<xid>.<seq>`, a position in the feed's
 * order (the writing transaction's id, then the row's sequence number; see feed.ts). Rows written
 * before that order existed have xid 0, and a position among them is written `<database id>.<seq>`,
 * the form cursors had then, so those cursors read on. The database id lets the server notice a
 * cursor from another database (or a restored one) and answer with a full listing instead of
 * silently skipping changes. Within a full listing, which pages the caller's secrets by id, the
 * cursor is `<database id>.<horizon>.<last id listed>`: the feed's horizon when the listing began,
 * where the feed reads on once the listing is done. A listing read in parts (see feed.ts) adds the
 * last id of its part: `<database id>.<horizon>.<last id listed>.<last id of the part>`.
 */
export interface Position {
  xid: number;
  seq: number;
}

export interface Cursor extends Position {
  databaseId: string;
}

/** How far the feed can be read now (see feed.ts). */
export interface FeedHead {
  /** No transaction still running has an id below this one. */
  horizon: number;
  /** The highest sequence number of the rows with xid 0. */
  legacy: number;
}

/** A position in a full listing. */
export interface ListingCursor {
  databaseId: string;
  /** The feed's horizon when the listing began. */
  horizon: number;
  /** The last secret id listed. */
  after: string;
  /** In a listing read in parts: the last id of this part (inclusive). */
  last?: string;
}

const NUMBER = '(0|[1-9][0-9]{0,15})';
const CURSOR = new RegExp(`^([0-9a-f]{32})\\.(?:${NUMBER}\\.)?${NUMBER}$`);
const ID = '([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})';
const LISTING = new RegExp(`^([0-9a-f]{32})\\.${NUMBER}\\.${ID}(?:\\.${ID})?$`);

export function encodeCursor(cursor: Cursor): string {
  return cursor.xid === 0
    ? `${cursor.databaseId}.${cursor.seq}`
    : `${cursor.databaseId}.${cursor.xid}.${cursor.seq}`;
}

/** Returns the cursor, or undefined when the text is not one this server could have issued. */
export function decodeCursor(text: string): Cursor | undefined {
  const match = CURSOR.exec(text);
  if (!match) return undefined;
  const xid = match[2] === undefined ? 0 : Number(match[2]);
  const seq = Number(match[3]);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(xid)) return undefined;
  // An xid of 0 is written in the short form only.
  if (match[2] !== undefined && xid === 0) return undefined;
  return { databaseId: match[1]!, xid, seq };
}

export function encodeListingCursor(cursor: ListingCursor): string {
  const part = cursor.last === undefined ? '' : `.${cursor.last}`;
  return `${cursor.databaseId}.${cursor.horizon}.${cursor.after}${part}`;
}

/** Returns the listing cursor, or undefined when the text is not one. */
export function decodeListingCursor(text: string): ListingCursor | undefined {
  const match = LISTING.exec(text);
  if (!match) return undefined;
  const horizon = Number(match[2]);
  if (!Number.isSafeInteger(horizon)) return undefined;
  const last = match[4];
  if (last !== undefined && last <= match[3]!) return undefined;
  return { databaseId: match[1]!, horizon, after: match[3]!, ...(last !== undefined && { last }) };
}

export type CursorCheck =
  | { kind: 'incremental'; since: Position }
  | { kind: 'listing'; horizon: number; after: string; last?: string }
  | { kind: 'reset'; reason: 'none' | 'foreign' | 'ahead' };

/**
 * Decides how to answer `since`: incremental from its position, on with a full listing from its
 * place, or a full listing from the start when there is no cursor, it is from another database,
 * or it is ahead of this one (a database restored from backup): past the horizon, which only
 * grows, or past the last row of xid 0.
 */
export function checkCursor(
  since: string | undefined,
  databaseId: string,
  head: FeedHead,
): CursorCheck {
  if (since === undefined || since === '') return { kind: 'reset', reason: 'none' };
  const listing = decodeListingCursor(since);
  if (listing) {
    if (listing.databaseId !== databaseId) return { kind: 'reset', reason: 'foreign' };
    if (listing.horizon > head.horizon) return { kind: 'reset', reason: 'ahead' };
    const { horizon, after, last } = listing;
    return { kind: 'listing', horizon, after, ...(last !== undefined && { last }) };
  }
  const cursor = decodeCursor(since);
  if (!cursor || cursor.databaseId !== databaseId) return { kind: 'reset', reason: 'foreign' };
  const ahead =
    cursor.xid === 0
      ? cursor.seq > head.legacy
      : cursor.xid > head.horizon || (cursor.xid === head.horizon && cursor.seq > 0);
  if (ahead) return { kind: 'reset', reason: 'ahead' };
  return { kind: 'incremental', since: { xid: cursor.xid, seq: cursor.seq } };
}

/** The highest id there can be: a listing read whole ends here. */
export const LAST_ID = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

/** An id as the 128-bit number PostgreSQL orders it by, and back. */
const idNumber = (id: string): bigint => BigInt(`0x${id.replaceAll('-', '')}`);
function idText(n: bigint): string {
  const hex = n.toString(16).padStart(32, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * About how many ids follow `last`, when `count` ids were found from the first id up to `last`:
 * ids are random, so they spread evenly over the space of ids.
 */
export function idsAfter(last: string, count: number): number {
  const covered = idNumber(last) + 1n;
  return Math.ceil((Number(idNumber(LAST_ID) - covered) / Number(covered)) * count);
}

/**
 * The ids after `after` split into `parts` ranges of equal width: the last id of each (the last
 * is LAST_ID). Ids are random, so each range holds about as many secrets as the others.
 */
export function splitIds(after: string, parts: number): string[] {
  const start = idNumber(after);
  const width = idNumber(LAST_ID) - start;
  return Array.from({ length: parts }, (_, k) =>
    idText(start + (width * BigInt(k + 1)) / BigInt(parts)),
  );
}
