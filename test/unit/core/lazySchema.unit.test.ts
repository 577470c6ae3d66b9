import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { SecretMetadata, SecretName } from '../../../src/core/model';
import { lazySchema } from '../../../src/core/lazySchema';

describe('lazySchema', () => {
  it('builds the schema on first use, once', () => {
    let builds = 0;
    const Name = lazySchema(() => {
      builds++;
      return z.string().min(2);
    });
    expect(builds).toBe(0);
    expect(Name.parse('ab')).toBe('ab');
    expect(Name.safeParse('a').success).toBe(false);
    expect(builds).toBe(1);
  });

  it('stands for the schema it builds: instanceof, nesting, extend and JSON Schema', () => {
    const Inner = lazySchema(() => z.object({ id: z.string() }));
    const Outer = lazySchema(() => z.object({ inner: Inner, n: z.number() }));
    expect(Inner).toBeInstanceOf(z.ZodObject);
    expect(Outer.parse({ inner: { id: 'x' }, n: 1 })).toEqual({ inner: { id: 'x' }, n: 1 });
    expect(Outer.safeParse({ inner: {}, n: 1 }).error?.issues[0]?.path).toEqual(['inner', 'id']);
    expect(Inner.extend({ more: z.boolean() }).parse({ id: 'x', more: true })).toEqual({
      id: 'x',
      more: true,
    });
    expect(Object.keys(Outer.shape)).toEqual(['inner', 'n']);
    expect(z.toJSONSchema(Outer)).toEqual(
      z.toJSONSchema(z.object({ inner: z.object({ id: z.string() }), n: z.number() })),
    );
  });

  it('leaves the shared model schemas as they were', () => {
    expect(SecretName.safeParse('1abc').error?.issues[0]?.message).toMatch(
      /starting with a letter/,
    );
    expect(SecretMetadata.shape.scope.parse({ kind: 'team', id: 'data' })).toEqual({
      kind: 'team',
      id: 'data',
    });
  });
});
