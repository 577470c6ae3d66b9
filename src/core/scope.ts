/** Scopes and the precedence rule: personal > project > team (the narrower scope wins). */
import type { Scope, ScopeKind } from './model';

export const SCOPE_ORDER: readonly ScopeKind[] = ['personal', 'project', 'team'];

export const SCOPE_LABELS: Record<ScopeKind, string> = {
  personal: 'Personal',
  project: 'Project',
  team: 'Team',
};

/** A stable string key for a scope, e.g. `personal`, `project:ml`, `team:data`. */
export function scopeKey(scope: Scope): string {
  return scope.kind === 'personal' ? 'personal' : `${scope.kind}:${scope.id}`;
}

export function parseScopeKey(key: string): Scope | undefined {
  if (key === 'personal') return { kind: 'personal' };
  const match = /^(project|team):(.+)$/.exec(key);
  if (!match) return undefined;
  return { kind: match[1] as 'project' | 'team', id: match[2]! };
}

export function sameScope(a: Scope, b: Scope): boolean {
  return scopeKey(a) === scopeKey(b);
}

export interface ResolveOptions {
  /** The active project: project-scoped secrets of other projects do not apply. */
  project?: string;
  /** Restricts resolution to one scope kind (or exact scope), as `get_secret(name, scope=…)`. */
  scope?: ScopeKind | Scope;
}

/**
 * Picks the secret that `get_secret(name)` means among candidates of that name:
 * personal first, then the active project's, then a team's. Team ties break by team id so the
 * answer is the same on every machine.
 */
export function resolveByPrecedence<T extends { name: string; scope: Scope }>(
  candidates: readonly T[],
  name: string,
  options: ResolveOptions = {},
): T | undefined {
  const rank = (scope: Scope): number => SCOPE_ORDER.indexOf(scope.kind);
  const eligible = candidates.filter((c) => {
    if (c.name !== name) return false;
    if (c.scope.kind === 'project' && options.project !== undefined) {
      if (c.scope.id !== options.project) return false;
    }
    const wanted = options.scope;
    if (wanted === undefined) return true;
    return typeof wanted === 'string' ? c.scope.kind === wanted : sameScope(c.scope, wanted);
  });
  return eligible.sort(
    (a, b) => rank(a.scope) - rank(b.scope) || scopeKey(a.scope).localeCompare(scopeKey(b.scope)),
  )[0];
}
