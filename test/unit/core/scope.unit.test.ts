import { describe, expect, it } from 'vitest';
import { parseScopeKey, resolveByPrecedence, scopeKey, type Scope } from '../../../src/core';

const s = (name: string, scope: Scope) => ({ name, scope, tag: scopeKey(scope) });
const personal: Scope = { kind: 'personal' };
const projectMl: Scope = { kind: 'project', id: 'ml' };
const projectWeb: Scope = { kind: 'project', id: 'web' };
const teamData: Scope = { kind: 'team', id: 'data' };
const teamAi: Scope = { kind: 'team', id: 'ai' };

describe('precedence personal > project > team', () => {
  const all = [s('KEY', teamData), s('KEY', projectMl), s('KEY', personal), s('OTHER', teamData)];

  it('the narrowest scope wins', () => {
    expect(resolveByPrecedence(all, 'KEY')?.tag).toBe('personal');
    expect(resolveByPrecedence(all.slice(0, 2), 'KEY')?.tag).toBe('project:ml');
    expect(resolveByPrecedence([all[0]!], 'KEY')?.tag).toBe('team:data');
  });

  it('does not depend on the order of candidates', () => {
    expect(resolveByPrecedence([...all].reverse(), 'KEY')?.tag).toBe('personal');
  });

  it('ignores other projects than the active one', () => {
    const list = [s('KEY', projectWeb), s('KEY', teamData)];
    expect(resolveByPrecedence(list, 'KEY', { project: 'ml' })?.tag).toBe('team:data');
    expect(resolveByPrecedence(list, 'KEY', { project: 'web' })?.tag).toBe('project:web');
  });

  it('honours an explicit scope', () => {
    expect(resolveByPrecedence(all, 'KEY', { scope: 'team' })?.tag).toBe('team:data');
    expect(resolveByPrecedence(all, 'KEY', { scope: projectMl })?.tag).toBe('project:ml');
    expect(resolveByPrecedence(all, 'OTHER', { scope: 'personal' })).toBeUndefined();
  });

  it("puts someone else's personal secret shared with you after your own, a project's and a team's", () => {
    const owned = (scope: Scope, owner?: string) => ({ ...s('KEY', scope), owner });
    const by = (c: { owner?: string }) => c.owner;
    const list = [owned(personal, 'bob'), owned(personal, 'alice'), owned(teamData)];
    expect(resolveByPrecedence(list, 'KEY', {}, by)?.tag).toBe('team:data');
    expect(resolveByPrecedence([...list, owned(personal)], 'KEY', {}, by)?.owner).toBeUndefined();
    expect(resolveByPrecedence(list.slice(0, 2), 'KEY', {}, by)?.owner).toBe('alice');
    expect(resolveByPrecedence(list.slice(0, 2).reverse(), 'KEY', {}, by)?.owner).toBe('alice');
    // `personal` means your own, as on the server.
    expect(resolveByPrecedence(list, 'KEY', { scope: 'personal' }, by)).toBeUndefined();
  });

  it('breaks ties between teams the same way everywhere', () => {
    const list = [s('KEY', teamData), s('KEY', teamAi)];
    expect(resolveByPrecedence(list, 'KEY')?.tag).toBe('team:ai');
    expect(resolveByPrecedence([...list].reverse(), 'KEY')?.tag).toBe('team:ai');
  });

  it('returns nothing for an unknown name', () => {
    expect(resolveByPrecedence(all, 'MISSING')).toBeUndefined();
  });
});

describe('scope keys', () => {
  it.each([personal, projectMl, teamData, { kind: 'team', id: 'a:b' } as Scope])(
    'round-trip %j',
    (scope) => {
      expect(parseScopeKey(scopeKey(scope))).toEqual(scope);
    },
  );
  it('rejects unknown keys', () => {
    expect(parseScopeKey('org:x')).toBeUndefined();
    expect(parseScopeKey('project:')).toBeUndefined();
  });
});
