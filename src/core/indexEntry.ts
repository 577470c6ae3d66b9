/**
 * An entry of the local store's index: a secret's metadata (never its value), plus what this
 * machine records about it: whose secret it is when someone else shared their personal secret
 * (`owner`), and where the copy stands with the team server (`sync`).
 */
import * as z from './zod';
import { lazySchema } from './lazySchema';
import { MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH } from './limits';
import { NAME_PATTERN, SECRET_TYPES, SecretMetadata, type Grant, type Scope } from './model';

export const ConflictKind = lazySchema(() =>
  z.enum([
    /** Edited here and on the server since the last sync. */
    'both_edited',
    /** Created here while a secret of the same name and scope was created on the server. */
    'both_created',
    /** Deleted here while it was changed on the server (the local copy holds theirs). */
    'deleted_here',
    /** Edited here while it was deleted on the server, or access to it was lost. */
    'deleted_there',
    /** The server refused the local edit (e.g. you are a reader). */
    'rejected',
  ]),
);
export type ConflictKind = z.infer<typeof ConflictKind>;

export const ConflictInfo = lazySchema(() =>
  z.object({
    kind: ConflictKind,
    /** The server's side: its metadata, or null when it is gone for this user. */
    remote: z.nullable(SecretMetadata),
    reason: z.optional(z.enum(['deleted', 'access_lost'])),
    detected_at: z.string(),
  }),
);
export type ConflictInfo = z.infer<typeof ConflictInfo>;

export const SyncInfo = lazySchema(() =>
  z.object({
    /** The server version this copy is based on; null when the server does not have it yet. */
    base: z.nullable(z.number().check(z.int())),
    /** The entry's local `version` when it was last in step with the server. */
    lv: z.number().check(z.int()),
    conflict: z.optional(ConflictInfo),
    /** A push of local version `lv` failed for good (bad input, too large…); retried after an edit. */
    error: z.optional(
      z.object({ lv: z.number().check(z.int()), code: z.string(), message: z.string() }),
    ),
  }),
);
export type SyncInfo = z.infer<typeof SyncInfo>;

/**
 * Entries keep fields this version does not know (written by a newer version). A malformed `sync`
 * or `owner` reads as absent, as for a secret never synced, rather than making the index unreadable.
 */
export const IndexEntry = lazySchema(() =>
  z.looseObject({
    ...SecretMetadata.shape,
    /** The owner (user id) of someone else's personal secret shared with you. */
    owner: z.catch(z.optional(z.string().check(z.minLength(1))), undefined),
    /** Absent for a secret that was never pushed. */
    sync: z.catch(z.optional(SyncInfo), undefined),
  }),
);
export type IndexEntry = z.infer<typeof IndexEntry>;

/** The fields a sync step may set on an entry in place; `undefined` removes the field. */
export type IndexPatch = { [K in 'sync' | 'role']?: IndexEntry[K] | undefined };

/**
 * The owner of someone else's personal secret shared with you (their user id); undefined for your
 * own secrets and for project and team secrets.
 */
export function sharedBy(entry: { scope: Scope; owner?: string | undefined }): string | undefined {
  return entry.scope.kind === 'personal' && entry.owner ? entry.owner : undefined;
}

/** Whether an entry is the server's copy as last synced: pushed, no conflict, no local change since. */
export function inStep(entry: IndexEntry): boolean {
  const info = entry.sync;
  return info !== undefined && info.base !== null && !info.conflict && entry.version === info.lv;
}

/** The local state of a secret with respect to the server. */
export type SyncMark = 'local' | 'pending' | 'synced' | 'conflict' | 'error';

export function syncMarkOf(entry: IndexEntry): SyncMark {
  const info = entry.sync;
  if (info?.conflict) return 'conflict';
  if (info?.error && info.error.lv === entry.version) return 'error';
  if (!info || info.base === null || entry.version !== info.lv) return 'pending';
  return 'synced';
}

const ENTRY_KEYS = new Set([
  'id',
  'name',
  'encoding',
  'type',
  'description',
  'scope',
  'version',
  'created_at',
  'updated_at',
  'created_by',
  'access',
  'role',
  'owner',
  'sync',
]);
const ENCODINGS = new Set(['text', 'base64']);
const TYPES = new Set<string>(SECRET_TYPES);
const ROLES = new Set(['owner', 'reader']);

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasOnly(value: Plain, keys: readonly string[]): boolean {
  for (const key in value) if (!keys.includes(key)) return false;
  return true;
}

const isInt = (value: unknown): value is number => Number.isSafeInteger(value);
const isText = (value: unknown, min = 0): value is string =>
  typeof value === 'string' && value.length >= min;

function isScope(value: unknown): boolean {
  if (!isPlain(value)) return false;
  if (value.kind === 'personal') return hasOnly(value, ['kind']);
  return (
    (value.kind === 'project' || value.kind === 'team') &&
    isText(value.id, 1) &&
    hasOnly(value, ['kind', 'id'])
  );
}

function isGrant(value: unknown): boolean {
  if (!isPlain(value) || !hasOnly(value, ['principal', 'role']) || !ROLES.has(value.role as string))
    return false;
  const principal = value.principal;
  return (
    isPlain(principal) &&
    hasOnly(principal, ['kind', 'id']) &&
    (principal.kind === 'user' || principal.kind === 'team') &&
    isText(principal.id, 1)
  );
}

/**
 * The entry as IndexEntry would parse it, when it has the common shape exactly (known fields, a
 * plain sync mark); undefined for anything else, which IndexEntry then parses. Loading 100,000
 * entries through the schema alone took longer than the whole load may.
 */
export function plainEntry(raw: unknown): IndexEntry | undefined {
  if (!isPlain(raw)) return undefined;
  for (const key in raw) if (!ENTRY_KEYS.has(key)) return undefined;
  const { name, sync, owner, access, role, version } = raw;
  const valid =
    isText(raw.id, 1) &&
    typeof name === 'string' &&
    name.length <= MAX_NAME_LENGTH &&
    NAME_PATTERN.test(name) &&
    ENCODINGS.has(raw.encoding as string) &&
    TYPES.has(raw.type as string) &&
    isText(raw.description) &&
    raw.description.length <= MAX_DESCRIPTION_LENGTH &&
    isScope(raw.scope) &&
    isInt(version) &&
    version >= 1 &&
    isText(raw.created_at) &&
    isText(raw.updated_at) &&
    isText(raw.created_by) &&
    Array.isArray(access) &&
    access.every(isGrant) &&
    (role === undefined || ROLES.has(role as string)) &&
    (owner === undefined || isText(owner, 1)) &&
    (sync === undefined ||
      (isPlain(sync) &&
        hasOnly(sync, ['base', 'lv']) &&
        (sync.base === null || isInt(sync.base)) &&
        isInt(sync.lv)));
  return valid ? (raw as IndexEntry) : undefined;
}

function sameScope(a: Scope, b: Scope): boolean {
  if (a.kind === 'personal' || b.kind === 'personal') return a.kind === b.kind;
  return a.kind === b.kind && a.id === b.id;
}

function sameGrants(a: readonly Grant[], b: readonly Grant[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (
      x.role !== y.role ||
      x.principal.kind !== y.principal.kind ||
      x.principal.id !== y.principal.id
    ) {
      return false;
    }
  }
  return true;
}

/**
 * Keeps one copy of what many entries share (scopes, access lists, plain sync marks, short
 * strings) and builds every entry in one shape, with the optional fields always present: the local
 * store holds a team's whole catalogue in the extension host's memory. The shared parts are frozen.
 */
export class EntryPool {
  private readonly strings = new Map<string, string>();
  private readonly shared = new Map<string, object>();
  private readonly syncs = new Map<number | null, Map<number, SyncInfo>>();
  private lastScope: Scope | undefined;
  private lastAccess: Grant[] | undefined;

  /** The entry, compact; fields a newer version wrote are kept after the known ones. */
  entry(e: IndexEntry): IndexEntry {
    const entry: IndexEntry = {
      id: e.id,
      name: e.name,
      encoding: this.string(e.encoding),
      type: this.string(e.type),
      description: e.description,
      scope: this.scope(e.scope),
      version: e.version,
      created_at: e.created_at,
      updated_at: e.updated_at === e.created_at ? e.created_at : e.updated_at,
      created_by: this.string(e.created_by),
      access: this.access(e.access),
      role: e.role === undefined ? undefined : this.string(e.role),
      owner: e.owner === undefined ? undefined : this.string(e.owner),
      sync: e.sync === undefined ? undefined : this.sync(e.sync),
    };
    for (const key in e) if (!ENTRY_KEYS.has(key)) entry[key] = e[key];
    return entry;
  }

  /**
   * Reads an entry of a stored index, freshly parsed from JSON and not shared: IndexEntry's
   * result, compact; undefined when invalid. An entry of the common shape is kept as parsed, its
   * shared parts swapped for the pool's.
   */
  read(raw: unknown): IndexEntry | undefined {
    const plain = plainEntry(raw);
    if (plain) {
      plain.scope = this.scope(plain.scope);
      plain.access = this.access(plain.access);
      plain.created_by = this.string(plain.created_by);
      if (plain.updated_at === plain.created_at) plain.updated_at = plain.created_at;
      if (plain.sync !== undefined) plain.sync = this.sync(plain.sync);
      if (plain.owner !== undefined) plain.owner = this.string(plain.owner);
      return plain;
    }
    const parsed = IndexEntry.safeParse(raw);
    return parsed.success ? this.entry(parsed.data) : undefined;
  }

  private string<T extends string>(text: T): T {
    const known = this.strings.get(text);
    if (known !== undefined) return known as T;
    this.strings.set(text, text);
    return text;
  }

  private one<T extends object>(key: string, make: () => T): T {
    let known = this.shared.get(key) as T | undefined;
    if (known === undefined) {
      known = make();
      this.shared.set(key, Object.freeze(known));
    }
    return known;
  }

  private scope(scope: Scope): Scope {
    const last = this.lastScope;
    if (last && sameScope(last, scope)) return last;
    const made: Scope =
      scope.kind === 'personal'
        ? this.one('personal', () => ({ kind: 'personal' }))
        : this.one(`${scope.kind}:${scope.id}`, () => ({ kind: scope.kind, id: scope.id }));
    this.lastScope = made;
    return made;
  }

  private access(access: readonly Grant[]): Grant[] {
    // Entries in a row mostly have the same grants (their owner's): compared without building.
    const last = this.lastAccess;
    if (last && sameGrants(last, access)) return last;
    const key =
      access.length === 1
        ? `grant ${access[0]!.principal.kind}:${access[0]!.principal.id} ${access[0]!.role}`
        : `grants ${JSON.stringify(access)}`;
    this.lastAccess = this.one(key, () =>
      access.map((g) => {
        const principal = Object.freeze({ kind: g.principal.kind, id: g.principal.id });
        return Object.freeze({ principal, role: g.role });
      }),
    );
    return this.lastAccess;
  }

  /** A plain sync mark, shared; found by its two numbers, without making a key of them. */
  private sync(sync: SyncInfo): SyncInfo {
    if (sync.conflict !== undefined || sync.error !== undefined) return sync;
    const { base, lv } = sync;
    let byLv = this.syncs.get(base);
    if (byLv === undefined) this.syncs.set(base, (byLv = new Map<number, SyncInfo>()));
    let known = byLv.get(lv);
    if (known === undefined) byLv.set(lv, (known = Object.freeze({ base, lv })));
    return known;
  }
}
