import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  filterSecrets,
  groupSecrets,
  secretMatcher,
  isFilterActive,
  searchMatcher,
  searchText,
  SECRET_TYPES,
  type Scope,
  type SecretType,
} from '../../../src/core';

const secret = (
  name: string,
  type: SecretType,
  description = '',
  scope: Scope = { kind: 'personal' },
) => ({
  name,
  type,
  description,
  scope,
});

const list = [
  secret('OPENAI_API_KEY', 'key', 'For the chat notebook'),
  secret('DB_PASSWORD', 'password', 'Postgres on prod'),
  secret('GCP_SA', 'file', 'service account json', { kind: 'team', id: 'data' }),
  secret('HF_TOKEN', 'token', '', { kind: 'project', id: 'ml' }),
];

describe('filter', () => {
  it('matches name and description, case-insensitively', () => {
    expect(filterSecrets(list, { query: 'openai' }).map((s) => s.name)).toEqual(['OPENAI_API_KEY']);
    expect(filterSecrets(list, { query: 'POSTGRES' }).map((s) => s.name)).toEqual(['DB_PASSWORD']);
    expect(filterSecrets(list, { query: '  ' })).toHaveLength(4);
  });

  it('filters by types and combines with the query', () => {
    expect(filterSecrets(list, { types: ['file', 'token'] }).map((s) => s.name)).toEqual([
      'GCP_SA',
      'HF_TOKEN',
    ]);
    expect(
      filterSecrets(list, { types: ['file', 'token'], query: 'hf' }).map((s) => s.name),
    ).toEqual(['HF_TOKEN']);
  });

  it('knows when it is active', () => {
    expect(isFilterActive({})).toBe(false);
    expect(isFilterActive({ query: ' ', types: [] })).toBe(false);
    expect(isFilterActive({ types: ['key'] })).toBe(true);
  });
});

describe('grouping', () => {
  it('groups by scope in precedence order, names sorted', () => {
    const groups = groupSecrets(list, 'scope');
    expect(groups.map((g) => g.label)).toEqual(['Personal', 'Project ml', 'Team data']);
    expect(groups[0]!.items.map((s) => s.name)).toEqual(['DB_PASSWORD', 'OPENAI_API_KEY']);
  });

  it('gives each project and team its own group, teams sorted by id', () => {
    const more = [
      ...list,
      secret('ZZ', 'key', '', { kind: 'team', id: 'analytics' }),
      secret('AA', 'key', '', { kind: 'team', id: 'data' }),
    ];
    const groups = groupSecrets(more, 'scope');
    expect(groups.map((g) => g.label)).toEqual([
      'Personal',
      'Project ml',
      'Team analytics',
      'Team data',
    ]);
    expect(groups[3]!.items.map((s) => s.name)).toEqual(['AA', 'GCP_SA']);
  });

  it('groups by type in the model order', () => {
    expect(groupSecrets(list, 'type').map((g) => g.label)).toEqual([
      'Password',
      'Key',
      'Token',
      'File',
    ]);
  });

  it('can show one flat list', () => {
    const [all] = groupSecrets(list, 'none');
    expect(all!.items.map((s) => s.name)).toEqual([
      'DB_PASSWORD',
      'GCP_SA',
      'HF_TOKEN',
      'OPENAI_API_KEY',
    ]);
  });
});

describe('the filter as one predicate', () => {
  it('finds exactly what lower-casing name, description and query finds, in any script', () => {
    const text = fc.string({
      unit: fc.constantFrom(...'aAbBkKzZ_0 .*+?()[\\éÉßİıiI\u212Aς΢Σσﬀŉǰΐ'.split('')),
      maxLength: 8,
    });
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,6}$/),
        text,
        text,
        (name, description, query) => {
          const secret = { name, description, type: 'generic' as const };
          const q = query.trim().toLowerCase();
          const expected =
            !q || name.toLowerCase().includes(q) || description.toLowerCase().includes(q);
          expect(secretMatcher({ query })(secret)).toBe(expected);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('over searchText, finds what it finds, for any query and types', () => {
    const text = fc.string({
      unit: fc.constantFrom(...'aAbBkK_0 \n.İıI\u212AςΣσﬀ'.split('')),
      maxLength: 8,
    });
    fc.assert(
      fc.property(
        text,
        text,
        fc.constantFrom(...SECRET_TYPES),
        text,
        fc.option(fc.subarray([...SECRET_TYPES]), { nil: undefined }),
        (name, description, type, query, types) => {
          const secret = { name, description, type };
          const filter = { query, types };
          expect(searchMatcher(filter)(secret, searchText(secret))).toBe(
            secretMatcher(filter)(secret),
          );
        },
      ),
      // A query that would match across name and description; a final sigma on each side.
      {
        numRuns: 5000,
        examples: [
          ['AB', 'cd', 'generic', 'b\nc', undefined],
          ['A_Σ', 'Σa', 'key', 'σ', ['key']],
          ['A_Σ', 'ΑΣ', 'key', 'ς\nσ', undefined],
        ],
      },
    );
  });
});
