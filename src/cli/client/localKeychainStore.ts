/**
 * The local store for people without a team server: each value in the OS keychain (through
 * @napi-rs/keyring: Secret Service on Linux, Keychain on macOS, Credential Manager on Windows),
 * and beside it a value-free index, `local-secrets.json` (0600, written atomically), that lists
 * the names with their type, encoding, description and version.
 *
 * Where no keychain is available it says so and what to install; it never falls back to a file.
 * Writes go to the keychain first, then to the index, so an acknowledged write is in both; a
 * delete removes the value first, so a crash in between leaves a name without a value, never a
 * value without a name. Each write holds a lock file beside the index (see ./fileLock.ts), so two
 * CLI processes writing at once never lose each other's change.
 *
 * The index keeps each secret's version history without values (number, change, time and which
 * fields changed); the keychain keeps only the current value, so no version can be restored.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as z from '../../core/zod';
import { Encoding, SecretName, SecretType } from '../../core/model';
import { withFileLock } from './fileLock';
import { writePrivateFile } from './privateFile';

/** The keychain service the values are stored under (the account is the secret's name). */
export const LOCAL_KEYCHAIN_SERVICE = 'notebook-secrets-local';
export const LOCAL_INDEX_FILE = 'local-secrets.json';

/** No OS keychain to keep values in. The message says what to install. */
export class KeychainUnavailableError extends Error {
  override readonly name = 'KeychainUnavailableError';
}

/** The part of a keychain the store uses; the OS one in the CLI, a map in unit tests. */
export interface Keychain {
  get(account: string): string | undefined;
  set(account: string, value: string): void;
  /** True when there was something to delete. */
  delete(account: string): boolean;
}

interface NativeEntry {
  getPassword(): string | null | undefined;
  setPassword(password: string): void;
  deletePassword(): boolean | void;
}
type EntryConstructor = new (service: string, account: string) => NativeEntry;

export function keychainUnavailable(why: string): KeychainUnavailableError {
  return new KeychainUnavailableError(
    `No OS keychain is available for local secrets (${why}). ` +
      'On Linux, run a Secret Service in your session and unlock it: install gnome-keyring ' +
      '(Debian/Ubuntu: `sudo apt-get install gnome-keyring`) or KeePassXC with its Secret ' +
      'Service integration; on a machine without a desktop, start one inside `dbus-run-session`. ' +
      'Or sign in to a team server with `notebook-secrets login`. ' +
      'Values are never kept in a plaintext file instead.',
  );
}

/** The OS keychain through @napi-rs/keyring. Every failure becomes KeychainUnavailableError. */
export function osKeychain(
  service = LOCAL_KEYCHAIN_SERVICE,
  env: NodeJS.ProcessEnv = process.env,
): Keychain {
  if (env.NOTEBOOK_SECRETS_KEYRING === '0') {
    throw keychainUnavailable('it is turned off by NOTEBOOK_SECRETS_KEYRING=0');
  }
  let Entry: EntryConstructor;
  try {
    const require = createRequire(__filename);
    ({ Entry } = require('@napi-rs/keyring') as { Entry: EntryConstructor });
  } catch {
    throw keychainUnavailable('the @napi-rs/keyring module does not load on this platform');
  }
  const call = <T>(work: () => T): T => {
    try {
      return work();
    } catch (error) {
      // The keyring's messages name the platform's problem, never a value.
      throw keychainUnavailable(error instanceof Error ? error.message : String(error));
    }
  };
  return {
    get: (account) => call(() => new Entry(service, account).getPassword() ?? undefined),
    set: (account, value) => call(() => new Entry(service, account).setPassword(value)),
    delete: (account) =>
      call(() => {
        const entry = new Entry(service, account);
        if ((entry.getPassword() ?? undefined) === undefined) return false;
        entry.deletePassword();
        return true;
      }),
  };
}

/**
 * Fails with KeychainUnavailableError when there is no keychain to write to. A read is not
 * enough: without a Secret Service, reading an absent entry answers "none" instead of failing.
 */
export function probeKeychain(keychain: Keychain): void {
  // One entry per process: processes probing at once must not delete each other's entry.
  const account = `__notebook_secrets_probe_${process.pid}__`;
  keychain.set(account, 'probe');
  keychain.delete(account);
}

/** How many versions of a secret the index remembers (the oldest are dropped first). */
export const LOCAL_HISTORY_LIMIT = 100;

/** One version of a local secret, as `history` shows it: never its value. */
export const LocalVersion = z.object({
  version: z.number().check(z.int(), z.minimum(1)),
  kind: z.enum(['create', 'update']),
  at: z.string(),
  /** What this write changed (a create lists what it set). */
  changed: z.array(z.enum(['value', 'type', 'encoding', 'description'])),
});
export type LocalVersion = z.infer<typeof LocalVersion>;

export const LocalEntry = z.object({
  name: SecretName,
  type: SecretType,
  encoding: Encoding,
  description: z.optional(z.string()),
  version: z.number().check(z.int(), z.minimum(1)),
  created_at: z.string(),
  updated_at: z.string(),
  /** Oldest first; absent in an index written before history was kept. */
  history: z.optional(z.array(LocalVersion)),
});
export type LocalEntry = z.infer<typeof LocalEntry>;

const IndexFile = z.object({ version: z.literal(1), secrets: z.array(LocalEntry) });
type IndexFile = z.infer<typeof IndexFile>;

export interface LocalSetInput {
  value: string;
  encoding?: Encoding;
  type?: SecretType;
  description?: string;
}

export class LocalKeychainStore {
  constructor(
    private readonly dir: string,
    private readonly keychain: Keychain,
    private readonly now: () => Date = () => new Date(),
    /** How long a write waits for another process's lock before giving up. */
    private readonly lockTimeoutMs = 30_000,
  ) {}

  get indexPath(): string {
    return join(this.dir, LOCAL_INDEX_FILE);
  }

  /** The names in the index, sorted (without their history). */
  list(): LocalEntry[] {
    return this.readIndex()
      .secrets.map(withoutHistory)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A name's metadata (without its history). */
  entry(name: string): LocalEntry | undefined {
    const entry = this.readIndex().secrets.find((e) => e.name === name);
    return entry && withoutHistory(entry);
  }

  /** The value and its metadata, or undefined when the name is not in the index. */
  get(name: string): { entry: LocalEntry; value: string } | undefined {
    const entry = this.entry(name);
    if (!entry) return undefined;
    const value = this.keychain.get(name);
    if (value === undefined) {
      throw new KeychainUnavailableError(
        `'${name}' is listed in ${this.indexPath} but its value is not in the OS keychain ` +
          `(service ${LOCAL_KEYCHAIN_SERVICE}). Set it again, or delete it.`,
      );
    }
    return { entry, value };
  }

  /** Creates or updates `name`; fields not given keep their values on an update. */
  set(name: string, input: LocalSetInput): { entry: LocalEntry; created: boolean } {
    if (!SecretName.safeParse(name).success) {
      throw new Error(
        `'${name.slice(0, 130)}' is not a valid secret name (letters, digits, underscores; not starting with a digit).`,
      );
    }
    return this.locked(() => {
      const index = this.readIndex();
      const before = index.secrets.find((e) => e.name === name);
      // Read before it is replaced; the lock keeps another process from changing it meanwhile.
      const valueChanged = !before || this.readQuietly(name) !== input.value;
      this.keychain.set(name, input.value);
      const at = this.now().toISOString();
      const description = input.description ?? before?.description;
      const entry: LocalEntry = {
        name,
        type: input.type ?? before?.type ?? (input.encoding === 'base64' ? 'file' : 'generic'),
        encoding: input.encoding ?? 'text',
        ...(description !== undefined && { description }),
        version: (before?.version ?? 0) + 1,
        created_at: before?.created_at ?? at,
        updated_at: at,
      };
      const changed: LocalVersion['changed'] = [];
      if (valueChanged) changed.push('value');
      if (!before || entry.type !== before.type) changed.push('type');
      if (before && entry.encoding !== before.encoding) changed.push('encoding');
      if (description !== before?.description) changed.push('description');
      entry.history = [
        ...(before ? historyOf(before) : []),
        {
          version: entry.version,
          kind: before ? ('update' as const) : ('create' as const),
          at,
          changed,
        },
      ].slice(-LOCAL_HISTORY_LIMIT);
      const secrets = index.secrets.filter((e) => e.name !== name);
      secrets.push(entry);
      this.writeIndex({ version: 1, secrets });
      return { entry: withoutHistory(entry), created: !before };
    });
  }

  private readQuietly(name: string): string | undefined {
    try {
      return this.keychain.get(name);
    } catch {
      return undefined;
    }
  }

  /** The versions of `name`, newest first, or undefined when it is not in the index. */
  history(name: string): LocalVersion[] | undefined {
    const entry = this.readIndex().secrets.find((e) => e.name === name);
    return entry ? [...historyOf(entry)].reverse() : undefined;
  }

  /** Removes the value from the keychain, then the name from the index. False if absent. */
  delete(name: string): boolean {
    return this.locked(() => {
      const index = this.readIndex();
      const listed = index.secrets.some((e) => e.name === name);
      const hadValue = this.keychain.delete(name);
      if (listed)
        this.writeIndex({ version: 1, secrets: index.secrets.filter((e) => e.name !== name) });
      return listed || hadValue;
    });
  }

  /** Runs a read-modify-write of the index holding the lock beside it. */
  private locked<T>(work: () => T): T {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    return withFileLock(`${this.indexPath}.lock`, work, { timeoutMs: this.lockTimeoutMs });
  }

  private readIndex(): IndexFile {
    if (!existsSync(this.indexPath)) return { version: 1, secrets: [] };
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.indexPath, 'utf8'));
    } catch {
      throw new Error(`The local index at ${this.indexPath} is not valid JSON; fix or delete it.`);
    }
    const parsed = IndexFile.safeParse(raw);
    if (!parsed.success) {
      throw new Error(
        `The local index at ${this.indexPath} has an unexpected shape; fix or delete it.`,
      );
    }
    return parsed.data;
  }

  /**
   * A new temp file (0600, created exclusively: never through a link planted at its name) + fsync
   * + rename, then fsync of the folder: all or nothing, and durable.
   */
  private writeIndex(index: IndexFile): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writePrivateFile(this.indexPath, `${JSON.stringify(index, null, 2)}\n`);
    try {
      const dirFd = openSync(dirname(this.indexPath), 'r');
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
    } catch {
      // Some platforms (Windows) cannot fsync a folder; the rename is still atomic.
    }
  }
}

/** An entry's versions, oldest first; for an index written before history was kept, the last. */
function historyOf(entry: LocalEntry): LocalVersion[] {
  if (entry.history?.length) return entry.history;
  return [
    {
      version: entry.version,
      kind: entry.version === 1 ? 'create' : 'update',
      at: entry.updated_at,
      changed: ['value'],
    },
  ];
}

function withoutHistory(entry: LocalEntry): LocalEntry {
  const rest = { ...entry };
  delete rest.history;
  return rest;
}
