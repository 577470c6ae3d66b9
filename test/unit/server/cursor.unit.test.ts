import { describe, expect, it } from 'vitest';
import { checkCursor, decodeCursor, encodeCursor } from '../../../src/server/cursor';

const DB = '0123456789abcdef0123456789abcdef';

describe('change-feed cursor', () => {
  it('round-trips', () => {
    expect(decodeCursor(encodeCursor({ databaseId: DB, seq: 42 }))).toEqual({
      databaseId: DB,
      seq: 42,
    });
    expect(decodeCursor(`${DB}.0`)).toEqual({ databaseId: DB, seq: 0 });
  });

  it.each([
    '',
    'garbage',
    `${DB}`,
    `${DB}.`,
    `${DB}.-1`,
    `${DB}.01`,
    `${DB}.1.2`,
    `${DB.toUpperCase()}.1`,
    `${DB}.99999999999999999`,
  ])('refuses %j', (text) => {
    expect(decodeCursor(text)).toBeUndefined();
  });

  it('reads incrementally from its own cursor', () => {
    expect(checkCursor(`${DB}.7`, DB, 10)).toEqual({ kind: 'incremental', since: 7 });
    expect(checkCursor(`${DB}.10`, DB, 10)).toEqual({ kind: 'incremental', since: 10 });
  });

  it('starts over without a cursor, with a foreign one, or one from the future (restored backup)', () => {
    expect(checkCursor(undefined, DB, 10)).toEqual({ kind: 'reset', reason: 'none' });
    expect(checkCursor(`${'f'.repeat(32)}.3`, DB, 10)).toEqual({
      kind: 'reset',
      reason: 'foreign',
    });
    expect(checkCursor('nonsense', DB, 10)).toEqual({ kind: 'reset', reason: 'foreign' });
    expect(checkCursor(`${DB}.11`, DB, 10)).toEqual({ kind: 'reset', reason: 'ahead' });
  });
});
