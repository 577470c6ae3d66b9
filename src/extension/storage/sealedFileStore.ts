/**
 * The local store's key-value store in VS Code for the Web (code-server, and vscode.dev with a
 * remote). There SecretStorage is one localStorage entry of the browser, encrypted and written
 * whole on each store, and bounded to a few megabytes: a catalogue of a few thousand secrets makes
 * each store slow and the overflow is lost on reload (docs/architecture.md). Here every key is a
 * file of its own in the extension's global storage, on the machine that runs the extension host,
 * sealed with AES-256-GCM under a key that lives in SecretStorage and nowhere else:
 *
 * - a store costs the same whatever the catalogue holds;
 * - a store writes a temporary file, syncs it, renames it over the old one and syncs the folder,
 *   so a kill at any point leaves the old file or the new one, never a torn one (the temporary
 *   file is ignored, and removed by a later open);
 * - a file is bound to its key (the key is the cipher's associated data): a file copied or renamed
 *   onto another key does not open;
 * - the folder is named after the sealing key, so each browser profile (each SecretStorage) has its
 *   own, as it had its own SecretStorage entry before;
 * - on first open, the local store's keys are moved here from SecretStorage.
 *
 * No `vscode` import: tests drive it with a plain SecretStorage stand-in and real files.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyValueSecretStore } from '../../core/keyValueStore';
import { STORE_PREFIX } from '../../core/storeKeys';

/** The SecretStorage key of the sealing key; outside the local store's prefix, so never moved. */
export const SEALING_KEY = 'notebook-secrets-sealed/key';

export interface ChangeEvent {
  readonly key: string;
}

/** A KeyValueSecretStore that says which key changed, in this window or another, as SecretStorage does. */
export interface WatchedKeyValueStore extends KeyValueSecretStore {
  onDidChange(listener: (e: ChangeEvent) => void): { dispose(): void };
}

const FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Set after every key was moved from SecretStorage; its dot keeps it apart from any key's file. */
const MOVED_MARKER = 'moved-from-secret-storage.done';
const TEMP_MARK = '.tmp-';
/** Room for the temporary suffix within the 255 bytes of a file name. */
const MAX_FILE_NAME = 230;

interface Opened {
  dir: string;
  key: Buffer;
}

export class SealedFileStore implements WatchedKeyValueStore {
  private readonly opened: Promise<Opened>;
  private readonly listeners = new Set<(e: ChangeEvent) => void>();
  /** The last write of each key, so writes of one key land in the order they were asked for. */
  private readonly writes = new Map<string, Promise<unknown>>();
  private watcher: FSWatcher | undefined;
  private disposed = false;

  /**
   * Opens at once in the background: every call waits for it. `root` is the extension's global
   * storage folder; `log` hears of the move from SecretStorage and of a watch that failed.
   */
  constructor(
    /** VS Code's SecretStorage: the sealing key, and the keys moved from there. */
    private readonly secrets: KeyValueSecretStore,
    private readonly root: string,
    private readonly log: (message: string) => void = () => undefined,
  ) {
    this.opened = this.open();
    // Failures reach the caller of the first get/store/keys; this only keeps them handled.
    this.opened.catch(() => undefined);
  }

  /** Settles once the folder is ready and every key was moved from SecretStorage. */
  ready(): Promise<void> {
    return this.opened.then(() => undefined);
  }

  onDidChange(listener: (e: ChangeEvent) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  async get(key: string): Promise<string | undefined> {
    const { dir, key: sealing } = await this.opened;
    await this.writes.get(key)?.catch(() => undefined);
    let sealed: Buffer;
    try {
      sealed = await fs.readFile(join(dir, fileName(key)));
    } catch (error) {
      if (isCode(error, 'ENOENT')) return undefined;
      throw error;
    }
    return unseal(sealing, key, sealed);
  }

  store(key: string, value: string): Promise<void> {
    return this.inOrder(key, async ({ dir, key: sealing }) => {
      await writeDurably(dir, fileName(key), seal(sealing, key, value));
    });
  }

  delete(key: string): Promise<void> {
    return this.inOrder(key, async ({ dir }) => {
      try {
        await fs.unlink(join(dir, fileName(key)));
      } catch (error) {
        if (isCode(error, 'ENOENT')) return;
        throw error;
      }
      await syncFolder(dir);
    });
  }

  async keys(): Promise<string[]> {
    const { dir } = await this.opened;
    const keys: string[] = [];
    for (const name of await fs.readdir(dir)) {
      const key = keyOf(name);
      if (key !== undefined) keys.push(key);
    }
    return keys;
  }

  dispose(): void {
    this.disposed = true;
    this.watcher?.close();
    this.listeners.clear();
  }

  private inOrder(key: string, write: (opened: Opened) => Promise<void>): Promise<void> {
    const previous = this.writes.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(async () => write(await this.opened));
    this.writes.set(key, next);
    void next
      .finally(() => {
        if (this.writes.get(key) === next) this.writes.delete(key);
      })
      .catch(() => undefined);
    return next;
  }

  private async open(): Promise<Opened> {
    const key = await this.sealingKey();
    const folder = createHash('sha256').update(key).digest('hex').slice(0, 16);
    const dir = join(this.root, 'sealed', folder);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await removeLeftovers(dir);
    const opened = { dir, key };
    await this.moveFromSecretStorage(opened);
    this.watch(dir);
    return opened;
  }

  /** The sealing key, made on first use. Two windows making it at once both use the one kept. */
  private async sealingKey(): Promise<Buffer> {
    let saved = await this.secrets.get(SEALING_KEY);
    if (saved === undefined) {
      await this.secrets.store(SEALING_KEY, randomBytes(32).toString('base64'));
      saved = await this.secrets.get(SEALING_KEY);
    }
    const key = Buffer.from(saved ?? '', 'base64');
    if (key.length !== 32) {
      throw new Error(
        `The key that seals the local store (SecretStorage entry ${SEALING_KEY}) is not 32 bytes of base64; the sealed files were left as they are.`,
      );
    }
    return key;
  }

  /**
   * Moves the local store's keys from SecretStorage: every one is copied and synced, then the
   * marker is written, then (in the background, since each delete rewrites the browser's whole
   * entry) they are deleted from SecretStorage. A kill before the marker copies them all again on
   * the next open; after it, the next open deletes what was left. Nothing is copied after the
   * marker: a key left in SecretStorage then is a copy this store already took in.
   */
  private async moveFromSecretStorage(opened: Opened): Promise<void> {
    const old = (await this.secrets.keys()).filter((k) => k.startsWith(STORE_PREFIX));
    const marker = join(opened.dir, MOVED_MARKER);
    if (!(await exists(marker))) {
      for (const key of old) {
        const value = await this.secrets.get(key);
        if (value !== undefined) {
          await writeDurably(opened.dir, fileName(key), seal(opened.key, key, value));
        }
      }
      await writeDurably(opened.dir, MOVED_MARKER, Buffer.alloc(0));
      if (old.length > 0) {
        this.log(
          `Moved ${old.length} key(s) of the local store from SecretStorage to sealed files.`,
        );
      }
    }
    if (old.length > 0) void this.forget(old);
  }

  private async forget(keys: string[]): Promise<void> {
    try {
      for (const key of keys) {
        if (this.disposed) return;
        await this.secrets.delete(key);
      }
    } catch (error) {
      this.log(
        `Could not delete the moved keys from SecretStorage; the next start tries again: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** Other windows' writes (and this one's, as SecretStorage reports them too). */
  private watch(dir: string): void {
    if (this.disposed) return;
    try {
      this.watcher = watch(dir, (_event, name) => {
        const key = name === null ? undefined : keyOf(String(name));
        if (key !== undefined) for (const listener of this.listeners) listener({ key });
      });
      this.watcher.on('error', () => this.watcher?.close());
    } catch (error) {
      this.log(
        `Changes made by other windows show after a reload: the sealed store's folder cannot be watched (${error instanceof Error ? error.message : String(error)}).`,
      );
    }
  }
}

/** A key's file name: letters, digits, `_` and `-` as they are, every other byte as `%XX`. */
export function fileName(key: string): string {
  const name = key.replace(/[^A-Za-z0-9_-]/gu, (c) =>
    [...Buffer.from(c, 'utf8')]
      .map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`)
      .join(''),
  );
  if (Buffer.byteLength(name) > MAX_FILE_NAME) {
    throw new Error(
      `The local store's key for ${JSON.stringify(key)} is too long to be a file name (${name.length} of ${MAX_FILE_NAME} bytes).`,
    );
  }
  return name;
}

/** The key a file stands for; undefined for the marker, temporary files and anything else. */
function keyOf(name: string): string | undefined {
  if (!/^[A-Za-z0-9_%-]+$/.test(name)) return undefined;
  try {
    return decodeURIComponent(name);
  } catch {
    return undefined;
  }
}

function seal(sealing: Buffer, key: string, value: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', sealing, iv);
  cipher.setAAD(Buffer.from(key, 'utf8'));
  const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.of(FORMAT), iv, cipher.getAuthTag(), body]);
}

function unseal(sealing: Buffer, key: string, sealed: Buffer): string {
  const head = 1 + IV_BYTES + TAG_BYTES;
  if (sealed.length < head || sealed[0] !== FORMAT) {
    throw new Error(`The sealed file of ${key} is not in a format this version reads.`);
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealing, sealed.subarray(1, 1 + IV_BYTES));
    decipher.setAAD(Buffer.from(key, 'utf8'));
    decipher.setAuthTag(sealed.subarray(1 + IV_BYTES, head));
    return Buffer.concat([decipher.update(sealed.subarray(head)), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    throw new Error(
      `The sealed file of ${key} does not open with this store's key: it was changed, or copied from another key.`,
    );
  }
}

/** Writes `name` in `dir` so that a kill at any point leaves the old file or the new one. */
async function writeDurably(dir: string, name: string, data: Buffer): Promise<void> {
  const target = join(dir, name);
  const temp = `${target}${TEMP_MARK}${randomBytes(6).toString('hex')}`;
  const handle = await fs.open(temp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, target);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  await syncFolder(dir);
}

/**
 * Makes the renames and unlinks done in `dir` so far durable (where the platform can sync a
 * folder). Writes in flight together share a sync: one asked for while another runs waits for the
 * next, which starts after it and so covers every change made before the call.
 */
function syncFolder(dir: string): Promise<void> {
  const state = folderSyncs.get(dir) ?? { running: undefined, next: undefined };
  folderSyncs.set(dir, state);
  if (!state.running) {
    state.running = syncFolderNow(dir).finally(() => {
      state.running = undefined;
      if (!state.next) folderSyncs.delete(dir);
    });
    return state.running;
  }
  state.next ??= state.running
    .catch(() => undefined)
    .then(() => {
      state.next = undefined;
      return syncFolder(dir);
    });
  return state.next;
}

const folderSyncs = new Map<
  string,
  { running: Promise<void> | undefined; next: Promise<void> | undefined }
>();

async function syncFolderNow(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (error) {
    if (!isCode(error, 'EISDIR') && !isCode(error, 'EPERM') && !isCode(error, 'EINVAL')) {
      throw error;
    }
  } finally {
    await handle?.close();
  }
}

/**
 * Removes what killed writes left behind: temporary files, never renamed, so never part of the
 * store. Only those older than a minute: a younger one may be another window's write under way.
 */
async function removeLeftovers(dir: string): Promise<void> {
  const before = Date.now() - 60_000;
  for (const name of await fs.readdir(dir)) {
    if (!name.includes(TEMP_MARK)) continue;
    const path = join(dir, name);
    const stat = await fs.stat(path).catch(() => undefined);
    if (stat && stat.mtimeMs < before) await fs.rm(path, { force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await fs.access(path);
    return true;
  } catch {
    return false;
  }
}

function isCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}
