/**
 * The local store's index in memory, and its layout in the key-value store: the entries split
 * into chunks of at most CHUNK_CAPACITY, each chunk one key, so that no write grows with the
 * catalogue. An entry keeps its chunk and slot for its life (a sync that gives it the server's id
 * or a new name changes it in place), so every change of one entry is one atomic write of one
 * chunk; new entries fill free slots. Lookups by id and by name are maps; everything else the
 * store asks (what is not in step with the server) is kept as it changes, never recounted.
 */
import { EntryPool, inStep, type IndexEntry } from './indexEntry';
import { STORE_PREFIX, valueKeyOf } from './storeKeys';

/** The single-key index of earlier versions: read once, moved into chunks, deleted. */
export const INDEX_KEY = `${STORE_PREFIX}index`;
export const CHUNK_PREFIX = `${STORE_PREFIX}index/`;
/** Entries per chunk at most: a chunk of typical entries is about 50 KB of JSON. */
export const CHUNK_CAPACITY = 128;

/** See IndexChunks.prints (a fingerprint is never negative). */
const READ_UNHASHED = -1;

export function chunkKey(n: number): string {
  return `${CHUNK_PREFIX}${n}`;
}

/** The chunk number of a chunk key; undefined for any other key. */
export function chunkNumber(key: string): number | undefined {
  if (!key.startsWith(CHUNK_PREFIX)) return undefined;
  const rest = key.slice(CHUNK_PREFIX.length);
  return /^(0|[1-9][0-9]{0,5})$/.test(rest) ? Number(rest) : undefined;
}

/** A chunk as stored. */
export function chunkJson(entries: readonly IndexEntry[]): string {
  return JSON.stringify({ version: 2, secrets: entries });
}

/**
 * The entries of a stored chunk or of an index of earlier versions (`{"version":1|2,"secrets":
 * [...]}`); an entry that does not parse is left out (its value is recovered on load). Undefined
 * when the text is not such a file at all.
 */
export function readEntries(raw: string, pool: EntryPool): IndexEntry[] | undefined {
  let file: unknown;
  try {
    file = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof file !== 'object' || file === null) return undefined;
  const { version, secrets } = file as { version?: unknown; secrets?: unknown };
  if ((version !== 1 && version !== 2) || !Array.isArray(secrets)) return undefined;
  const entries: IndexEntry[] = [];
  for (const raw of secrets) {
    const entry = pool.read(raw);
    if (entry) entries.push(entry);
  }
  return entries;
}

/** What one change did to the index: the entry it replaced or removed, and the one it put. */
export interface IndexChange {
  before: IndexEntry | undefined;
  after: IndexEntry | undefined;
}

export class IndexChunks {
  readonly pool = new EntryPool();
  /** Chunk n's entries by slot; undefined: a free slot. */
  private chunks: (IndexEntry | undefined)[][] = [];
  private counts: number[] = [];
  /** Where each entry is: chunk * CHUNK_CAPACITY + slot. */
  private readonly slots = new Map<string, number>();
  /**
   * Entries by name: one, or those of that name in several places. Built on the first lookup by
   * name, not at load: a load of 100,000 entries need not pay for a map the view never asks.
   */
  private byName: Map<string, IndexEntry | IndexEntry[]> | undefined;
  /** Ids of the entries that are not the server's copy as last synced (see inStep). */
  private readonly unsynced = new Set<string>();
  private readonly dirty = new Set<number>();
  /**
   * A hash of each chunk's text as last written or checked, to tell another window's write;
   * READ_UNHASHED for a chunk as read at load, not hashed then (hashing every chunk was a tenth of
   * a load of 100,000 entries), and checked against its entries if another window writes it.
   */
  private readonly prints: (number | undefined)[] = [];
  /** The first chunk that may have a free slot. */
  private open = 0;
  private listed: IndexEntry[] | undefined;

  get size(): number {
    return this.slots.size;
  }

  get(id: string): IndexEntry | undefined {
    const at = this.slots.get(id);
    return at === undefined ? undefined : this.at(at);
  }

  /** Every entry, in the order of their places; the same array until the next change. */
  list(): readonly IndexEntry[] {
    if (!this.listed) {
      const all: IndexEntry[] = [];
      for (const chunk of this.chunks) for (const entry of chunk) if (entry) all.push(entry);
      this.listed = all;
    }
    return this.listed;
  }

  /** The entries of that name, in any place. */
  named(name: string): readonly IndexEntry[] {
    const found = this.names().get(name);
    return found === undefined ? [] : Array.isArray(found) ? found : [found];
  }

  /** The entry whose value is kept under `key`. */
  atKey(key: string): IndexEntry | undefined {
    const name = key.slice(key.lastIndexOf('/') + 1);
    return this.named(name).find((e) => valueKeyOf(e) === key);
  }

  /** The entries that are not in step with the server (pending, conflicted, never synced). */
  unsyncedEntries(): IndexEntry[] {
    return [...this.unsynced]
      .map((id) => this.slots.get(id)!)
      .sort((a, b) => a - b)
      .map((at) => this.at(at)!);
  }

  /**
   * Puts `entry` in the place of `replaces` (an entry the server gave a new id), else in its own,
   * else in a free slot. The entry is stored compact (see EntryPool).
   */
  set(entry: IndexEntry, replaces?: string): IndexChange {
    const compact = this.pool.entry(entry);
    let at = replaces === undefined ? undefined : this.slots.get(replaces);
    const own = this.slots.get(entry.id);
    let before: IndexEntry | undefined;
    if (at !== undefined) {
      before = this.take(at);
      // An entry that already had the new id is the same secret: one stays.
      if (own !== undefined && own !== at) this.take(own);
    } else if (own !== undefined) {
      at = own;
      before = this.take(at);
    } else {
      at = this.freeSlot();
    }
    this.place(at, compact);
    return { before, after: compact };
  }

  remove(id: string): IndexChange {
    const at = this.slots.get(id);
    return { before: at === undefined ? undefined : this.take(at), after: undefined };
  }

  /**
   * Adds the entries of stored chunk `n` (at load; `text` as stored). An id met twice (a crash
   * between two chunk writes) keeps its higher version; the chunk is then marked to be written
   * again.
   */
  loadChunk(n: number, entries: readonly IndexEntry[], text?: string): void {
    while (this.chunks.length <= n) {
      this.chunks.push([]);
      this.counts.push(0);
    }
    this.prints[n] = text === undefined ? undefined : READ_UNHASHED;
    let rewrite = false;
    for (const entry of entries) {
      const seenAt = this.slots.get(entry.id);
      if (seenAt !== undefined) {
        rewrite = true;
        if (this.at(seenAt)!.version >= entry.version) continue;
        this.take(seenAt);
      }
      const chunk = this.chunks[n]!;
      if (chunk.length < CHUNK_CAPACITY) this.place(n * CHUNK_CAPACITY + chunk.length, entry);
      else {
        rewrite = true;
        this.place(this.freeSlot(), entry);
      }
    }
    if (!rewrite) this.dirty.delete(n);
  }

  /**
   * Whether `text` is what chunk `n` holds as last written or read here. A chunk read at load is
   * compared with its entries as this version writes them: the same text when it was written by
   * this version and not changed since (a window told of writes it had already loaded). Any other
   * text counts as changed, which costs reading the chunk again, never an entry.
   */
  isCurrent(n: number, text: string | undefined): boolean {
    const print = this.prints[n];
    if (print !== READ_UNHASHED || text === undefined) {
      return print === (text === undefined ? undefined : fingerprint(text));
    }
    const current = text === chunkJson(this.chunks[n]!.filter((e) => e !== undefined));
    if (current) this.prints[n] = fingerprint(text);
    return current;
  }

  /**
   * Replaces chunk `n`'s entries with those another window stored there (`text`); returns what
   * went and came.
   */
  replaceChunk(n: number, entries: readonly IndexEntry[], text: string | undefined): IndexChange[] {
    const changes: IndexChange[] = [];
    for (const entry of this.chunks[n] ?? []) {
      if (entry) changes.push({ before: this.take(this.slots.get(entry.id)!), after: undefined });
    }
    if (n < this.chunks.length) {
      this.chunks[n] = [];
      this.counts[n] = 0;
    }
    const dirty = this.dirty.has(n);
    this.loadChunk(n, entries, text);
    // One chunk read: hashed now, so that the same text told again is current whoever wrote it.
    if (text !== undefined) this.prints[n] = fingerprint(text);
    if (dirty) this.dirty.add(n);
    for (const entry of entries) {
      if (this.get(entry.id) === entry) changes.push({ before: undefined, after: entry });
    }
    return changes;
  }

  /** Marks every chunk to be written (a layout being moved into chunks). */
  markAllDirty(): void {
    for (let n = 0; n < this.chunks.length; n++) this.dirty.add(n);
  }

  /** The writes the changes since the last call need: a chunk's JSON, or undefined to delete it. */
  takeWrites(): { key: string; json: string | undefined }[] {
    const writes = [...this.dirty]
      .sort((a, b) => a - b)
      .map((n) => {
        const entries = this.chunks[n]!.filter((e) => e !== undefined);
        const json = entries.length === 0 ? undefined : chunkJson(entries);
        this.prints[n] = json === undefined ? undefined : fingerprint(json);
        return { key: chunkKey(n), json };
      });
    this.dirty.clear();
    return writes;
  }

  /** The number of chunks in use or free (their keys are chunkKey(0 … n-1)). */
  get chunkCount(): number {
    return this.chunks.length;
  }

  private at(at: number): IndexEntry | undefined {
    return this.chunks[Math.floor(at / CHUNK_CAPACITY)]![at % CHUNK_CAPACITY];
  }

  private place(at: number, entry: IndexEntry): void {
    const n = Math.floor(at / CHUNK_CAPACITY);
    const chunk = this.chunks[n]!;
    const slot = at % CHUNK_CAPACITY;
    while (chunk.length < slot) chunk.push(undefined);
    chunk[slot] = entry;
    this.counts[n]!++;
    this.slots.set(entry.id, at);
    if (this.byName) addNamed(this.byName, entry);
    if (!inStep(entry)) this.unsynced.add(entry.id);
    this.dirty.add(n);
    this.listed = undefined;
  }

  /** Empties slot `at`, returning its entry. */
  private take(at: number): IndexEntry | undefined {
    const n = Math.floor(at / CHUNK_CAPACITY);
    const slot = at % CHUNK_CAPACITY;
    const entry = this.chunks[n]![slot];
    if (!entry) return undefined;
    this.chunks[n]![slot] = undefined;
    this.counts[n]!--;
    this.slots.delete(entry.id);
    if (this.byName) removeNamed(this.byName, entry);
    this.unsynced.delete(entry.id);
    this.dirty.add(n);
    this.open = Math.min(this.open, n);
    this.listed = undefined;
    return entry;
  }

  /** byName, built on first use (the order of a name's entries does not matter: one per place). */
  private names(): Map<string, IndexEntry | IndexEntry[]> {
    if (!this.byName) {
      const byName = new Map<string, IndexEntry | IndexEntry[]>();
      for (const chunk of this.chunks)
        for (const entry of chunk) if (entry) addNamed(byName, entry);
      this.byName = byName;
    }
    return this.byName;
  }

  private freeSlot(): number {
    while (this.open < this.chunks.length && this.counts[this.open]! >= CHUNK_CAPACITY) {
      this.open++;
    }
    if (this.open === this.chunks.length) {
      this.chunks.push([]);
      this.counts.push(0);
    }
    const n = this.open;
    const chunk = this.chunks[n]!;
    const free = chunk.indexOf(undefined);
    return n * CHUNK_CAPACITY + (free === -1 ? chunk.length : free);
  }
}

function addNamed(byName: Map<string, IndexEntry | IndexEntry[]>, entry: IndexEntry): void {
  const named = byName.get(entry.name);
  if (named === undefined) byName.set(entry.name, entry);
  else if (Array.isArray(named)) named.push(entry);
  else byName.set(entry.name, [named, entry]);
}

function removeNamed(byName: Map<string, IndexEntry | IndexEntry[]>, entry: IndexEntry): void {
  const named = byName.get(entry.name);
  if (named === entry) byName.delete(entry.name);
  else if (Array.isArray(named)) {
    const rest = named.filter((e) => e !== entry);
    byName.set(entry.name, rest.length === 1 ? rest[0]! : rest);
  }
}

/** FNV-1a over the text's UTF-16 units: tells one stored chunk from another. */
function fingerprint(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
