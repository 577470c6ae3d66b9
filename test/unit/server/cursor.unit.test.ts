import { describe, expect, it } from 'vitest';
import {
  checkCursor,
  decodeCursor,
  decodeListingCursor,
  encodeCursor,
  encodeListingCursor,
  LAST_ID,
  splitIds,
} from '../../../src/server/cursor';

const DB = '0123456789abcdef0123456789abcdef';
const HEAD = { horizon: 900, legacy: 10 };

describe('change-feed cursor', () => {
  it('round-trips the cursor of a listing read in parts, which ends after where it reads on', () => {
    const after = '10000000-0000-4000-8000-000000000000';
    const last = '7fffffff-ffff-ffff-ffff-ffffffffffff';
    const cursor = { databaseId: DB, horizon: 812, after, last };
    expect(encodeListingCursor(cursor)).toBe(`${DB}.812.${after}.${last}`);
    expect(decodeListingCursor(encodeListingCursor(cursor))).toEqual(cursor);
    expect(checkCursor(encodeListingCursor(cursor), DB, HEAD)).toEqual({
      kind: 'listing',
      horizon: 812,
      after,
      last,
    });
    // A part that ends where it starts, or before, is no cursor this server issues.
    expect(decodeListingCursor(`${DB}.812.${last}.${after}`)).toBeUndefined();
    expect(decodeListingCursor(`${DB}.812.${after}.${after}`)).toBeUndefined();
  });

  it('splits the ids after a place into ranges of equal width, the last ending at the last id', () => {
    expect(splitIds('00000000-0000-0000-0000-000000000000', 4)).toEqual([
      '3fffffff-ffff-ffff-ffff-ffffffffffff',
      '7fffffff-ffff-ffff-ffff-ffffffffffff',
      'bfffffff-ffff-ffff-ffff-ffffffffffff',
      LAST_ID,
    ]);
    const lasts = splitIds('c0000000-0000-4000-8000-000000000000', 3);
    expect(lasts).toHaveLength(3);
    expect([...lasts].sort()).toEqual(lasts);
    expect(lasts[0]! > 'c0000000-0000-4000-8000-000000000000').toBe(true);
    expect(lasts[2]).toBe(LAST_ID);
  });

  it('round-trips', () => {
    expect(decodeCursor(encodeCursor({ databaseId: DB, xid: 812, seq: 42 }))).toEqual({
      databaseId: DB,
      xid: 812,
      seq: 42,
    });
    expect(encodeCursor({ databaseId: DB, xid: 812, seq: 0 })).toBe(`${DB}.812.0`);
  });

  it('reads the form of cursors issued before transaction ids as a position at xid 0', () => {
    expect(encodeCursor({ databaseId: DB, xid: 0, seq: 42 })).toBe(`${DB}.42`);
    expect(decodeCursor(`${DB}.42`)).toEqual({ databaseId: DB, xid: 0, seq: 42 });
    expect(decodeCursor(`${DB}.0`)).toEqual({ databaseId: DB, xid: 0, seq: 0 });
  });

  it.each([
    '',
    'garbage',
    `${DB}`,
    `${DB}.`,
    `${DB}.-1`,
    `${DB}.01`,
    `${DB}.1.2.3`,
    `${DB}.0.5`,
    `${DB}.01.5`,
    `${DB}.1.`,
    `${DB.toUpperCase()}.1`,
    `${DB}.99999999999999999`,
    `${DB}.99999999999999999.1`,
  ])('refuses %j', (text) => {
    expect(decodeCursor(text)).toBeUndefined();
  });

  it.each([
    [`${DB}.7`, { xid: 0, seq: 7 }],
    [`${DB}.10`, { xid: 0, seq: 10 }],
    [`${DB}.850.77`, { xid: 850, seq: 77 }],
    [`${DB}.900.0`, { xid: 900, seq: 0 }],
  ])('reads incrementally from its own cursor %j', (cursor, since) => {
    expect(checkCursor(cursor, DB, HEAD)).toEqual({ kind: 'incremental', since });
  });

  it('starts over without a cursor, with a foreign one, or one from the future (restored backup)', () => {
    expect(checkCursor(undefined, DB, HEAD)).toEqual({ kind: 'reset', reason: 'none' });
    expect(checkCursor(`${'f'.repeat(32)}.3`, DB, HEAD)).toEqual({
      kind: 'reset',
      reason: 'foreign',
    });
    expect(checkCursor('nonsense', DB, HEAD)).toEqual({ kind: 'reset', reason: 'foreign' });
    expect(checkCursor(`${DB}.11`, DB, HEAD)).toEqual({ kind: 'reset', reason: 'ahead' });
    expect(checkCursor(`${DB}.901.0`, DB, HEAD)).toEqual({ kind: 'reset', reason: 'ahead' });
    expect(checkCursor(`${DB}.900.1`, DB, HEAD)).toEqual({ kind: 'reset', reason: 'ahead' });
  });

  const ID = '3f0c2a9e-8b1d-4c6e-9a7f-0123456789ab';

  it('round-trips a place in a full listing, told apart from a feed position', () => {
    const text = encodeListingCursor({ databaseId: DB, horizon: 850, after: ID });
    expect(text).toBe(`${DB}.850.${ID}`);
    expect(decodeListingCursor(text)).toEqual({ databaseId: DB, horizon: 850, after: ID });
    expect(decodeCursor(text)).toBeUndefined();
    expect(decodeListingCursor(`${DB}.850.77`)).toBeUndefined();
    expect(decodeListingCursor(`${DB}.850.${ID.toUpperCase()}`)).toBeUndefined();
  });

  it('reads on with a listing from its place, unless it is foreign or from the future', () => {
    expect(checkCursor(`${DB}.850.${ID}`, DB, HEAD)).toEqual({
      kind: 'listing',
      horizon: 850,
      after: ID,
    });
    expect(checkCursor(`${'f'.repeat(32)}.850.${ID}`, DB, HEAD)).toEqual({
      kind: 'reset',
      reason: 'foreign',
    });
    expect(checkCursor(`${DB}.901.${ID}`, DB, HEAD)).toEqual({ kind: 'reset', reason: 'ahead' });
  });
});
