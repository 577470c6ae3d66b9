/**
 * Two windows on one SecretStorage: each is told of every key written, its own writes included.
 * refresh() takes in what the other window changed and reads nothing for its own writes.
 */
import { describe, expect, it } from 'vitest';
import {
  INDEX_KEY,
  LocalSecretStore,
  valueKey,
  type KeyValueSecretStore,
  type StoreChange,
} from '../../../src/core';

/** One SecretStorage, seen by several windows: it records the keys written and the reads made. */
class Shared {
  data = new Map<string, string>();
  written: string[] = [];
  reads = 0;
  listings = 0;
  window(): KeyValueSecretStore {
    return {
      get: (key) => {
        this.reads++;
        return Promise.resolve(this.data.get(key));
      },
      store: (key, value) => {
        this.written.push(key);
        this.data.set(key, value);
        return Promise.resolve();
      },
      delete: (key) => {
        this.written.push(key);
        this.data.delete(key);
        return Promise.resolve();
      },
      keys: () => {
        this.listings++;
        return Promise.resolve([...this.data.keys()]);
      },
    };
  }
  /** The keys written since the last call, as SecretStorage's events name them. */
  take(): string[] {
    const keys = this.written;
    this.written = [];
    return keys;
  }
}

async function windows(count = 300) {
  const shared = new Shared();
  const a = new LocalSecretStore(shared.window(), { user: 'ada' });
  await a.load();
  for (let i = 0; i < count; i++) await a.create({ name: `S_${i}`, value: `v${i}` });
  const b = new LocalSecretStore(shared.window(), { user: 'ada' });
  await b.load();
  await a.refresh(shared.take());
  return { shared, a, b };
}

const names = (store: LocalSecretStore) =>
  store
    .list()
    .map((e) => `${e.name}:${e.description}`)
    .sort();

describe('LocalSecretStore.refresh', () => {
  it("reads no value and lists no keys for the window's own writes, and tells nobody", async () => {
    const { shared, a } = await windows();
    const changes: (StoreChange | undefined)[] = [];
    a.onDidChange((c) => changes.push(c));
    const [first] = a.list();
    await a.update(first!.id, { value: 'new', description: 'edited' });
    await a.create({ name: 'ANOTHER', value: 'x' });
    await a.applySync([{ kind: 'put', entry: { ...first!, name: 'RENAMED', version: 9 } }]);
    await a.delete(first!.id);
    changes.length = 0;
    const keys = shared.take();
    const reads = shared.reads;
    const listings = shared.listings;
    await a.refresh(keys);
    const chunkReads = new Set(keys.filter((k) => k.startsWith('notebook-secrets/index/'))).size;
    expect(shared.reads - reads).toBe(chunkReads);
    expect(shared.listings).toBe(listings);
    expect(changes).toEqual([]);
  });

  it('takes in what another window created, edited and deleted, and tells what went and came', async () => {
    const { shared, a, b } = await windows();
    const changes: StoreChange[] = [];
    a.onDidChange((c) => changes.push(c!));
    const [first, second] = b.list();
    await b.create({ name: 'FROM_B', value: 'x' });
    await b.update(first!.id, { description: 'edited in b' });
    await b.delete(second!.id);
    await a.refresh(shared.take());
    expect(names(a)).toEqual(names(b));
    expect(a.get(second!.id)).toBeUndefined();
    expect((await a.getValue(a.find('FROM_B', { kind: 'personal' })!.id)).value).toBe('x');
    const went = changes.flatMap((c) => c.before.map((e) => e.name));
    const came = changes.flatMap((c) => c.after.map((e) => `${e.name}:${e.description}`));
    expect(went).toEqual(expect.arrayContaining([first!.name, second!.name]));
    expect(came).toEqual(expect.arrayContaining(['FROM_B:', `${first!.name}:edited in b`]));
    expect(came).not.toContain(`${second!.name}:`);
  });

  it('takes in nothing from writes it had already loaded, and tells nobody', async () => {
    const { shared, a } = await windows();
    const first = a.list()[0]!;
    await a.update(first.id, { description: 'before c loaded' });
    const keys = shared.take();
    const c = new LocalSecretStore(shared.window(), { user: 'ada' });
    await c.load();
    const changes: (StoreChange | undefined)[] = [];
    c.onDidChange((change) => changes.push(change));
    const listed = c.list();
    await c.refresh(keys);
    expect(changes).toEqual([]);
    expect(c.list()).toBe(listed);
    // A later write to the same chunk is taken in.
    await a.update(first.id, { description: 'after' });
    await c.refresh(shared.take());
    expect(c.get(first.id)?.description).toBe('after');
    expect(changes).toHaveLength(1);
  });

  it('marks a value another window restored as present again', async () => {
    const { shared, a, b } = await windows(3);
    const [first] = a.list();
    const key = valueKey(first!.scope, first!.name);
    const value = shared.data.get(key)!;
    shared.data.delete(key);
    await a.load();
    expect(a.isMissingValue(first!.id)).toBe(true);
    await b.load();
    shared.take();
    await shared.window().store(key, value);
    await a.refresh(shared.take());
    expect(a.isMissingValue(first!.id)).toBe(false);
  });

  it('loads whole the one-key index an older window still writes', async () => {
    const { shared, a } = await windows(3);
    const entries = a.list().map((e) => ({ ...e, description: 'from an older window' }));
    await shared.window().store(INDEX_KEY, JSON.stringify({ version: 1, secrets: entries }));
    const report = await a.refresh(shared.take());
    expect(report).toMatchObject({ rebuiltIndex: false });
    expect(a.list().map((e) => e.description)).toEqual(entries.map(() => 'from an older window'));
    expect(shared.data.has(INDEX_KEY)).toBe(false);
  });
});
