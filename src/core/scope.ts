/**
 * Scopes and the precedence rule: your own personal > project > team > someone else's personal
 * secret shared with you (the narrower scope wins, and your own before anyone else's).
 */
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
 * Picks the secret that `get_secret(name)` means among candidates of that name: your own
 * personal first, then the active project's, then a team's, then someone else's personal secret
 * shared with you (`sharedBy` names its owner). Ties break by team id, then owner, so the answer
 * is the same on every machine. A `personal` scope means your own, as on the server.
 */
export function resolveByPrecedence<T extends { name: string; scope: Scope }>(
  candidates: readonly T[],
  name: string,
  options: ResolveOptions = {},
  sharedBy: (candidate: T) => string | undefined = () => undefined,
): T | undefined {
  const rank = (c: T): number =>
    sharedBy(c) !== undefined ? SCOPE_ORDER.length : SCOPE_ORDER.indexOf(c.scope.kind);
  const eligible = candidates.filter((c) => {
    if (c.name !== name) return false;
    if (c.scope.kind === 'project' && options.project !== undefined) {
      if (c.scope.id !== options.project) return false;
    }
    const wanted = options.scope;
    if (wanted === undefined) return true;
    if (sharedBy(c) !== undefined) return false;
    return typeof wanted === 'string' ? c.scope.kind === wanted : sameScope(c.scope, wanted);
  });
  return eligible.sort(
    (a, b) =>
      rank(a) - rank(b) ||
      scopeKey(a.scope).localeCompare(scopeKey(b.scope)) ||
      (sharedBy(a) ?? '').localeCompare(sharedBy(b) ?? ''),
  )[0];
}
