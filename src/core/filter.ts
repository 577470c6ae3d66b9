/** Search, type filter and grouping for lists of secret metadata (the tree, the CLI, the server). */
import type { SecretMetadata, SecretType } from './model';
import { SCOPE_LABELS, SCOPE_ORDER } from './scope';

export interface SecretFilter {
  /** Case-insensitive substring of the name or description. */
  query?: string;
  /** Only these types; empty or absent means all. */
  types?: readonly SecretType[];
}

export function isFilterActive(filter: SecretFilter): boolean {
  return Boolean(filter.query?.trim()) || (filter.types?.length ?? 0) > 0;
}

export function matchesFilter(
  secret: Pick<SecretMetadata, 'name' | 'description' | 'type'>,
  filter: SecretFilter,
): boolean {
  if (filter.types?.length && !filter.types.includes(secret.type)) return false;
  const query = filter.query?.trim().toLowerCase();
  if (!query) return true;
  return (
    secret.name.toLowerCase().includes(query) || secret.description.toLowerCase().includes(query)
  );
}

export function filterSecrets<T extends Pick<SecretMetadata, 'name' | 'description' | 'type'>>(
  secrets: readonly T[],
  filter: SecretFilter,
): T[] {
  return secrets.filter((s) => matchesFilter(s, filter));
}

export type GroupBy = 'scope' | 'type' | 'none';

export interface SecretGroup<T> {
  key: string;
  label: string;
  items: T[];
}

const TYPE_ORDER: readonly string[] = ['generic', 'password', 'key', 'token', 'file'];

/** Groups in a fixed order (scopes by precedence, types by the model's order); names sorted within. */
export function groupSecrets<T extends Pick<SecretMetadata, 'name' | 'type' | 'scope'>>(
  secrets: readonly T[],
  by: GroupBy,
): SecretGroup<T>[] {
  const sorted = [...secrets].sort((a, b) => a.name.localeCompare(b.name));
  if (by === 'none') return [{ key: 'all', label: 'All', items: sorted }];
  const groups = new Map<string, SecretGroup<T>>();
  const rank = new Map<string, readonly [number, string]>();
  for (const secret of sorted) {
    // One group per project and per team ("Team data"): their secrets answer to different people.
    const { kind } = secret.scope;
    const id = secret.scope.kind === 'personal' ? '' : secret.scope.id;
    const key = by === 'scope' ? (id ? `${kind}:${id}` : kind) : secret.type;
    let group = groups.get(key);
    if (!group) {
      const label =
        by === 'scope' ? `${SCOPE_LABELS[kind]}${id ? ` ${id}` : ''}` : capitalize(secret.type);
      groups.set(key, (group = { key, label, items: [] }));
      rank.set(
        key,
        by === 'scope' ? [SCOPE_ORDER.indexOf(kind), id] : [TYPE_ORDER.indexOf(secret.type), ''],
      );
    }
    group.items.push(secret);
  }
  return [...groups.values()].sort((a, b) => {
    const [ra, ia] = rank.get(a.key)!;
    const [rb, ib] = rank.get(b.key)!;
    return ra - rb || ia.localeCompare(ib);
  });
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
