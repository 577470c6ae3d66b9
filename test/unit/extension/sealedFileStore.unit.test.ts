/**
 * The sealed files that keep the local store in VS Code for the Web: real files in a temporary
 * folder, SecretStorage in memory. A kill of a real process mid-write is in
 * test/integration/storage/sealedFileStore.int.test.ts.
 */
import { randomUUID } from 'node:crypto';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INDEX_KEY, LocalSecretStore, STORE_PREFIX, valueKey } from '../../../src/core';
import {
  SEALING_KEY,
  SealedFileStore,
  fileName,
} from '../../../src/extension/storage/sealedFileStore';
import { MemoryKeyValueStore } from '../../../src/sync/memoryKeyValueStore';
import { testEntry } from '../../support/entries';
import { fileCount, filesUnder } from '../../support/filesUnder';

const canary = () => `canary-${randomUUID()}`;

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'sealed-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function folder(): string {
  const [dir] = readdirSync(join(root, 'sealed'));
  return join(root, 'sealed', dir!);
}

describe('SealedFileStore', () => {
  it('keeps each key in a file of its own, sealed: no value, in any encoding, on disk', async () => {
    const secrets = new MemoryKeyValueStore();
    const store = new SealedFileStore(secrets, root);
    const value = canary();
    await store.store('notebook-secrets/value/personal/API_KEY', value);
    await store.store('notebook-secrets/index/0', `{"name":"${value}"}`);

    expect(await store.get('notebook-secrets/value/personal/API_KEY')).toBe(value);
    expect((await store.keys()).sort()).toEqual([
      'notebook-secrets/index/0',
      'notebook-secrets/value/personal/API_KEY',
    ]);
    const plain = Buffer.from(value, 'utf8');
    const needles = [
      plain,
      Buffer.from(value, 'utf16le'),
      Buffer.from(plain.toString('base64')),
      Buffer.from(plain.toString('hex')),
    ];
    expect(fileCount(root)).toBe(3); // two keys and the marker of the move from SecretStorage
    const onDisk = filesUnder(root);
    for (const needle of needles) expect(onDisk).not.toContain(needle.toString('latin1'));
    // Only the sealing key is in SecretStorage.
    expect(await secrets.keys()).toEqual([SEALING_KEY]);
    store.dispose();
  });

  it('reads what another instance with the same SecretStorage wrote, and answers undefined for a missing key', async () => {
    const secrets = new MemoryKeyValueStore();
    const first = new SealedFileStore(secrets, root);
    await first.store('notebook-secrets/value/team:t1/DB', 'one');
    first.dispose();
    const second = new SealedFileStore(secrets, root);
    expect(await second.get('notebook-secrets/value/team:t1/DB')).toBe('one');
    expect(await second.get('notebook-secrets/value/team:t1/OTHER')).toBeUndefined();
    await second.delete('notebook-secrets/value/team:t1/DB');
    await second.delete('notebook-secrets/value/team:t1/DB'); // a second delete is no error
    expect(await second.keys()).toEqual([]);
    second.dispose();
  });

  it('keeps writes of one key in the order they were asked for', async () => {
    const store = new SealedFileStore(new MemoryKeyValueStore(), root);
    const key = 'notebook-secrets/value/personal/ORDER';
    const big = 'x'.repeat(1_000_000);
    await Promise.all([store.store(key, big), store.store(key, 'last'), store.delete(key)]);
    expect(await store.get(key)).toBeUndefined();
    await Promise.all([store.delete(key), store.store(key, big), store.store(key, 'last')]);
    expect(await store.get(key)).toBe('last');
    store.dispose();
  });

  it('gives another SecretStorage (another browser profile) a folder of its own, leaving the first one whole', async () => {
    const a = new SealedFileStore(new MemoryKeyValueStore(), root);
    await a.store('notebook-secrets/value/personal/A', 'a');
    a.dispose();
    const b = new SealedFileStore(new MemoryKeyValueStore(), root);
    expect(await b.keys()).toEqual([]);
    await b.store('notebook-secrets/value/personal/B', 'b');
    expect(readdirSync(join(root, 'sealed'))).toHaveLength(2);
    b.dispose();
  });

  it('refuses a file changed on disk, or moved onto another key, with an error that names the key and not the value', async () => {
    const store = new SealedFileStore(new MemoryKeyValueStore(), root);
    const value = canary();
    await store.store('notebook-secrets/value/personal/A', value);
    await store.store('notebook-secrets/value/personal/B', 'b');
    const dir = folder();
    renameSync(
      join(dir, fileName('notebook-secrets/value/personal/A')),
      join(dir, fileName('notebook-secrets/value/personal/B')),
    );
    const error = await store.get('notebook-secrets/value/personal/B').catch((e: Error) => e);
    expect(String(error)).toContain('notebook-secrets/value/personal/B');
    expect(String(error)).toContain('does not open');
    expect(String(error)).not.toContain(value);

    const path = join(dir, fileName('notebook-secrets/value/personal/B'));
    const bytes = readFileSync(path);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
    writeFileSync(path, bytes);
    await expect(store.get('notebook-secrets/value/personal/B')).rejects.toThrow(/does not open/);
    store.dispose();
  });

  it('says so, and touches no file, when the sealing key in SecretStorage is damaged', async () => {
    const secrets = new MemoryKeyValueStore();
    await secrets.store(SEALING_KEY, 'too short');
    const store = new SealedFileStore(secrets, root);
    await expect(store.keys()).rejects.toThrow(/not 32 bytes of base64/);
    expect(fileCount(root)).toBe(0);
    store.dispose();
  });

  it('ignores what a killed write left (a temporary file), keeping the value before it, and removes it once old', async () => {
    const secrets = new MemoryKeyValueStore();
    const first = new SealedFileStore(secrets, root);
    const key = 'notebook-secrets/value/personal/KEPT';
    await first.store(key, 'before');
    first.dispose();
    const old = join(folder(), `${fileName(key)}.tmp-0123456789ab`);
    writeFileSync(old, 'torn');
    const minutesAgo = new Date(Date.now() - 5 * 60_000);
    utimesSync(old, minutesAgo, minutesAgo);
    // Another window's write under way: its temporary file is young, and stays.
    const young = join(folder(), `${fileName(key)}.tmp-ba9876543210`);
    writeFileSync(young, 'under way');
    const second = new SealedFileStore(secrets, root);
    expect(await second.keys()).toEqual([key]);
    expect(await second.get(key)).toBe('before');
    expect(readdirSync(folder()).filter((name) => name.includes('.tmp-'))).toEqual([
      `${fileName(key)}.tmp-ba9876543210`,
    ]);
    second.dispose();
  });

  it('turns any key into a file name and back, and refuses one too long with a clear error', async () => {
    const store = new SealedFileStore(new MemoryKeyValueStore(), root);
    const keys = [
      'notebook-secrets/value/personal@ana.lopez@example.com/API_KEY',
      'notebook-secrets/value/project:ü-ñ 😀/%2F..',
      'notebook-secrets/index/12',
    ];
    for (const key of keys) await store.store(key, key);
    expect((await store.keys()).sort()).toEqual([...keys].sort());
    for (const key of keys) expect(await store.get(key)).toBe(key);
    expect(() => fileName(`notebook-secrets/value/personal/${'X'.repeat(300)}`)).toThrow(
      /too long to be a file name/,
    );
    store.dispose();
  });

  it("tells of each change to a key's file, made by this instance or another", async () => {
    const secrets = new MemoryKeyValueStore();
    const watching = new SealedFileStore(secrets, root);
    await watching.ready();
    const seen = new Set<string>();
    watching.onDidChange((e) => seen.add(e.key));
    const other = new SealedFileStore(secrets, root);
    await other.store('notebook-secrets/index/0', '{}');
    await other.store('notebook-secrets/value/personal/A', 'a');
    await other.delete('notebook-secrets/value/personal/A');
    await expect
      .poll(() => [...seen].sort())
      .toEqual(['notebook-secrets/index/0', 'notebook-secrets/value/personal/A']);
    watching.dispose();
    other.dispose();
  });
});

describe('moving the local store out of SecretStorage', () => {
  /** Today's layout in SecretStorage: secrets made by the local store, and the sync's own keys. */
  async function seeded(secrets: MemoryKeyValueStore, count: number) {
    const local = new LocalSecretStore(secrets);
    await local.load();
    const values = new Map<string, string>();
    for (let i = 0; i < count; i++) {
      const value = canary();
      values.set(`S${i}`, value);
      await local.create({ name: `S${i}`, value, scope: { kind: 'personal' } });
    }
    await secrets.store('notebook-secrets-sync/state', '{"version":1}');
    return values;
  }

  async function expectAll(store: SealedFileStore, values: Map<string, string>) {
    const local = new LocalSecretStore(store);
    const report = await local.load();
    expect(report).toEqual({ recovered: [], missingValues: [], rebuiltIndex: false });
    expect(
      local
        .list()
        .map((s) => s.name)
        .sort(),
    ).toEqual([...values.keys()].sort());
    for (const secret of local.list()) {
      expect((await local.getValue(secret.id)).value).toBe(values.get(secret.name));
    }
  }

  it('moves every key of the local store, then deletes them from SecretStorage, leaving its other keys', async () => {
    const secrets = new MemoryKeyValueStore();
    const values = await seeded(secrets, 300);
    const store = new SealedFileStore(secrets, root);
    await expectAll(store, values);
    await expect
      .poll(async () => (await secrets.keys()).filter((k) => k.startsWith(STORE_PREFIX)))
      .toEqual([]);
    expect((await secrets.keys()).sort()).toEqual([SEALING_KEY, 'notebook-secrets-sync/state']);
    store.dispose();
  });

  it('moves the one-key index of earlier versions too, which the local store then splits', async () => {
    const secrets = new MemoryKeyValueStore();
    const value = canary();
    const old = testEntry('old-1', 'OLD');
    await secrets.store(INDEX_KEY, JSON.stringify({ version: 1, secrets: [old] }));
    await secrets.store(valueKey(old.scope, old.name), JSON.stringify({ value, encoding: 'text' }));
    const store = new SealedFileStore(secrets, root);
    await expectAll(store, new Map([['OLD', value]]));
    expect(await store.keys()).not.toContain(INDEX_KEY);
    store.dispose();
  });

  it('a kill during the move loses nothing: the next open moves everything again', async () => {
    const secrets = new MemoryKeyValueStore();
    const values = await seeded(secrets, 40);
    // The first open is killed after ten of the copies: SecretStorage fails every read after that.
    let reads = 0;
    const dying = {
      get: (key: string) =>
        key !== SEALING_KEY && ++reads > 10
          ? Promise.reject(new Error('killed'))
          : secrets.get(key),
      store: (k: string, v: string) => secrets.store(k, v),
      delete: (k: string) => secrets.delete(k),
      keys: () => secrets.keys(),
    };
    const killed = new SealedFileStore(dying, root);
    await expect(killed.keys()).rejects.toThrow('killed');
    killed.dispose();
    expect((await secrets.keys()).filter((k) => k.startsWith(STORE_PREFIX)).length).toBe(
      40 + 1, // the values and the index chunk, all still in SecretStorage
    );
    const store = new SealedFileStore(secrets, root);
    await expectAll(store, values);
    store.dispose();
  });

  it('after the move, keys left in SecretStorage by an interrupted delete are deleted, never taken back in', async () => {
    const secrets = new MemoryKeyValueStore();
    await seeded(secrets, 3);
    // The first open is killed before its deletes in the background: they all fail.
    const first = new SealedFileStore(
      {
        get: (k) => secrets.get(k),
        store: (k, v) => secrets.store(k, v),
        delete: () => Promise.reject(new Error('killed')),
        keys: () => secrets.keys(),
      },
      root,
    );
    await first.ready();
    first.dispose();
    const left = (await secrets.keys()).filter((k) => k.startsWith(STORE_PREFIX));
    expect(left.length).toBeGreaterThan(0);
    // Meanwhile the user deleted S0 here: its copy still in SecretStorage must not come back.
    const local = new LocalSecretStore(new SealedFileStore(secrets, root));
    await local.load();
    await local.delete(local.list().find((s) => s.name === 'S0')!.id);
    const again = new SealedFileStore(secrets, root);
    await again.ready();
    await expect
      .poll(async () => (await secrets.keys()).filter((k) => k.startsWith(STORE_PREFIX)))
      .toEqual([]);
    const reloaded = new LocalSecretStore(again);
    await reloaded.load();
    expect(
      reloaded
        .list()
        .map((s) => s.name)
        .sort(),
    ).toEqual(['S1', 'S2']);
    again.dispose();
  });
});
