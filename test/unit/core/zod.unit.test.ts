import { describe, expect, it } from 'vitest';
import * as mini from 'zod/mini';
import * as z from '../../../src/core/zod';
import { ChangesPage } from '../../../src/core/api';
import { testEntry } from '../../support/entries';

// The same shape built by zod/mini's own object functions and by ours (compiled checks).
function shapes(of: typeof mini) {
  const grant = of.object({
    kind: of.enum(['user', 'team']),
    id: of.string().check(of.minLength(1)),
  });
  return {
    plain: of.object({
      id: of.string(),
      version: of.number().check(of.int(), of.minimum(1)),
      note: of.optional(of.string()),
      access: of._default(of.array(grant), []),
    }),
    strict: of.strictObject({ id: of.string(), n: of._default(of.number(), 0) }),
    loose: of.looseObject({ id: of.string() }),
  };
}

const ours = shapes(z as unknown as typeof mini);
const theirs = shapes(mini);

const inputs: Record<keyof typeof ours, unknown[]> = {
  plain: [
    { id: 'a', version: 1 },
    { id: 'a', version: 2, note: 'n', access: [{ kind: 'team', id: 't' }], extra: true },
    { id: 1, version: 0 },
    { version: 1.5, access: [{ kind: 'robot', id: '' }] },
    { id: 'a', version: 1, note: undefined },
    null,
    [],
    'text',
  ],
  strict: [{ id: 'a' }, { id: 'a', n: 2 }, { id: 'a', other: 1 }, { n: 'x' }],
  loose: [{ id: 'a', kept: [1, 2] }, { kept: 1 }],
};

describe('zod objects with compiled checks', () => {
  it('are compiled: zod/mini objects with the classic objects’ compiled check', () => {
    for (const schema of Object.values(ours)) {
      expect(schema._zod.traits.has('$ZodObjectJIT')).toBe(true);
      expect(schema).toBeInstanceOf(mini.ZodMiniObject);
    }
    expect(theirs.plain._zod.traits.has('$ZodObjectJIT')).toBe(false);
  });

  it('give the same values and the same issues as zod/mini’s own', () => {
    for (const kind of Object.keys(inputs) as (keyof typeof ours)[]) {
      for (const input of inputs[kind]) {
        const a = ours[kind].safeParse(input);
        const b = theirs[kind].safeParse(input);
        expect({ kind, input, result: a.success ? a.data : a.error.issues }).toEqual({
          kind,
          input,
          result: b.success ? b.data : b.error.issues,
        });
        if (a.success && b.success) expect(Object.keys(a.data)).toEqual(Object.keys(b.data));
      }
    }
  });

  it('keep zod/mini’s functions: extend, pick and partial stay compiled', () => {
    const extended = z.extend(ours.plain, { more: z.boolean() });
    expect(extended._zod.traits.has('$ZodObjectJIT')).toBe(true);
    expect(extended.parse({ id: 'a', version: 1, more: true })).toEqual({
      id: 'a',
      version: 1,
      more: true,
      access: [],
    });
    expect(z.pick(ours.plain, { id: true }).parse({ id: 'a', version: 'x' })).toEqual({ id: 'a' });
    expect(z.partial(ours.strict).safeParse({ other: 1 }).success).toBe(false);
  });

  it('parse a change feed page as before, in a schema built from src/core', () => {
    const secret = testEntry('id-1', 'API_KEY', {
      type: 'token',
      scope: { kind: 'project', id: 'p1' },
      version: 3,
      access: [{ principal: { kind: 'user', id: 'bob' }, role: 'reader' }],
    });
    const page = { changes: [{ kind: 'upsert', secret }], next: 'c', more: false, reset: false };
    expect(ChangesPage.parse(page)).toEqual(page);
    const bad = ChangesPage.safeParse({
      ...page,
      changes: [{ kind: 'upsert', secret: { ...secret, name: '1x' } }],
    });
    expect(bad.error?.issues.map((i) => [i.path, i.message])).toEqual([
      [['changes', 0, 'secret', 'name'], expect.stringContaining('letters, digits or underscores')],
    ]);
  });
});
