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
  return secretMatcher(filter)(secret);
}

/**
 * The only characters whose lower case holds an ASCII character (U+0130 İ → "i̇", U+212A Kelvin
 * sign → "k"). Elsewhere a case-insensitive search for an ASCII query finds exactly what
 * lower-casing both sides would (a non-ASCII character never folds to an ASCII one).
 */
const FOLDS_TO_ASCII = '\u0130\u212a';

/**
 * The filter as one predicate, built once for a list: what the Secrets view runs on every secret
 * at each keystroke. It finds what lower-casing name, description and query would, without a
 * lower-cased copy of each: one case-insensitive search, and lower-casing only a text that holds
 * one of the two characters that fold to ASCII (or for a query that is not ASCII).
 */
export function secretMatcher<T extends Pick<SecretMetadata, 'name' | 'description' | 'type'>>(
  filter: SecretFilter,
): (secret: T) => boolean {
  const types = filter.types?.length ? new Set<string>(filter.types) : undefined;
  const query = filter.query?.trim().toLowerCase();
  if (!query) return types ? (s) => types.has(s.type) : () => true;
  const lowered = (text: string) => text.toLowerCase().includes(query);
  let has = lowered;
  if (/^[ -~]*$/.test(query)) {
    const escaped = query.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const exact = new RegExp(escaped, 'i');
    const either = new RegExp(`${escaped}|[${FOLDS_TO_ASCII}]`, 'i');
    has = (text) => either.test(text) && (exact.test(text) || lowered(text));
  }
  return (s) => (!types || types.has(s.type)) && (has(s.name) || has(s.description));
}

/** Between a name and a description in searchText: a query never matches across it. */
const SEARCH_SEPARATOR = '\n';

/**
 * What the filter searches in a secret, lower-cased once: its name and description, apart. The
 * Secrets view keeps it for each secret, so a keystroke costs one substring search per secret.
 * Lower-cased whole, one flat string: the separator is neither cased nor case-ignorable, so each
 * side lower-cases as it would alone (a final sigma stays final).
 */
export function searchText(secret: Pick<SecretMetadata, 'name' | 'description'>): string {
  return `${secret.name}${SEARCH_SEPARATOR}${secret.description}`.toLowerCase();
}

/**
 * The filter as a predicate over secrets and their searchText: what secretMatcher finds, by one
 * substring search of the lower-cased text. A query holding the separator (a pasted line break)
 * goes to secretMatcher, since it could match across name and description.
 */
export function searchMatcher<T extends Pick<SecretMetadata, 'name' | 'description' | 'type'>>(
  filter: SecretFilter,
): (secret: T, text: string) => boolean {
  const types = filter.types?.length ? new Set<string>(filter.types) : undefined;
  const query = filter.query?.trim().toLowerCase();
  if (query?.includes(SEARCH_SEPARATOR)) return secretMatcher<T>(filter);
  if (!query) return types ? (s) => types.has(s.type) : () => true;
  if (!types) return (_, text) => text.includes(query);
  return (s, text) => types.has(s.type) && text.includes(query);
}

export function filterSecrets<T extends Pick<SecretMetadata, 'name' | 'description' | 'type'>>(
  secrets: readonly T[],
  filter: SecretFilter,
): T[] {
  return secrets.filter(secretMatcher(filter));
}

const collator = new Intl.Collator();

/** What byName compares: a name, and an id to break ties where there is one. */
export type Named = Pick<SecretMetadata, 'name'> & { id?: string };

/** Name order, as `localeCompare` sorts names; ties by id, so the order of entries is total. */
export function byName(a: Named, b: Named): number {
  const ids = a.id === undefined || b.id === undefined ? 0 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  return collator.compare(a.name, b.name) || ids;
}

export type GroupBy = 'scope' | 'type' | 'none';

export interface SecretGroup<T> {
  key: string;
  label: string;
  items: T[];
}

const TYPE_ORDER: readonly string[] = ['generic', 'password', 'key', 'token', 'file'];

/** Groups in a fixed order (scopes by precedence, types by the model's order); names sorted within. */
export function groupSecrets<T extends Named & Pick<SecretMetadata, 'type' | 'scope'>>(
  secrets: readonly T[],
  by: GroupBy,
): SecretGroup<T>[] {
  return groupSorted([...secrets].sort(byName), by);
}

/** The group key of a secret (see groupSecrets). */
export function groupKey(secret: Pick<SecretMetadata, 'type' | 'scope'>, by: GroupBy): string {
  if (by === 'none') return 'all';
  if (by === 'type') return secret.type;
  return secret.scope.kind === 'personal' ? 'personal' : `${secret.scope.kind}:${secret.scope.id}`;
}

/** groupSecrets of a list already in name order (byName), in one pass. */
export function groupSorted<T extends Pick<SecretMetadata, 'type' | 'scope'>>(
  sorted: readonly T[],
  by: GroupBy,
): SecretGroup<T>[] {
  if (by === 'none') return [{ key: 'all', label: 'All', items: [...sorted] }];
  const groups = new Map<string, SecretGroup<T>>();
  const rank = new Map<string, readonly [number, string]>();
  // The group of each scope or type met, by identity: the store shares one scope object among its
  // entries, so most secrets find their group without making its key.
  const known = new Map<unknown, SecretGroup<T>>();
  for (const secret of sorted) {
    const part = by === 'scope' ? secret.scope : secret.type;
    const seen = known.get(part);
    if (seen) {
      seen.items.push(secret);
      continue;
    }
    // One group per project and per team ("Team data"): their secrets answer to different people.
    const { kind } = secret.scope;
    const id = secret.scope.kind === 'personal' ? '' : secret.scope.id;
    const key = groupKey(secret, by);
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
    known.set(part, group);
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
