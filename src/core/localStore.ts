/**
 * Secrets kept on this machine: each value in a secure key-value store (VS Code SecretStorage, the
 * OS keyring), and their metadata, never values, in one index entry of the same store.
 *
 * Keys:
 *   notebook-secrets/index                      {"version":1,"secrets":[SecretMetadata…]}
 *   notebook-secrets/value/<place>/<name>       {"value":"…","encoding":"text"|"base64"}
 *
 * An entry is known by its id (the server's, or a local one until the server gives its own). Its
 * place is its scope key (`personal`, `project:ml`, `team:data`), or `personal@alice` for alice's
 * personal secret shared with you: the entry then carries `owner: "alice"`. Names are unique per
 * place, as on the server, so your own `DB_PASSWORD` and alice's can be kept side by side.
 *
 * Value keys carry place and name, so a value whose index entry was lost can be recovered whole.
 * Every write stores the value before the index and deletes the value before the index entry: a
 * crash in between leaves a state that load() repairs or reports, never one that drops data.
 */
import * as z from 'zod';
import { InvalidInput, NameTaken, SecretNotFound, SecretsError } from './errors';
import { IndexEntry, sharedBy } from './indexEntry';
import { CreateSecret, Encoding, type Scope, type SecretValue, UpdateSecret } from './model';
import type { KeyValueSecretStore } from './keyValueStore';
import { MAX_VALUE_BYTES } from './limits';
import { resolveByPrecedence, sameScope, type ResolveOptions } from './scope';
import { STORE_PREFIX, VALUE_PREFIX, parseValueKey, placeKey, valueKeyOf } from './storeKeys';
import { planSync, type IndexEdit, type SyncStep } from './syncSteps';
import { assertValidDescription, assertValueSize, nameProblem } from './validation';

export { sharedBy, type IndexEntry } from './indexEntry';
export { STORE_PREFIX, VALUE_PREFIX, placeKey, valueKey, valueKeyOf } from './storeKeys';
export type { SyncStep } from './syncSteps';

export const INDEX_KEY = `${STORE_PREFIX}index`;

const IndexFile = z.object({ version: z.literal(1), secrets: z.array(IndexEntry) });
const ValueEnvelope = z.object({ value: z.string(), encoding: Encoding });

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

export type Listener = () => void;

/** Called inside delete(), before anything is removed; sync records the delete durably here. */
export type DeleteHook = (entry: IndexEntry) => Promise<void>;

export class LocalSecretStore {
  private entries: IndexEntry[] = [];
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

  /** Reads the index and reconciles it with the stored values. Safe to call again at any time. */
  load(): Promise<IntegrityReport> {
    return this.exclusive(async () => {
      const report: IntegrityReport = { recovered: [], missingValues: [], rebuiltIndex: false };
      const raw = await this.kv.get(INDEX_KEY);
      let entries: IndexEntry[] = [];
      if (raw !== undefined) {
        const parsed = safeJson(raw, IndexFile);
        if (parsed) entries = parsed.secrets;
        else report.rebuiltIndex = true;
      }
      const valueKeys = new Set((await this.kv.keys()).filter((k) => k.startsWith(VALUE_PREFIX)));
      const indexed = new Set<string>();
      this.missing = new Set();
      for (const entry of entries) {
        const key = valueKeyOf(entry);
        indexed.add(key);
        if (!valueKeys.has(key)) {
          this.missing.add(entry.id);
          report.missingValues.push(entry.name);
        }
      }
      for (const key of valueKeys) {
        if (indexed.has(key)) continue;
        const location = parseValueKey(key);
        const envelope = safeJson((await this.kv.get(key)) ?? '', ValueEnvelope);
        if (!location || !envelope) continue;
        const at = this.now().toISOString();
        entries.push({
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
      this.entries = entries;
      if (report.recovered.length > 0 || report.rebuiltIndex) await this.writeIndex();
      this.fire();
      return report;
    });
  }

  list(): readonly IndexEntry[] {
    return this.entries;
  }

  get(id: string): IndexEntry | undefined {
    return this.entries.find((e) => e.id === id);
  }

  /** The entry of that name in that scope: your own, or with `owner`, the one shared by them. */
  find(name: string, scope: Scope, owner?: string): IndexEntry | undefined {
    const place = placeKey(scope, owner);
    return this.entries.find(
      (e) =>
        e.name === name && sameScope(e.scope, scope) && placeKey(e.scope, sharedBy(e)) === place,
    );
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
    return resolveByPrecedence(this.entries, name, options, sharedBy);
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
      this.entries = [...this.entries, entry];
      await this.writeIndex();
      this.fire();
      return entry;
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
      this.entries = this.entries.map((e) => (e.id === id ? next : e));
      await this.writeIndex();
      this.fire();
      return next;
    });
  }

  delete(id: string): Promise<void> {
    return this.exclusive(async () => {
      const entry = this.require(id);
      if (this.deleteHook) await this.deleteHook(entry);
      await this.kv.delete(valueKeyOf(entry));
      this.entries = this.entries.filter((e) => e.id !== id);
      this.missing.delete(id);
      await this.writeIndex();
      this.fire();
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
      const byId = new Map(this.entries.map((e) => [e.id, e] as const));
      const keyOwner = new Map(this.entries.map((e) => [valueKeyOf(e), e.id] as const));
      const plan = planSync(
        {
          get: (id) => byId.get(id),
          idAt: (key) => keyOwner.get(key),
          isMissing: (id) => this.missing.has(id),
        },
        steps,
        this.maxValueBytes,
      );
      for (const write of plan.writes) {
        if (write.kind === 'store') {
          const { value, encoding } = write.value;
          await this.kv.store(write.key, JSON.stringify({ value, encoding }));
        } else {
          const moved = await this.kv.get(write.from);
          if (moved !== undefined) await this.kv.store(write.to, moved);
        }
      }
      // Values of removed entries go before the index entry does (see the file comment).
      for (const key of plan.deletes) await this.kv.delete(key);
      this.entries = applyEdits(this.entries, plan.edits);
      for (const [id, missing] of plan.missing) {
        if (missing) this.missing.add(id);
        else this.missing.delete(id);
      }
      if (plan.results.some(Boolean)) {
        await this.writeIndex();
        this.fire();
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

  private async writeIndex(): Promise<void> {
    await this.kv.store(INDEX_KEY, JSON.stringify({ version: 1, secrets: this.entries }));
  }

  private fire(): void {
    for (const listener of this.listeners) listener();
  }

  /** Runs writes one at a time so concurrent commands cannot overwrite each other's index. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** The index after `edits`: a replacing entry takes the place of the one it replaces. */
function applyEdits(entries: readonly IndexEntry[], edits: readonly IndexEdit[]): IndexEntry[] {
  const order: (string | undefined)[] = entries.map((e) => e.id);
  const position = new Map(order.map((id, i) => [id!, i] as const));
  const byId = new Map(entries.map((e) => [e.id, e] as const));
  for (const edit of edits) {
    if (edit.kind === 'remove') {
      order[position.get(edit.id)!] = undefined;
      position.delete(edit.id);
      byId.delete(edit.id);
      continue;
    }
    const { id } = edit.entry;
    const at = position.get(edit.replaces ?? id);
    if (edit.replaces !== undefined && at !== undefined) {
      position.delete(edit.replaces);
      byId.delete(edit.replaces);
      order[at] = id;
      position.set(id, at);
    } else if (at === undefined) {
      position.set(id, order.length);
      order.push(id);
    }
    byId.set(id, edit.entry);
  }
  return order.filter((id) => id !== undefined).map((id) => byId.get(id)!);
}

function safeJson<T>(raw: string, schema: z.ZodType<T>): T | undefined {
  try {
    const result = schema.safeParse(JSON.parse(raw));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

/** Parses input with the model's schema and turns the first issue into a clear, value-free error. */
function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
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
