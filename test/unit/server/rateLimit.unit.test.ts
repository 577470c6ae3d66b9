import { describe, expect, it } from 'vitest';
import { parseVersionTag, versionTag } from '../../../src/core/api';
import { RateLimiter } from '../../../src/server/rateLimit';
import { bearerToken, hashToken, sameHash } from '../../../src/server/tokens';

describe('RateLimiter', () => {
  it('allows a burst, then the sustained rate, per key', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 2, burst: 3 }, () => now);
    expect([1, 2, 3, 4].map(() => limiter.take('a'))).toEqual([0, 0, 0, 1]);
    expect(limiter.take('b')).toBe(0);
    now += 500;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
  });

  it('never limits when the rate is 0', () => {
    const limiter = new RateLimiter({ perSecond: 0, burst: 0 });
    for (let i = 0; i < 1000; i++) expect(limiter.take('a')).toBe(0);
  });
});

describe('tokens and version tags', () => {
  it('reads bearer tokens', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('compares hashes in constant time', () => {
    expect(sameHash(hashToken('a'), hashToken('a'))).toBe(true);
    expect(sameHash(hashToken('a'), hashToken('b'))).toBe(false);
  });

  it('parses ETag/If-Match versions', () => {
    expect(versionTag(3)).toBe('"3"');
    expect(parseVersionTag('"3"')).toBe(3);
    expect(parseVersionTag('W/"12"')).toBe(12);
    expect(parseVersionTag('7')).toBe(7);
    expect(parseVersionTag('"0"')).toBeUndefined();
    expect(parseVersionTag('*')).toBeUndefined();
    expect(parseVersionTag(undefined)).toBeUndefined();
  });
});
