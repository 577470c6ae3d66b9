import { beforeEach, describe, expect, it } from 'vitest';
import {
  INDEX_KEY,
  chunkKey,
  LocalSecretStore,
  MAX_VALUE_BYTES,
  sharedBy,
  valueKey,
  type KeyValueSecretStore,
} from '../../../src/core';
import { storedIndex } from '../../support/storedIndex';

class MemoryStore implements KeyValueSecretStore {
  data = new Map<string, string>();
  writes: string[] = [];
  get(key: string) {
    return Promise.resolve(this.data.get(key));
  }
  store(key: string, value: string) {
    this.writes.push(key);
    this.data.set(key, value);
    return Promise.resolve();
  }
  delete(key: string) {
    this.data.delete(key);
    return Promise.resolve();
  }
  keys() {
    return Promise.resolve([...this.data.keys()]);
  }
}

const CANARY = 'canary-7f3a9c-never-print-me';
let kv: MemoryStore;
let store: LocalSecretStore;
let ids = 0;

beforeEach(async () => {
  kv = new MemoryStore();
  ids = 0;
  store = new LocalSecretStore(kv, {
    newId: () => `id-${++ids}`,
    now: () => new Date('2026-11-23T10:00:00Z'),
    user: 'ada',
  });
  await store.load();
});

describe('LocalSecretStore', () => {
  it('creates a secret: the value in its own key, metadata without value in the index', async () => {
    const secret = await store.create({
      name: 'OPENAI_API_KEY',
      value: CANARY,
      type: 'key',
      description: 'chat',
    });
    expect(secret).toMatchObject({
      id: 'id-1',
      name: 'OPENAI_API_KEY',
      type: 'key',
      encoding: 'text',
      description: 'chat',
      scope: { kind: 'personal' },
      version: 1,
      created_by: 'ada',
      created_at: '2026-11-23T10:00:00.000Z',
    });
    expect(storedIndex(kv.data).text).not.toContain(CANARY);
    expect(JSON.parse(kv.data.get(valueKey({ kind: 'personal' }, 'OPENAI_API_KEY'))!)).toEqual({
      value: CANARY,
      encoding: 'text',
    });
    // The value is written before the index, so a crash between the two loses nothing.
    expect(kv.writes).toEqual([valueKey({ kind: 'personal' }, 'OPENAI_API_KEY'), chunkKey(0)]);
    expect(await store.getValue(secret.id)).toEqual({
      value: CANARY,
      encoding: 'text',
      version: 1,
    });
  });

  it('survives a restart', async () => {
    await store.create({ name: 'A', value: 'x' });
    const again = new LocalSecretStore(kv);
    await again.load();
    expect(again.list().map((s) => s.name)).toEqual(['A']);
  });

  it('refuses a taken name, an invalid name and an oversize value with clear errors', async () => {
    await store.create({ name: 'A', value: 'x' });
    await expect(store.create({ name: 'A', value: 'y' })).rejects.toThrow(
      "A secret named 'A' already exists",
    );
    await expect(store.create({ name: '9lives', value: 'y' })).rejects.toMatchObject({
      code: 'invalid_name',
      message: expect.stringContaining('cannot start with a digit'),
    });
    await expect(
      store.create({ name: 'BIG', value: 'é'.repeat(MAX_VALUE_BYTES / 2 + 1) }),
    ).rejects.toMatchObject({
      code: 'value_too_large',
    });
    await expect(
      store.create({ name: 'T', value: 'x', type: 'nope' as 'key' }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/^Type:/),
    });
    expect(store.list().map((s) => s.name)).toEqual(['A']);
  });

  it('updates bump the version and keep what was not changed', async () => {
    const secret = await store.create({ name: 'A', value: 'one', description: 'd' });
    const updated = await store.update(secret.id, { value: 'two' });
    expect(updated).toMatchObject({ version: 2, description: 'd' });
    expect((await store.getValue(secret.id)).value).toBe('two');
    expect(await store.update(secret.id, { type: 'token' })).toMatchObject({
      version: 3,
      type: 'token',
    });
    await expect(store.update(secret.id, { encoding: 'base64' })).rejects.toThrow(
      /needs a new value/,
    );
  });

  it('deletes the value and the entry, and frees the name', async () => {
    const secret = await store.create({ name: 'A', value: 'x' });
    await store.delete(secret.id);
    expect(store.list()).toEqual([]);
    expect([...kv.data.keys()]).toEqual([]);
    await expect(store.create({ name: 'A', value: 'again' })).resolves.toMatchObject({ name: 'A' });
  });

  it('serializes concurrent writes so none is lost from the index', async () => {
    await Promise.all(
      Array.from({ length: 25 }, (_, i) => store.create({ name: `S${i}`, value: `${i}` })),
    );
    const again = new LocalSecretStore(kv);
    await again.load();
    expect(again.list()).toHaveLength(25);
  });

  it('recovers a value whose index entry is missing, and says so', async () => {
    await store.create({ name: 'KEPT', value: 'x' });
    await kv.store(
      valueKey({ kind: 'personal' }, 'ORPHAN'),
      JSON.stringify({ value: CANARY, encoding: 'base64' }),
    );
    const report = await store.load();
    expect(report).toEqual({ recovered: ['ORPHAN'], missingValues: [], rebuiltIndex: false });
    expect(store.find('ORPHAN', { kind: 'personal' })).toMatchObject({
      type: 'file',
      encoding: 'base64',
    });
    expect(storedIndex(kv.data).text).toContain('ORPHAN');
    expect(storedIndex(kv.data).text).not.toContain(CANARY);
  });

  it('reports an entry whose value is gone and keeps it until the user decides', async () => {
    const secret = await store.create({ name: 'GONE', value: 'x' });
    kv.data.delete(valueKey({ kind: 'personal' }, 'GONE'));
    expect(await store.load()).toEqual({
      recovered: [],
      missingValues: ['GONE'],
      rebuiltIndex: false,
    });
    expect(store.isMissingValue(secret.id)).toBe(true);
    await expect(store.getValue(secret.id)).rejects.toThrow(/missing from secret storage/);
    await store.update(secret.id, { value: 'restored' });
    expect(store.isMissingValue(secret.id)).toBe(false);
  });

  it('rebuilds a corrupt index from the stored values', async () => {
    await store.create({ name: 'A', value: 'x' });
    await store.create({ name: 'B', value: 'y' });
    kv.data.set(chunkKey(0), '{not json');
    const report = await store.load();
    expect(report.rebuiltIndex).toBe(true);
    expect(report.recovered.sort()).toEqual(['A', 'B']);
    expect(storedIndex(kv.data).entries).toHaveLength(2);
  });

  it('leaves out a chunk entry that does not parse, recovers its value, and reads no other keys', async () => {
    await store.create({ name: 'A', value: 'x' });
    await store.create({ name: 'B', value: CANARY, description: 'kept' });
    const index = JSON.parse(kv.data.get(chunkKey(0))!);
    index.secrets[0].version = 'one';
    kv.data.set(chunkKey(0), JSON.stringify(index));
    // Keys beside the store's own that load must neither take for chunks nor for values.
    for (const key of ['notebook-secrets/index/01', 'notebook-secrets/indexes', 'other/value/x']) {
      kv.data.set(key, '{not json');
    }
    const report = await store.load();
    expect(report).toEqual({ recovered: ['A'], missingValues: [], rebuiltIndex: false });
    expect(store.list().map((e) => [e.name, e.description, e.version])).toEqual([
      ['B', 'kept', 1],
      ['A', '', 1],
    ]);
    expect(JSON.stringify(report)).not.toContain(CANARY);
    expect(kv.data.get('notebook-secrets/index/01')).toBe('{not json');
  });

  it('rebuilds a corrupt index of an earlier version from the stored values', async () => {
    await store.create({ name: 'A', value: 'x' });
    kv.data.delete(chunkKey(0));
    kv.data.set(INDEX_KEY, '{not json');
    const report = await store.load();
    expect(report).toMatchObject({ rebuiltIndex: true, recovered: ['A'] });
    expect(kv.data.has(INDEX_KEY)).toBe(false);
    expect(storedIndex(kv.data).entries).toMatchObject([{ name: 'A' }]);
  });

  it('keeps index fields written by a newer version', async () => {
    const secret = await store.create({ name: 'A', value: 'x' });
    const index = JSON.parse(kv.data.get(chunkKey(0))!);
    index.secrets[0].labels = ['ml'];
    kv.data.set(chunkKey(0), JSON.stringify(index));
    await store.load();
    await store.update(secret.id, { description: 'new' });
    expect(storedIndex(kv.data).entries[0]!.labels).toEqual(['ml']);
  });

  it('reads a sync field or owner it cannot parse as absent, keeping the entry', async () => {
    const secret = await store.create({ name: 'A', value: 'x', description: 'kept' });
    const index = JSON.parse(kv.data.get(chunkKey(0))!);
    Object.assign(index.secrets[0], { sync: { base_version: 4 }, owner: 7 });
    kv.data.set(chunkKey(0), JSON.stringify(index));
    expect(await store.load()).toMatchObject({ rebuiltIndex: false, recovered: [] });
    const entry = store.get(secret.id)!;
    expect(entry).toMatchObject({ name: 'A', description: 'kept' });
    expect(entry.sync).toBeUndefined();
    expect(entry.owner).toBeUndefined();
  });

  it('resolves by precedence and notifies listeners', async () => {
    let changes = 0;
    store.onDidChange(() => changes++);
    await store.create({ name: 'K', value: 'team', scope: { kind: 'team', id: 't' } });
    await store.create({ name: 'K', value: 'mine' });
    expect(store.resolve('K')?.scope).toEqual({ kind: 'personal' });
    expect(changes).toBe(2);
  });

  describe("someone else's personal secret shared with you (owner)", () => {
    const shared = (id: string, name: string, owner: string) => ({
      id,
      name,
      scope: { kind: 'personal' as const },
      encoding: 'text' as const,
      type: 'generic' as const,
      description: '',
      version: 1,
      created_at: '2026-11-23T10:00:00Z',
      updated_at: '2026-11-23T10:00:00Z',
      created_by: owner,
      access: [],
      owner,
    });

    it('sits beside your own secret of the same name, each with its own value key', async () => {
      const mine = await store.create({ name: 'DB_PASSWORD', value: 'mine' });
      const [ok] = await store.applySync([
        {
          kind: 'put',
          entry: shared('srv-1', 'DB_PASSWORD', 'alice'),
          value: { value: 'theirs', encoding: 'text' },
        },
      ]);
      expect(ok).toBe(true);
      expect(store.list().map((e) => [e.id, sharedBy(e) ?? null])).toEqual([
        [mine.id, null],
        ['srv-1', 'alice'],
      ]);
      expect(kv.data.has(valueKey({ kind: 'personal' }, 'DB_PASSWORD', 'alice'))).toBe(true);
      expect((await store.getValue(mine.id)).value).toBe('mine');
      expect((await store.getValue('srv-1')).value).toBe('theirs');
      expect(store.find('DB_PASSWORD', { kind: 'personal' })?.id).toBe(mine.id);
      expect(store.find('DB_PASSWORD', { kind: 'personal' }, 'alice')?.id).toBe('srv-1');
      expect(store.resolve('DB_PASSWORD')?.id).toBe(mine.id);
      await store.delete(mine.id);
      expect(store.resolve('DB_PASSWORD')?.id).toBe('srv-1');
      expect((await store.getValue('srv-1')).value).toBe('theirs');
    });

    it('does not take the name of your own new secret', async () => {
      await store.applySync([
        {
          kind: 'put',
          entry: shared('srv-1', 'TOKEN', 'alice'),
          value: { value: 'theirs', encoding: 'text' },
        },
      ]);
      await store.create({ name: 'TOKEN', value: 'mine' });
      await expect(store.create({ name: 'TOKEN', value: 'again' })).rejects.toMatchObject({
        code: 'name_taken',
      });
      expect(store.list()).toHaveLength(2);
    });

    it('moves the value along when an entry gets its owner (metadata only)', async () => {
      const unowned: Record<string, unknown> = shared('srv-1', 'OLD', 'alice');
      delete unowned.owner;
      await store.applySync([
        {
          kind: 'put',
          entry: unowned as ReturnType<typeof shared>,
          value: { value: 'kept', encoding: 'text' },
        },
      ]);
      expect(kv.data.has(valueKey({ kind: 'personal' }, 'OLD'))).toBe(true);
      await store.applySync([{ kind: 'put', entry: shared('srv-1', 'OLD', 'alice') }]);
      expect(kv.data.has(valueKey({ kind: 'personal' }, 'OLD'))).toBe(false);
      expect((await store.getValue('srv-1')).value).toBe('kept');
      await store.load();
      expect(store.list()).toHaveLength(1);
      expect(store.isMissingValue('srv-1')).toBe(false);
    });

    it('recovers a shared value whose index entry is missing with its owner', async () => {
      await kv.store(
        valueKey({ kind: 'personal' }, 'LOST', 'alice'),
        JSON.stringify({ value: 'v', encoding: 'text' }),
      );
      const report = await store.load();
      expect(report.recovered).toEqual(['LOST']);
      expect(sharedBy(store.list()[0]!)).toBe('alice');
    });
  });
});
