import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EntryPool, IndexEntry, plainEntry } from '../../../src/core/indexEntry';

/** Entries near the schema's edges: mostly valid fields, each sometimes off by one rule. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>) =>
  fc.oneof({ arbitrary: valid, weight: 12 }, { arbitrary: invalid, weight: 1 });
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });
const anything = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean(), fc.double());
const name = mostly(
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/),
  fc.constantFrom('', '1A', 'A-B', 'x'.repeat(128), 'x'.repeat(129), 7),
);
const scope = mostly(
  fc.oneof(
    fc.constant({ kind: 'personal' }),
    fc.record({
      kind: fc.constantFrom('team', 'project'),
      id: fc.string({ minLength: 1, maxLength: 3 }),
    }),
  ),
  fc.oneof(
    fc.record({ kind: fc.constantFrom('team', 'project'), id: fc.constant('') }),
    fc.record({ kind: fc.constant('personal'), id: fc.string() }),
    anything,
  ),
);
const grant = mostly(
  fc.record({
    principal: fc.record({
      kind: fc.constantFrom('user', 'team'),
      id: fc.string({ minLength: 1, maxLength: 3 }),
    }),
    role: fc.constantFrom('owner', 'reader'),
  }),
  fc.oneof(
    fc.record({
      principal: fc.record({ kind: fc.constant('bot'), id: fc.string() }),
      role: fc.constant('owner'),
    }),
    fc.record({
      principal: fc.record({ kind: fc.constant('user'), id: fc.string() }),
      role: fc.constant('admin'),
    }),
    anything,
  ),
);
const sync = mostly(
  fc.record({ base: fc.oneof(fc.integer(), fc.constant(null)), lv: fc.integer() }),
  fc.oneof(
    fc.record({ base: fc.integer(), lv: fc.double() }),
    fc.record({ base: fc.integer(), lv: fc.integer(), extra: fc.string() }),
    fc.record({
      base: fc.integer(),
      lv: fc.integer(),
      conflict: fc.record({
        kind: fc.constant('both_edited'),
        remote: fc.constant(null),
        detected_at: fc.string(),
      }),
    }),
    anything,
  ),
);
const knownFields = fc.record({
  id: mostly(fc.string({ minLength: 1, maxLength: 4 }), fc.oneof(fc.constant(''), anything)),
  name,
  encoding: mostly(fc.constantFrom('text', 'base64'), fc.constant('hex')),
  type: mostly(
    fc.constantFrom('generic', 'password', 'key', 'token', 'file'),
    fc.constant('other'),
  ),
  description: mostly(fc.string({ maxLength: 5 }), fc.constantFrom('d'.repeat(1025), 3)),
  scope,
  version: mostly(fc.integer({ min: 1, max: 5 }), fc.constantFrom(0, -1, 1.5, 2 ** 53, NaN)),
  created_at: mostly(fc.string({ maxLength: 3 }), anything),
  updated_at: fc.string({ maxLength: 3 }),
  created_by: fc.string({ maxLength: 3 }),
  access: mostly(fc.array(grant, { maxLength: 2 }), anything),
  role: maybe(mostly(fc.constantFrom('owner', 'reader'), fc.constant('admin'))),
  owner: maybe(mostly(fc.string({ minLength: 1, maxLength: 3 }), fc.constantFrom('', 5))),
  sync: maybe(sync),
});
/** Sometimes with a field a newer version wrote. */
const rawEntry = fc
  .tuple(knownFields, fc.option(fc.array(fc.string()), { nil: undefined, freq: 8 }))
  .map(([entry, labels]) => (labels === undefined ? entry : { ...entry, labels }));

const json = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

describe('reading index entries', () => {
  it('the fast path accepts only what the schema accepts, and reads it the same', () => {
    let fastOnes = 0;
    fc.assert(
      fc.property(rawEntry, (raw) => {
        const schema = IndexEntry.safeParse(raw);
        const fast = plainEntry(raw);
        if (fast) {
          fastOnes++;
          expect(schema.success).toBe(true);
          const pool = new EntryPool();
          expect(json(pool.entry(fast))).toEqual(json(pool.entry(schema.data!)));
        }
        const read = new EntryPool().read(raw);
        expect(read === undefined).toBe(!schema.success);
        if (read) expect(json(read)).toEqual(json(new EntryPool().entry(schema.data!)));
      }),
      { numRuns: 3000 },
    );
    // The generator reaches the fast path often enough to mean something.
    expect(fastOnes).toBeGreaterThan(100);
  });

  it('shares what entries have in common, frozen, and keeps fields of newer versions', () => {
    const pool = new EntryPool();
    const base = {
      id: 'a',
      name: 'A',
      encoding: 'text',
      type: 'generic',
      description: '',
      scope: { kind: 'team', id: 'data' },
      version: 1,
      created_at: 't',
      updated_at: 't',
      created_by: 'ada',
      access: [{ principal: { kind: 'user', id: 'ada' }, role: 'owner' }],
      sync: { base: 1, lv: 1 },
    };
    const a = pool.read(base)!;
    const b = pool.read({ ...base, id: 'b', labels: ['x'] })!;
    expect(a.scope).toBe(b.scope);
    expect(a.access).toBe(b.access);
    expect(a.sync).toBe(b.sync);
    expect(Object.isFrozen(a.access[0]!.principal)).toBe(true);
    expect(b.labels).toEqual(['x']);
    expect(json(a)).toEqual(json(base));
  });
});
