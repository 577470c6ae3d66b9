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
import {
  CreateSecret,
  Encoding,
  SecretMetadata,
  type Scope,
  type SecretValue,
  UpdateSecret,
} from './model';
import type { KeyValueSecretStore } from './keyValueStore';
import { MAX_VALUE_BYTES } from './limits';
import {
  parseScopeKey,
  resolveByPrecedence,
  sameScope,
  scopeKey,
  type ResolveOptions,
} from './scope';
import { assertValidDescription, assertValueSize, nameProblem } from './validation';

export const STORE_PREFIX = 'notebook-secrets/';
export const INDEX_KEY = `${STORE_PREFIX}index`;
export const VALUE_PREFIX = `${STORE_PREFIX}value/`;

/** Index entries keep fields this version does not know (written by a newer version or by sync). */
const IndexEntry = SecretMetadata.loose();
const IndexFile = z.object({ version: z.literal(1), secrets: z.array(IndexEntry) });
const ValueEnvelope = z.object({ value: z.string(), encoding: Encoding });

/**
 * The owner of someone else's personal secret shared with you (their user id); undefined for your
 * own secrets and for project and team secrets.
 */
export function sharedBy(entry: { scope: Scope; owner?: unknown }): string | undefined {
  return entry.scope.kind === 'personal' && typeof entry.owner === 'string' && entry.owner !== ''
    ? entry.owner
    : undefined;
}

/** Where a secret's name is unique: its scope key, or `personal@<owner>` for a shared one. */
export function placeKey(scope: Scope, owner?: string): string {
  return scope.kind === 'personal' && owner ? `personal@${owner}` : scopeKey(scope);
}

export function valueKey(scope: Scope, name: string, owner?: string): string {
  return `${VALUE_PREFIX}${placeKey(scope, owner)}/${name}`;
}

/** The value key of an index entry. */
export function valueKeyOf(entry: { scope: Scope; name: string; owner?: unknown }): string {
  return valueKey(entry.scope, entry.name, sharedBy(entry));
}

function parseValueKey(key: string): { scope: Scope; name: string; owner?: string } | undefined {
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
export type DeleteHook = (entry: SecretMetadata) => Promise<void>;

/**
 * One step of {@link LocalSecretStore.applySync}: how the sync engine writes what the server says,
 * without bumping versions the way user edits do. `ifVersion` makes a step apply only when the
 * entry still has that local version (a user edit in between wins and is pushed later).
 */
export type SyncStep =
  | {
      kind: 'put';
      /** The entry as it should be stored (id, version and extra sync fields included). */
      entry: SecretMetadata;
      /** The value to store; omit to keep the stored one (metadata-only change). */
      value?: { value: string; encoding: Encoding };
      /** Replace this entry (e.g. a local id that the server gave a new id); default entry.id. */
      replaceId?: string;
      ifVersion?: number;
    }
  | { kind: 'remove'; id: string; ifVersion?: number }
  | { kind: 'patch'; id: string; fields: Record<string, unknown>; ifVersion?: number };

export class LocalSecretStore {
  private entries: SecretMetadata[] = [];
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
      let entries: SecretMetadata[] = [];
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

  list(): readonly SecretMetadata[] {
    return this.entries;
  }

  get(id: string): SecretMetadata | undefined {
    return this.entries.find((e) => e.id === id);
  }

  /** The entry of that name in that scope: your own, or with `owner`, the one shared by them. */
  find(name: string, scope: Scope, owner?: string): SecretMetadata | undefined {
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
    const sync = (this.get(id) as Record<string, unknown> | undefined)?.sync;
    return (
      typeof sync === 'object' && sync !== null && 'conflict' in sync && Boolean(sync.conflict)
    );
  }

  /**
   * The entry `get_secret(name)` means, by precedence: your own personal > project > team >
   * someone else's personal secret shared with you.
   */
  resolve(name: string, options?: ResolveOptions): SecretMetadata | undefined {
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

  async create(input: CreateSecret): Promise<SecretMetadata> {
    const problem = nameProblem(typeof input.name === 'string' ? input.name : '');
    if (problem) throw new InvalidInput(problem, 'invalid_name');
    const parsed = parseInput(CreateSecret, input);
    assertValueSize(parsed.value, this.maxValueBytes);
    return this.exclusive(async () => {
      if (this.find(parsed.name, parsed.scope)) throw new NameTaken(parsed.name);
      const at = this.now().toISOString();
      const entry: SecretMetadata = {
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

  async update(id: string, input: UpdateSecret): Promise<SecretMetadata> {
    const patch = parseInput(UpdateSecret, input);
    if (patch.value !== undefined) assertValueSize(patch.value, this.maxValueBytes);
    if (patch.description !== undefined) assertValidDescription(patch.description);
    return this.exclusive(async () => {
      const current = this.require(id);
      const next: SecretMetadata = {
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
   * Sync: applies steps from the server in one exclusive section, writing values first and the
   * index once at the end. Returns, per step, whether it applied (false: the entry was gone or
   * its version had moved on). A put whose place and name belong to another entry is refused
   * (false) unless that entry is the one it replaces, so a value can never be overwritten unseen.
   * A metadata-only put that moves an entry to another place takes its value along.
   */
  applySync(steps: readonly SyncStep[]): Promise<boolean[]> {
    return this.exclusive(async () => {
      const results: boolean[] = [];
      const byId = new Map(this.entries.map((e) => [e.id, e] as const));
      // Position of each id in the index, so replaced entries keep their place (O(1) per step).
      const order: (string | undefined)[] = this.entries.map((e) => e.id);
      const position = new Map(order.map((id, i) => [id!, i] as const));
      const keyOwner = new Map(this.entries.map((e) => [valueKeyOf(e), e.id] as const));
      const deleteKeys = new Set<string>();
      // Entries a later put of this batch moves to another name, bringing their value along
      // (renames on the server: A→B while B→A). Their name is free for an earlier put.
      const vacating = new Set<string>();
      for (const step of steps) {
        if (step.kind !== 'put' || !step.value) continue;
        const current = byId.get(step.replaceId ?? step.entry.id);
        if (!current || (step.ifVersion !== undefined && current.version !== step.ifVersion))
          continue;
        if (valueKeyOf(current) !== valueKeyOf(step.entry)) vacating.add(current.id);
      }
      const apply = async (step: SyncStep): Promise<boolean> => {
        if (step.kind === 'put') {
          const targetId = step.replaceId ?? step.entry.id;
          const current = byId.get(targetId);
          vacating.delete(targetId);
          if (step.ifVersion !== undefined && current?.version !== step.ifVersion) return false;
          const key = valueKeyOf(step.entry);
          const owner = keyOwner.get(key);
          const clash =
            owner !== undefined &&
            owner !== targetId &&
            owner !== step.entry.id &&
            !vacating.has(owner);
          if (clash || (!current && step.value === undefined)) return false;
          if (step.value) {
            assertValueSize(step.value.value, this.maxValueBytes);
            await this.kv.store(
              key,
              JSON.stringify({ value: step.value.value, encoding: step.value.encoding }),
            );
            this.missing.delete(step.entry.id);
          }
          deleteKeys.delete(key);
          if (current) {
            const oldKey = valueKeyOf(current);
            if (oldKey !== key && !step.value) {
              const moved = await this.kv.get(oldKey);
              if (moved !== undefined) await this.kv.store(key, moved);
            }
            if (oldKey !== key) {
              deleteKeys.add(oldKey);
              // Another entry of this batch may have taken the old name already.
              if (keyOwner.get(oldKey) === targetId) keyOwner.delete(oldKey);
            }
            byId.delete(targetId);
            const at = position.get(targetId)!;
            position.delete(targetId);
            order[at] = step.entry.id;
            position.set(step.entry.id, at);
            if (this.missing.delete(targetId) && !step.value) this.missing.add(step.entry.id);
          } else {
            position.set(step.entry.id, order.length);
            order.push(step.entry.id);
          }
          keyOwner.set(key, step.entry.id);
          byId.set(step.entry.id, step.entry);
          return true;
        }
        const current = byId.get(step.id);
        if (!current || (step.ifVersion !== undefined && current.version !== step.ifVersion)) {
          return false;
        }
        if (step.kind === 'remove') {
          const key = valueKeyOf(current);
          deleteKeys.add(key);
          keyOwner.delete(key);
          byId.delete(step.id);
          order[position.get(step.id)!] = undefined;
          position.delete(step.id);
          this.missing.delete(step.id);
          return true;
        }
        const next = { ...current, ...step.fields, id: current.id };
        for (const [field, value] of Object.entries(step.fields)) {
          if (value === undefined) delete (next as Record<string, unknown>)[field];
        }
        byId.set(step.id, next);
        return true;
      };
      for (const step of steps) results.push(await apply(step));
      // Values of removed entries go before the index entry does (see the file comment); a name
      // another entry took over in this batch keeps its (new) value.
      for (const key of deleteKeys) if (!keyOwner.has(key)) await this.kv.delete(key);
      this.entries = order.filter((id) => id !== undefined).map((id) => byId.get(id)!);
      if (results.some(Boolean)) {
        await this.writeIndex();
        this.fire();
      }
      return results;
    });
  }

  private require(id: string): SecretMetadata {
    const entry = this.get(id);
    if (!entry) throw new SecretNotFound(id);
    return entry;
  }

  private async writeValue(
    entry: SecretMetadata,
    value: string,
    encoding: Encoding,
  ): Promise<void> {
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
