import { describe, expect, it } from 'vitest';
import { KernelSessions } from '../../../src/broker/kernelSessions';

describe('KernelSessions', () => {
  it('issues distinct 256-bit tokens, one session per kernel', () => {
    const s = new KernelSessions();
    const a = s.issue('file:///a.ipynb');
    const b = s.issue('file:///a.ipynb');
    expect(Buffer.from(a.token, 'base64url')).toHaveLength(32);
    expect(a.token).not.toBe(b.token);
    expect(a.session.id).not.toBe(b.session.id);
    expect(s.lookup(a.token)).toBe(a.session);
    expect(s.lookup(b.token)).toBe(b.session);
  });

  it('finds nothing for a near miss, an empty or an oversized token', () => {
    const s = new KernelSessions();
    const { token } = s.issue('n');
    const flipped = (token[0] === 'A' ? 'B' : 'A') + token.slice(1);
    expect(s.lookup(flipped)).toBeUndefined();
    expect(s.lookup('')).toBeUndefined();
    expect(s.lookup(token + 'x')).toBeUndefined();
    expect(s.lookup('x'.repeat(1000))).toBeUndefined();
  });

  it('revokes one token or every token of a notebook', () => {
    const s = new KernelSessions();
    const a = s.issue('n1');
    const b = s.issue('n1');
    const c = s.issue('n2');
    s.revoke(a.token);
    expect(s.lookup(a.token)).toBeUndefined();
    s.revokeNotebook('n1');
    expect(s.lookup(b.token)).toBeUndefined();
    expect(s.lookup(c.token)).toBe(c.session);
  });
});

describe('describeError', () => {
  it('blanks Jupyter tokens out of error messages', async () => {
    const { describeError } = await import('../../../src/broker/describeError');
    expect(
      describeError(
        new Error('WebSocket ws://h:8888/api/kernels/1/channels?token=abc123&x=1 closed'),
      ),
    ).toBe('WebSocket ws://h:8888/api/kernels/1/channels?token=…&x=1 closed');
    expect(describeError(new Error('Authorization: token s3cr3t rejected'))).toBe(
      'Authorization: token … rejected',
    );
  });
});
