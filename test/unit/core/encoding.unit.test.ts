import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  base64ToBytes,
  bytesToBase64,
  isBase64,
  isUtf8,
  MAX_FILE_BYTES,
  MAX_VALUE_BYTES,
} from '../../../src/core';

describe('base64', () => {
  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const text = bytesToBase64(bytes);
        expect(isBase64(text)).toBe(true);
        expect(base64ToBytes(text)).toEqual(bytes);
      }),
    );
  });

  it('round-trips a subarray view without its neighbours', () => {
    const buffer = new Uint8Array([1, 2, 3, 4, 5, 6]);
    expect(base64ToBytes(bytesToBase64(buffer.subarray(2, 4)))).toEqual(new Uint8Array([3, 4]));
  });

  it('rejects text that is not strict base64', () => {
    for (const bad of ['abc', 'ab=c', 'a b=', '****', 'YQ==\n']) {
      expect(() => base64ToBytes(bad)).toThrow(/not valid base64/);
    }
  });

  it('the largest file fits the value limit once encoded', () => {
    expect(bytesToBase64(new Uint8Array(MAX_FILE_BYTES)).length).toBeLessThanOrEqual(
      MAX_VALUE_BYTES,
    );
    expect(bytesToBase64(new Uint8Array(MAX_FILE_BYTES + 1)).length).toBeGreaterThan(
      MAX_VALUE_BYTES,
    );
  });
});

describe('isUtf8', () => {
  it('tells text files from binary ones', () => {
    expect(isUtf8(new TextEncoder().encode('-----BEGIN KEY-----\nclé €'))).toBe(true);
    expect(isUtf8(new Uint8Array([0xff, 0xfe, 0x00]))).toBe(false);
  });
});
