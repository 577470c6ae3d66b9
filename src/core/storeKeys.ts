/**
 * The keys of the local store in its key-value store. A value's key carries its place and name,
 * so a value whose index entry was lost can be recovered whole.
 */
import { sharedBy } from './indexEntry';
import type { Scope } from './model';
import { parseScopeKey, scopeKey } from './scope';
import { nameProblem } from './validation';

export const STORE_PREFIX = 'notebook-secrets/';
export const VALUE_PREFIX = `${STORE_PREFIX}value/`;

/** Where a secret's name is unique: its scope key, or `personal@<owner>` for a shared one. */
export function placeKey(scope: Scope, owner?: string): string {
  return scope.kind === 'personal' && owner ? `personal@${owner}` : scopeKey(scope);
}

export function valueKey(scope: Scope, name: string, owner?: string): string {
  return `${VALUE_PREFIX}${placeKey(scope, owner)}/${name}`;
}

/** The value key of an index entry. */
export function valueKeyOf(entry: {
  scope: Scope;
  name: string;
  owner?: string | undefined;
}): string {
  return valueKey(entry.scope, entry.name, sharedBy(entry));
}

/** The place and name a value key stands for; undefined for any other key. */
export function parseValueKey(
  key: string,
): { scope: Scope; name: string; owner?: string } | undefined {
  if (!key.startsWith(VALUE_PREFIX)) return undefined;
  const rest = key.slice(VALUE_PREFIX.length);
  const slash = rest.lastIndexOf('/');
  const place = rest.slice(0, slash);
  const name = rest.slice(slash + 1);
  if (nameProblem(name)) return undefined;
  const shared = /^personal@(.+)$/.exec(place);
  if (shared) return { scope: { kind: 'personal' }, name, owner: shared[1]! };
  const scope = parseScopeKey(place);
  return scope ? { scope, name } : undefined;
}
