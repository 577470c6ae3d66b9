/**
 * The local store's index layout: chunks of at most CHUNK_CAPACITY entries, one key each. These
 * tests hold it to its rules: no write grows with the catalogue, the one-key index of earlier
 * versions upgrades in place losing nothing, and a kill after any write leaves a store that loads
 * with every acknowledged change and every value.
 */
import { describe, expect, it } from 'vitest';
import {
  CHUNK_CAPACITY,
  INDEX_KEY,
  LocalSecretStore,
  chunkKey,
  valueKey,
  type IndexEntry,
  type KeyValueSecretStore,
  type SyncStep,
} from '../../../src/core';
import { storedIndex } from '../../support/storedIndex';

class Killed extends Error {}

/** A key-value store whose process can be killed after a number of writes (stores and deletes). */
class KillableStore implements KeyValueSecretStore {
  data = new Map<string, string>();
  writes: { key: string; bytes: number }[] = [];
  killAfter = Infinity;

  get(key: string) {
    return Promise.resolve(this.data.get(key));
  }
  store(key: string, value: string) {
    this.mutate();
    this.writes.push({ key, bytes: value.length });
    this.data.set(key, value);
    return Promise.resolve();
  }
  delete(key: string) {
    this.mutate();
    this.data.delete(key);
    return Promise.resolve();
  }
  keys() {
    return Promise.resolve([...this.data.keys()]);
  }
  private mutate(): void {
    if (this.killAfter <= 0) throw new Killed();
    this.killAfter--;
  }
  /** A copy, as the disk holds it for the next process. */
  copy(): KillableStore {
    const copy = new KillableStore();
    copy.data = new Map(this.data);
    return copy;
  }
}

const at = '2026-11-23T10:00:00.000Z';

function entry(i: number, fields: Partial<IndexEntry> = {}): IndexEntry {
  return {
    id: `id-${i}`,
    name: `S_${i}`,
    scope: i % 3 === 0 ? { kind: 'team', id: 'data' } : { kind: 'personal' },
    encoding: 'text',
    type: 'generic',
    description: `secret ${i}`,
    version: 1 + (i % 4),
    created_at: at,
    updated_at: at,
    created_by: 'ada',
    access: i % 3 === 0 ? [] : [{ principal: { kind: 'user', id: 'ada' }, role: 'owner' }],
    ...(i % 3 !== 0 && { role: 'owner' }),
    ...(i % 2 === 0 && { sync: { base: 1 + (i % 4), lv: 1 + (i % 4) } }),
    ...(i % 7 === 0 && { scope: { kind: 'personal' }, owner: 'bob' }),
    ...(i % 11 === 0 && { labels: ['from a newer version'] }),
    ...fields,
  };
}

/** What an index of earlier versions held: one key, every entry, and a value for each. */
function earlierStore(count: number): { kv: KillableStore; entries: IndexEntry[] } {
  const kv = new KillableStore();
  const entries = Array.from({ length: count }, (_, i) => entry(i));
  kv.data.set(INDEX_KEY, JSON.stringify({ version: 1, secrets: entries }));
  for (const e of entries) {
    kv.data.set(
      valueKey(e.scope, e.name, e.owner),
      JSON.stringify({ value: `v-${e.id}`, encoding: 'text' }),
    );
  }
  return { kv, entries };
}

/** The entries as JSON gives them back (optional fields absent rather than undefined). */
const plain = (entries: readonly IndexEntry[]) =>
  JSON.parse(JSON.stringify([...entries].sort((a, b) => a.id.localeCompare(b.id)))) as unknown;

/** Each store numbers the ids it makes from 1, so runs of one operation agree. */
const options = () => {
  let n = 0;
  return { user: 'ada', now: () => new Date(at), newId: () => `fresh-${++n}` };
};

async function loaded(kv: KeyValueSecretStore): Promise<LocalSecretStore> {
  const store = new LocalSecretStore(kv, options());
  const report = await store.load();
  expect(report.rebuiltIndex).toBe(false);
  return store;
}

describe('index layout', () => {
  it('upgrades a one-key index in place: every entry and value kept, in chunks', async () => {
    const { kv, entries } = earlierStore(1000);
    const store = await loaded(kv);
    expect(plain(store.list())).toEqual(plain(entries));
    expect(kv.data.has(INDEX_KEY)).toBe(false);
    const chunks = [...kv.data.keys()].filter((k) => k.startsWith('notebook-secrets/index/'));
    expect(chunks).toHaveLength(Math.ceil(1000 / CHUNK_CAPACITY));
    expect(plain(storedIndex(kv.data).entries as IndexEntry[])).toEqual(plain(entries));
    for (const e of entries) {
      expect(await store.getValue(e.id)).toMatchObject({ value: `v-${e.id}` });
    }
    // Loading again changes nothing.
    const writes = kv.writes.length;
    expect(plain((await loaded(kv)).list())).toEqual(plain(entries));
    expect(kv.writes).toHaveLength(writes);
  });

  it('a kill at any point of the upgrade leaves a store that upgrades losing nothing', async () => {
    const total = (() => {
      const { kv } = earlierStore(300);
      return loaded(kv).then(() => kv.writes.length);
    })();
    for (let kill = 0; kill <= (await total); kill++) {
      const { kv, entries } = earlierStore(300);
      kv.killAfter = kill;
      await new LocalSecretStore(kv).load().catch((e: unknown) => {
        if (!(e instanceof Killed)) throw e;
      });
      const next = await loaded(kv.copy());
      expect(plain(next.list()), `killed after ${kill} writes`).toEqual(plain(entries));
    }
  });

  it('writes one chunk of at most CHUNK_CAPACITY entries per change, whatever the catalogue', async () => {
    const { kv } = earlierStore(2000);
    const store = await loaded(kv);
    const [first] = store.list();
    kv.writes = [];
    await store.update(first!.id, { description: 'changed' });
    await store.create({ name: 'NEW_ONE', value: 'x' });
    await store.delete(first!.id);
    const indexWrites = kv.writes.filter((w) => !w.key.startsWith('notebook-secrets/value/'));
    expect(indexWrites).toHaveLength(3);
    const largest = Math.max(
      ...[...kv.data]
        .filter(([k]) => k.startsWith('notebook-secrets/index/'))
        .map(([, v]) => v.length),
    );
    for (const w of indexWrites) expect(w.bytes).toBeLessThanOrEqual(largest);
    for (const text of [...kv.data.values()]) {
      const secrets = (JSON.parse(text) as { secrets?: unknown[] }).secrets;
      if (secrets) expect(secrets.length).toBeLessThanOrEqual(CHUNK_CAPACITY);
    }
  });

  it('a sync batch writes only the chunks it touches, each once', async () => {
    const { kv } = earlierStore(2000);
    const store = await loaded(kv);
    const [a, b] = store.list();
    kv.writes = [];
    await store.applySync([
      { kind: 'put', entry: { ...a!, description: 'from the server', version: a!.version + 1 } },
      { kind: 'put', entry: { ...b!, id: 'srv-b' }, replaceId: b!.id },
    ]);
    expect(kv.writes.map((w) => w.key)).toEqual([chunkKey(0)]);
  });

  it('keeps the newer copy of an entry found in two chunks, and writes the chunk without the other', async () => {
    const kv = new KillableStore();
    const old = entry(1, { description: 'old' });
    const newer = entry(1, { description: 'new', version: old.version + 1 });
    kv.data.set(chunkKey(0), JSON.stringify({ version: 2, secrets: [newer, entry(2)] }));
    kv.data.set(chunkKey(1), JSON.stringify({ version: 2, secrets: [old, entry(3)] }));
    for (const e of [old, entry(2), entry(3)]) {
      kv.data.set(valueKey(e.scope, e.name, e.owner), '{"value":"v","encoding":"text"}');
    }
    const store = await loaded(kv);
    expect(store.list().map((e) => e.description)).toEqual(['new', 'secret 2', 'secret 3']);
    expect(storedIndex(kv.data).entries.map((e) => e.description)).toEqual([
      'new',
      'secret 2',
      'secret 3',
    ]);
  });

  describe('a kill after any write leaves a loadable store that loses nothing acknowledged', () => {
    type Op = (store: LocalSecretStore) => Promise<unknown>;
    const ops: [string, Op][] = [
      ['create', (s) => s.create({ name: 'FRESH', value: 'fresh', scope: { kind: 'personal' } })],
      ['update', (s) => s.update('id-5', { value: 'edited', description: 'edited' })],
      ['delete', (s) => s.delete('id-5')],
      [
        'a sync batch that adds, renames, replaces and removes across chunks',
        (s) => {
          const steps: SyncStep[] = [
            ...Array.from({ length: CHUNK_CAPACITY + 20 }, (_, i): SyncStep => ({
              kind: 'put',
              entry: entry(1000 + i, { sync: { base: 1, lv: 1 }, version: 1 }),
              value: { value: `v-id-${1000 + i}`, encoding: 'text' },
            })),
            { kind: 'put', entry: { ...s.get('id-200')!, name: 'RENAMED', version: 9 } },
            { kind: 'put', entry: { ...s.get('id-201')!, id: 'srv-201' }, replaceId: 'id-201' },
            { kind: 'remove', id: 'id-202' },
          ];
          return s.applySync(steps);
        },
      ],
    ];

    it.each(ops)('%s', { timeout: 120_000 }, async (_name, op) => {
      const before = earlierStore(300);
      const ready = await loaded(before.kv);
      const start = before.kv.copy();
      // The state after the whole operation, for comparison.
      const done = start.copy();
      const doneStore = await loaded(done);
      await op(doneStore);
      const total = done.writes.length - (await loaded(start.copy()), 0);
      const whole = new Map(doneStore.list().map((e) => [e.id, e]));
      const initial = new Map(ready.list().map((e) => [e.id, e]));
      // Every write near the end (the index), every fifth before (values).
      const kills = Array.from({ length: total + 1 }, (_, k) => k).filter(
        (k) => k % 5 === 0 || k > total - 12,
      );
      for (const kill of kills) {
        const kv = start.copy();
        const store = await loaded(kv);
        kv.killAfter = kill;
        await op(store).catch((e: unknown) => {
          if (!(e instanceof Killed)) throw e;
        });
        const next = new LocalSecretStore(kv.copy(), options());
        const report = await next.load();
        const where = `killed after ${kill} of ${total} writes`;
        // Every entry is as it was or as the operation left it, or (a value written before its
        // entry) recovered from its value.
        for (const e of next.list()) {
          const was = initial.get(e.id);
          const is = whole.get(e.id);
          const recovered = report.recovered.includes(e.name);
          expect(
            recovered || (was && sameEntry(e, was)) || (is && sameEntry(e, is)),
            `${where}: ${e.id} ${e.name}`,
          ).toBeTruthy();
          if (!next.isMissingValue(e.id)) {
            const { value } = await next.getValue(e.id);
            expect(value, where).toBeTruthy();
          }
        }
        // No entry the operation did not touch is lost, and no value is lost.
        for (const [id, e] of initial) {
          if (whole.has(id) && sameEntry(whole.get(id)!, e))
            expect(next.get(id), where).toBeTruthy();
        }
        const values = [...kv.data.keys()].filter((k) => k.startsWith('notebook-secrets/value/'));
        for (const key of values) expect(next.atValueKey(key), `${where}: ${key}`).toBeTruthy();
      }
    });
  });
});

function sameEntry(a: IndexEntry, b: IndexEntry): boolean {
  return JSON.stringify(plain([a])) === JSON.stringify(plain([b]));
}
