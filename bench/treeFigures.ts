/**
 * The Secrets view over a store of `count` secrets, on the unit tests' fake `vscode`: how long the
 * store takes to load from its chunked index, the first full render, expanding a group against
 * sorting its names, one screen of tree items, and the filter as the user types. The tree and
 * scaleTree benches report these.
 */
import { performance } from 'node:perf_hooks';
import {
  LocalSecretStore,
  SECRET_TYPES,
  valueKey,
  type KeyValueSecretStore,
  type Scope,
} from '../src/core';
import { SecretsTreeProvider, type SecretsNode } from '../src/extension/views/secretsTree';
import { ViewState } from '../src/extension/views/viewState';
import { median } from './common';

class MemoryStore implements KeyValueSecretStore {
  data = new Map<string, string>();
  get = async (k: string) => this.data.get(k);
  store = async (k: string, v: string) => void this.data.set(k, v);
  delete = async (k: string) => void this.data.delete(k);
  keys = async () => [...this.data.keys()];
}

/** Heap in use after a full collection (npm run bench starts node with --expose-gc). */
export function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

/** Median ms of `runs` calls of `fn`. */
export function time(runs: number, fn: () => void): number {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

export interface TreeFigures {
  count: number;
  /** store.load() from the chunked index, and the first full render (sort, group, expand). */
  loadMs: number;
  firstRenderMs: number;
  /** Expanding the largest group, against sorting its names. */
  expandMs: number;
  sortGroupMs: number;
  /** getTreeItem for 50 items of one screen. */
  screenMs: number;
  /** Per keystroke of a typed query: the filter applied and the groups shown, median and worst. */
  keystrokeMs: number;
  keystrokeWorstMs: number;
  /** Heap the loaded store and view hold, against the index parsed from JSON. */
  heapBytes: number;
  parsedBytes: number;
}

/** Synced-looking secrets in three scopes, with their values, stored as the extension stores them. */
async function seededStore(count: number): Promise<MemoryStore> {
  const kv = new MemoryStore();
  const scopes: Scope[] = [
    { kind: 'personal' },
    { kind: 'project', id: 'ml' },
    { kind: 'team', id: 'data' },
  ];
  const secrets = Array.from({ length: count }, (_, i) => {
    const at = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
    return {
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      name: `SECRET_${(i * 7919) % count}_${i}`,
      encoding: 'text' as const,
      type: SECRET_TYPES[i % SECRET_TYPES.length]!,
      description: i % 3 ? `description of secret ${i}` : '',
      scope: scopes[i % 3]!,
      version: 1 + (i % 3),
      created_at: at,
      updated_at: at,
      created_by: 'bench',
      access: [{ principal: { kind: 'user' as const, id: 'bench' }, role: 'owner' as const }],
      role: 'owner' as const,
      sync: { base: 1 + (i % 3), lv: 1 + (i % 3) },
    };
  });
  // Written as an earlier version did (one key); the first load moves it into chunks.
  kv.data.set('notebook-secrets/index', JSON.stringify({ version: 1, secrets }));
  for (const s of secrets) {
    kv.data.set(valueKey(s.scope, s.name), '{"value":"v","encoding":"text"}');
  }
  await new LocalSecretStore(kv).load();
  return kv;
}

export async function measureTree(count: number): Promise<TreeFigures> {
  const kv = await seededStore(count);
  const chunks = [...kv.data].filter(([k]) => k.startsWith('notebook-secrets/index/'));
  const beforeParse = heapUsed();
  const parsed = chunks.map(([, text]) => JSON.parse(text) as unknown);
  const parsedBytes = heapUsed() - beforeParse;
  void parsed.length;

  const beforeStore = heapUsed();
  const store = new LocalSecretStore(kv);
  let start = performance.now();
  await store.load();
  const loadMs = performance.now() - start;
  const state = new ViewState();
  const tree = new SecretsTreeProvider(store, state);
  start = performance.now();
  for (const group of tree.getChildren()) tree.getChildren(group);
  const firstRenderMs = performance.now() - start;
  const heapBytes = heapUsed() - beforeStore;

  const groups = tree.getChildren().filter((g) => g.kind === 'group');
  const largest = groups.reduce((a, b) =>
    a.kind === 'group' && b.kind === 'group' && b.items.length > a.items.length ? b : a,
  );
  const names = (largest.kind === 'group' ? largest.items : []).map((s) => s.name);
  const sortGroupMs = time(9, () => void [...names].sort((a, b) => a.localeCompare(b)));
  const expandMs = time(9, () => void tree.getChildren(largest));
  const screen: SecretsNode[] = tree.getChildren(largest).slice(0, 50);
  const screenMs = time(21, () => {
    for (const node of screen) tree.getTreeItem(node);
  });

  // Typing a query: each keystroke filters, groups and shows the first screen of each group.
  const keystrokes: number[] = [];
  for (const query of ['s', 'se', 'sec', 'secr', 'secret_1', 'secret_12', 'description', 'x']) {
    start = performance.now();
    state.setQuery(query);
    for (const group of tree.getChildren()) {
      for (const node of tree.getChildren(group).slice(0, 50)) tree.getTreeItem(node);
    }
    keystrokes.push(performance.now() - start);
  }
  state.clearFilter();
  tree.dispose();
  state.dispose();
  return {
    count,
    loadMs,
    firstRenderMs,
    expandMs,
    sortGroupMs,
    screenMs,
    keystrokeMs: median(keystrokes),
    keystrokeWorstMs: Math.max(...keystrokes),
    heapBytes,
    parsedBytes,
  };
}

const fmt = (n: number, digits = 1) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** A table of the figures, one row per size. */
export function printTree(rows: readonly TreeFigures[]): void {
  console.log(
    '| secrets | load ms | first render ms | expand largest group ms | sort its names ms | expand / sort | 50 tree items ms | keystroke ms (worst) | heap of store and view |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const f of rows) {
    console.log(
      `| ${f.count.toLocaleString('en-US')} | ${fmt(f.loadMs)} | ${fmt(f.firstRenderMs)} | ${fmt(f.expandMs, 2)} | ${fmt(f.sortGroupMs, 2)} | ${fmt(f.expandMs / f.sortGroupMs, 2)}× | ${fmt(f.screenMs, 2)} | ${fmt(f.keystrokeMs)} (${fmt(f.keystrokeWorstMs)}) | ${fmt(f.heapBytes / 1024 / 1024)} MB (${fmt(f.heapBytes / f.parsedBytes, 2)}× the index parsed) |`,
    );
  }
}
