/**
 * Secrets kept on this machine: each value in a secure key-value store (VS Code SecretStorage, the
 * OS keyring), and their metadata, never values, in an index kept in the same store in chunks.
 *
 * Keys:
 *   notebook-secrets/index/<n>                  {"version":2,"secrets":[IndexEntry…]}, at most 128
 *   notebook-secrets/value/<place>/<name>       {"value":"…","encoding":"text"|"base64"}
 *   notebook-secrets/index                      the one-key index of earlier versions (see load())
 *
 * An entry is known by its id (the server's, or a local one until the server gives its own). Its
 * place is its scope key (`personal`, `project:ml`, `team:data`), or `personal@alice` for alice's
 * personal secret shared with you: the entry then carries `owner: "alice"`. Names are unique per
 * place, as on the server, so your own `DB_PASSWORD` and alice's can be kept side by side.
 *
 * Value keys carry place and name, so a value whose index entry was lost can be recovered whole.
 * Every write stores the value before the index and deletes the value before the index entry, and
 * an entry's change is one write of its chunk (see IndexChunks): a crash in between leaves a state
 * that load() repairs or reports, never one that drops data.
 */
import * as z from './zod';
import { InvalidInput, NameTaken, SecretNotFound, SecretsError } from './errors';
import { sharedBy, type IndexEntry } from './indexEntry';
import {
  INDEX_KEY,
  IndexChunks,
  chunkKey,
  chunkNumber,
  readEntries,
  type IndexChange,
} from './indexChunks';
import { CreateSecret, Encoding, type Scope, type SecretValue, UpdateSecret } from './model';
import type { KeyValueSecretStore } from './keyValueStore';
import { MAX_VALUE_BYTES } from './limits';
import { resolveByPrecedence, type ResolveOptions } from './scope';
import { VALUE_PREFIX, parseValueKey, valueKey, valueKeyOf } from './storeKeys';
import { planSync, type SyncStep } from './syncSteps';
import { assertValidDescription, assertValueSize, nameProblem } from './validation';

export { sharedBy, type IndexEntry } from './indexEntry';
export { CHUNK_CAPACITY, CHUNK_PREFIX, INDEX_KEY, chunkKey } from './indexChunks';
export { STORE_PREFIX, VALUE_PREFIX, placeKey, valueKey, valueKeyOf } from './storeKeys';
export type { SyncStep } from './syncSteps';

const ValueEnvelope = z.object({ value: z.string(), encoding: Encoding });

/** Writes to the key-value store in flight at once. */
const WRITES_AT_ONCE = 32;

/** What load() found and did; names only. */
export interface IntegrityReport {
  /** Values found without an index entry, given a fresh entry. */
  recovered: string[];
  /** Index entries whose value is gone (kept, and shown to the user as broken). */
  missingValues: string[];
  /** The index could not be parsed and was rebuilt from the stored values. */
  rebuiltIndex: boolean;
}

export interface LocalStoreOptions {
  now?: () => Date;
  newId?: () => string;
  /** Recorded as created_by on new secrets. */
  user?: string;
  maxValueBytes?: number;
}

/**
 * What a change did: the entries it removed or replaced (`before`) and those it added or put in
 * their place (`after`). Undefined: anything may have changed (a load).
 */
export interface StoreChange {
  before: readonly IndexEntry[];
  after: readonly IndexEntry[];
}

export type Listener = (change?: StoreChange) => void;

/** Called inside delete(), before anything is removed; sync records the delete durably here. */
export type DeleteHook = (entry: IndexEntry) => Promise<void>;

export class LocalSecretStore {
  private index = new IndexChunks();
  private missing = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<Listener>();
  private deleteHook: DeleteHook | undefined;
  private readonly now: () => Date;
  private readonly newId: () => string;
  private readonly user: string;
  private readonly maxValueBytes: number;

  constructor(
    private readonly kv: KeyValueSecretStore,
    options: LocalStoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? (() => globalThis.crypto.randomUUID());
    this.user = options.user ?? 'me';
    this.maxValueBytes = options.maxValueBytes ?? MAX_VALUE_BYTES;
  }

  onDidChange(listener: Listener): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /**
   * Reads the index and reconciles it with the stored values. Safe to call again at any time. An
   * index of earlier versions (one key) is moved into chunks: every chunk is written, then the old
   * key deleted, so a crash in between leaves the old key, and the next load moves it again.
   */
  load(): Promise<IntegrityReport> {
    return this.exclusive(() => this.loadNow());
  }

  private async loadNow(): Promise<IntegrityReport> {
    const report: IntegrityReport = { recovered: [], missingValues: [], rebuiltIndex: false };
    const keys = await this.kv.keys();
    const index = new IndexChunks();
    // One pass over the keys (a value key per secret): the chunks, the old index, the values.
    const chunkKeys: string[] = [];
    const orphans = new Set<string>();
    let hasLegacy = false;
    for (const key of keys) {
      if (key.startsWith(VALUE_PREFIX)) orphans.add(key);
      else if (key === INDEX_KEY) hasLegacy = true;
      else if (chunkNumber(key) !== undefined) chunkKeys.push(key);
    }
    const legacy = hasLegacy ? await this.kv.get(INDEX_KEY) : undefined;
    if (legacy !== undefined) {
      const entries = readEntries(legacy, index.pool);
      if (!entries) report.rebuiltIndex = true;
      for (const entry of entries ?? []) index.set(entry);
    } else {
      const texts = await Promise.all(chunkKeys.map((k) => this.kv.get(k)));
      chunkKeys.forEach((key, i) => {
        const entries = texts[i] === undefined ? [] : readEntries(texts[i], index.pool);
        if (!entries) report.rebuiltIndex = true;
        index.loadChunk(chunkNumber(key)!, entries ?? [], texts[i]);
      });
    }
    this.missing = new Set();
    for (const entry of index.list()) {
      if (orphans.delete(valueKeyOf(entry))) continue;
      this.missing.add(entry.id);
      report.missingValues.push(entry.name);
    }
    for (const key of orphans) {
      const location = parseValueKey(key);
      const envelope = safeJson((await this.kv.get(key)) ?? '', ValueEnvelope);
      if (!location || !envelope || index.atKey(key)) continue;
      const at = this.now().toISOString();
      index.set({
        id: this.newId(),
        name: location.name,
        scope: location.scope,
        encoding: envelope.encoding,
        type: envelope.encoding === 'base64' ? 'file' : 'generic',
        description: '',
        version: 1,
        created_at: at,
        updated_at: at,
        created_by: location.owner ?? this.user,
        access: [],
        ...(location.owner !== undefined && { owner: location.owner }),
      });
      report.recovered.push(location.name);
    }
    this.index = index;
    if (legacy !== undefined) {
      index.markAllDirty();
      await this.flush();
      const kept = new Set(Array.from({ length: index.chunkCount }, (_, n) => chunkKey(n)));
      for (const key of chunkKeys) if (!kept.has(key)) await this.kv.delete(key);
      await this.kv.delete(INDEX_KEY);
    } else {
      await this.flush();
    }
    this.fire();
    return report;
  }

  /**
   * Takes in what another window wrote to `keys` (SecretStorage tells each window of every
   * change, its own writes included): only the chunks whose text is not what this window last
   * wrote or read are read again, so a window's own write costs it no reload, and another's costs
   * what it changed. A missing value that came back is no longer marked. The one-key index of an
   * earlier version (another window still running it) is loaded whole, as is an unreadable chunk.
   */
  refresh(keys: Iterable<string>): Promise<IntegrityReport | undefined> {
    return this.exclusive(async () => {
      const changes: IndexChange[] = [];
      // Values to look at: of entries marked missing, and of entries another window brought.
      const values: string[] = [];
      for (const key of new Set(keys)) {
        if (key === INDEX_KEY) return this.loadNow();
        const n = chunkNumber(key);
        if (n === undefined) {
          const entry = key.startsWith(VALUE_PREFIX) ? this.index.atKey(key) : undefined;
          if (entry && this.missing.has(entry.id)) values.push(key);
          continue;
        }
        const text = await this.kv.get(key);
        if (this.index.isCurrent(n, text)) continue;
        const entries = text === undefined ? [] : readEntries(text, this.index.pool);
        if (!entries) return this.loadNow();
        const replaced = this.index.replaceChunk(n, entries, text);
        changes.push(...replaced);
        for (const { after } of replaced) if (after) values.push(valueKeyOf(after));
      }
      for (const key of values) {
        const entry = this.index.atKey(key);
        if (!entry) continue;
        const present = (await this.kv.get(key)) !== undefined;
        if (present === !this.missing.has(entry.id)) continue;
        if (present) this.missing.delete(entry.id);
        else this.missing.add(entry.id);
        changes.push({ before: entry, after: entry });
      }
      await this.flush();
      if (changes.length > 0) this.fire(changes);
      return undefined;
    });
  }

  list(): readonly IndexEntry[] {
    return this.index.list();
  }

  get(id: string): IndexEntry | undefined {
    return this.index.get(id);
  }

  /** The entry of that name in that scope: your own, or with `owner`, the one shared by them. */
  find(name: string, scope: Scope, owner?: string): IndexEntry | undefined {
    return this.index.atKey(valueKey(scope, name, owner));
  }

  /** The entry whose value is kept under `key` (a value key). */
  atValueKey(key: string): IndexEntry | undefined {
    return this.index.atKey(key);
  }

  /**
   * The entries that are not the server's copy as last synced: never pushed, changed here,
   * conflicted or refused. Kept as entries change, so asking costs what it returns.
   */
  unsynced(): IndexEntry[] {
    return this.index.unsyncedEntries();
  }

  /** True when the index lists the secret but its value is gone from the store. */
  isMissingValue(id: string): boolean {
    return this.missing.has(id);
  }

  /** True when sync marked the entry conflicted: both sides are kept until the user chooses. */
  isConflicted(id: string): boolean {
    return Boolean(this.get(id)?.sync?.conflict);
  }

  /**
   * The entry `get_secret(name)` means, by precedence: your own personal > project > team >
   * someone else's personal secret shared with you.
   */
  resolve(name: string, options?: ResolveOptions): IndexEntry | undefined {
    return resolveByPrecedence(this.index.named(name), name, options, sharedBy);
  }

  async getValue(id: string): Promise<SecretValue> {
    const entry = this.require(id);
    const envelope = safeJson((await this.kv.get(valueKeyOf(entry))) ?? '', ValueEnvelope);
    if (!envelope) {
      this.missing.add(id);
      throw new SecretsError(
        'not_found',
        `The value of '${entry.name}' is missing from secret storage. Set a new value or delete the entry.`,
      );
    }
    return { value: envelope.value, encoding: envelope.encoding, version: entry.version };
  }

  async create(input: CreateSecret): Promise<IndexEntry> {
    const problem = nameProblem(typeof input.name === 'string' ? input.name : '');
    if (problem) throw new InvalidInput(problem, 'invalid_name');
    const parsed = parseInput(CreateSecret, input);
    assertValueSize(parsed.value, this.maxValueBytes);
    return this.exclusive(async () => {
      if (this.find(parsed.name, parsed.scope)) throw new NameTaken(parsed.name);
      const at = this.now().toISOString();
      const entry: IndexEntry = {
        id: this.newId(),
        name: parsed.name,
        scope: parsed.scope,
        encoding: parsed.encoding,
        type: parsed.type,
        description: parsed.description,
        version: 1,
        created_at: at,
        updated_at: at,
        created_by: this.user,
        access: [],
      };
      await this.writeValue(entry, parsed.value, parsed.encoding);
      const change = this.index.set(entry);
      await this.flush();
      this.fire([change]);
      return change.after!;
    });
  }

  async update(id: string, input: UpdateSecret): Promise<IndexEntry> {
    const patch = parseInput(UpdateSecret, input);
    if (patch.value !== undefined) assertValueSize(patch.value, this.maxValueBytes);
    if (patch.description !== undefined) assertValidDescription(patch.description);
    return this.exclusive(async () => {
      const current = this.require(id);
      const next: IndexEntry = {
        ...current,
        ...(patch.type !== undefined && { type: patch.type }),
        ...(patch.description !== undefined && { description: patch.description }),
        ...(patch.encoding !== undefined && { encoding: patch.encoding }),
        version: current.version + 1,
        updated_at: this.now().toISOString(),
      };
      if (patch.value !== undefined) {
        await this.writeValue(next, patch.value, next.encoding);
        this.missing.delete(id);
      } else if (next.encoding !== current.encoding) {
        throw new InvalidInput('Changing the encoding needs a new value.');
      }
      const change = this.index.set(next);
      await this.flush();
      this.fire([change]);
      return change.after!;
    });
  }

  delete(id: string): Promise<void> {
    return this.exclusive(async () => {
      const entry = this.require(id);
      if (this.deleteHook) await this.deleteHook(entry);
      await this.kv.delete(valueKeyOf(entry));
      const change = this.index.remove(id);
      this.missing.delete(id);
      await this.flush();
      this.fire([change]);
    });
  }

  /** Sync: lets the sync engine record a delete durably before it happens (undefined: none). */
  setDeleteHook(hook: DeleteHook | undefined): void {
    this.deleteHook = hook;
  }

  /**
   * Sync: applies steps from the server in one exclusive section (see planSync), writing values
   * first and the index once at the end. Returns, per step, whether it applied.
   */
  applySync(steps: readonly SyncStep[]): Promise<boolean[]> {
    return this.exclusive(async () => {
      const plan = planSync(
        {
          get: (id) => this.index.get(id),
          idAt: (key) => this.index.atKey(key)?.id,
          isMissing: (id) => this.missing.has(id),
        },
        steps,
        this.maxValueBytes,
      );
      // Stores of different keys go together (a SecretStorage write is a round trip); a value
      // moved along with its entry waits for those before it, which may have written its key.
      const inFlight = new Map<string, PromiseLike<void>>();
      const settle = async () => {
        await Promise.all(inFlight.values());
        inFlight.clear();
      };
      for (const write of plan.writes) {
        if (write.kind === 'copy' || inFlight.has(write.key) || inFlight.size >= WRITES_AT_ONCE) {
          await settle();
        }
        if (write.kind === 'store') {
          const { value, encoding } = write.value;
          inFlight.set(write.key, this.kv.store(write.key, JSON.stringify({ value, encoding })));
        } else {
          const moved = await this.kv.get(write.from);
          if (moved !== undefined) await this.kv.store(write.to, moved);
        }
      }
      await settle();
      // Values of removed entries go before the index entry does (see the file comment).
      for (let i = 0; i < plan.deletes.length; i += WRITES_AT_ONCE) {
        await Promise.all(
          plan.deletes.slice(i, i + WRITES_AT_ONCE).map((key) => this.kv.delete(key)),
        );
      }
      const changes = plan.edits.map((edit) =>
        edit.kind === 'remove'
          ? this.index.remove(edit.id)
          : this.index.set(edit.entry, edit.replaces),
      );
      for (const [id, missing] of plan.missing) {
        if (missing) this.missing.add(id);
        else this.missing.delete(id);
      }
      if (plan.results.some(Boolean)) {
        await this.flush();
        this.fire(changes);
      }
      return plan.results;
    });
  }

  private require(id: string): IndexEntry {
    const entry = this.get(id);
    if (!entry) throw new SecretNotFound(id);
    return entry;
  }

  private async writeValue(entry: IndexEntry, value: string, encoding: Encoding): Promise<void> {
    await this.kv.store(valueKeyOf(entry), JSON.stringify({ value, encoding }));
  }

  /** Writes the chunks changed since the last flush, one key each. */
  private async flush(): Promise<void> {
    const writes = this.index.takeWrites();
    for (let i = 0; i < writes.length; i += WRITES_AT_ONCE) {
      await Promise.all(
        writes
          .slice(i, i + WRITES_AT_ONCE)
          .map(({ key, json }) =>
            json === undefined ? this.kv.delete(key) : this.kv.store(key, json),
          ),
      );
    }
  }

  /** Tells listeners what `changes` did, or, without them, that anything may have changed. */
  private fire(changes?: readonly IndexChange[]): void {
    const change = changes && {
      before: changes.flatMap((c) => (c.before ? [c.before] : [])),
      after: changes.flatMap((c) => (c.after ? [c.after] : [])),
    };
    for (const listener of this.listeners) listener(change);
  }

  /** Runs writes one at a time so concurrent commands cannot overwrite each other's index. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function safeJson<T>(raw: string, schema: z.ZodMiniType<T>): T | undefined {
  try {
    const result = schema.safeParse(JSON.parse(raw));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

/** Parses input with the model's schema and turns the first issue into a clear, value-free error. */
function parseInput<T>(schema: z.ZodMiniType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join('.') || 'input';
  const code = field === 'name' ? 'invalid_name' : 'invalid_input';
  throw new InvalidInput(`${capitalizeField(field)}: ${issue?.message ?? 'invalid'}`, code);
}

function capitalizeField(field: string): string {
  return field.charAt(0).toUpperCase() + field.slice(1);
}
