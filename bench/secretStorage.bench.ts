/**
 * What VS Code's SecretStorage costs the local store (npm run bench -- secretStorage): in
 * code-server, opened in Chromium, an extension stores NS_BENCH_SECRET_STORAGE_COUNT values
 * (default 2,000) of 300 characters, 32 at once as the local store writes them, then reads them
 * back the same way; the baseline is the same loop on the in-memory stand-in the sync benches
 * keep values in (src/sync/memoryKeyValueStore.ts), in the same extension host. No target there:
 * the figures say why the extension keeps its local store elsewhere in a Web UI.
 *
 * In a browser window, VS Code keeps every extension's secrets in one entry of the page's
 * localStorage (`LocalStorageSecretStorageProvider`, src/vs/code/browser/workbench/workbench.ts
 * in microsoft/vscode), encrypted and written whole on each store: a store costs time in
 * proportion to all the secrets kept, and localStorage holds a few megabytes per origin. So the
 * bench also prints the time per value of the first and the last tenth of the stores, the
 * entry's size per value, and how many values the room localStorage has would hold.
 *
 * The extension does not keep its local store there in VS Code for the Web: it keeps sealed files
 * beside the extension host (src/extension/storage/sealedFileStore.ts). The bench runs the same
 * loop on them first (20,000 values, or the count if larger), on this machine's disk, and holds a
 * value's time among the last tenth to ≤ 1.5× one among the first: no store grows with the
 * catalogue.
 *
 * The code-server part needs code-server and Chromium, as the e2e suite does; without them it says
 * so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SealedFileStore } from '../src/extension/storage/sealedFileStore';
import { MemoryKeyValueStore } from '../src/sync/memoryKeyValueStore';
import { canOpenWindows, codeServer, inWindow, tinyExtension } from './codeServerWindow';
import { median, runBench } from './common';

const COUNT = Number(process.env.NS_BENCH_SECRET_STORAGE_COUNT ?? 2_000);
/**
 * The sealed files' count: more than SecretStorage's, as they take seconds, not minutes, and a
 * tenth of 2,000 is too few groups for a median that a slow moment of the disk does not move.
 */
const SEALED_COUNT = Math.max(COUNT, 20_000);
/** The local store's writes in flight at once (WRITES_AT_ONCE in src/core/localStore.ts). */
const AT_ONCE = 32;
/** Full syncs this bench's rate is applied to, as scaleSync measures them. */
const SYNC_SIZE = 100_000;

interface Times {
  store: number;
  /** The time of the first and of the last tenth of the stores. */
  firstTenth: number;
  lastTenth: number;
  read: number;
  memoryStore: number;
  memoryRead: number;
}

/** What the window's page keeps: VS Code's secrets entry, and the room left beside it. */
interface InPage {
  entryChars: number | undefined;
  roomChars: number;
}

const SECRETS_ENTRY = 'secrets.provider';

/** The part of the page's localStorage the bench uses (the bench is built without the DOM's types). */
interface WebStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

// Stores COUNT values AT_ONCE at a time through `context.secrets`, reads them back, does the same
// on a Map behind promises, and writes the times to $BENCH_OUT.
const MEASURE = `
const { writeFileSync } = require('fs');
exports.activate = async (context) => {
  const count = Number(process.env.BENCH_COUNT);
  const atOnce = Number(process.env.BENCH_AT_ONCE);
  const value = JSON.stringify({ value: 'x'.repeat(300), encoding: 'text' });
  const key = (i) => 'notebook-secrets/value/personal/SECRET_' + i;
  const tenth = Math.ceil(count / 10);
  // A loop's whole time, and the time of its first and of its last tenth.
  const timed = async (each) => {
    const start = performance.now();
    let first;
    let lastFrom;
    for (let i = 0; i < count; i += atOnce) {
      if (i >= tenth && first === undefined) first = performance.now() - start;
      if (i >= count - tenth && lastFrom === undefined) lastFrom = performance.now();
      const group = [];
      for (let k = i; k < Math.min(count, i + atOnce); k++) group.push(each(key(k)));
      await Promise.all(group);
    }
    const end = performance.now();
    return { total: end - start, first, last: end - lastFrom };
  };
  const map = new Map();
  const memory = {
    store: async (k, v) => void map.set(k, v),
    get: async (k) => map.get(k),
  };
  const store = await timed((k) => context.secrets.store(k, value));
  const read = await timed(async (k) => {
    if ((await context.secrets.get(k)) !== value) throw new Error('a value read back differs');
  });
  const times = {
    store: store.total,
    firstTenth: store.first,
    lastTenth: store.last,
    read: read.total,
    memoryStore: (await timed((k) => memory.store(k, value))).total,
    memoryRead: (await timed((k) => memory.get(k))).total,
  };
  writeFileSync(process.env.BENCH_OUT, JSON.stringify(times));
};
`;

/**
 * A loop's whole time, and the time a value takes in its first and in its last tenth: the median
 * over the groups of AT_ONCE there, so one slow moment of the disk does not decide.
 */
async function timed(count: number, each: (key: string) => Promise<unknown>) {
  const groups: number[] = [];
  const start = performance.now();
  for (let i = 0; i < count; i += AT_ONCE) {
    const group = [];
    for (let k = i; k < Math.min(count, i + AT_ONCE); k++) {
      group.push(each(`notebook-secrets/value/personal/SECRET_${k}`));
    }
    const from = performance.now();
    await Promise.all(group);
    groups.push((performance.now() - from) / group.length);
  }
  const total = performance.now() - start;
  const tenth = Math.max(1, Math.floor(groups.length / 10));
  return { total, first: median(groups.slice(0, tenth)), last: median(groups.slice(-tenth)) };
}

const perValue = (ms: number, values = COUNT) => `${((ms / values) * 1000).toFixed(0)} µs a value`;

/** The sealed files the extension keeps in VS Code for the Web, on this machine's disk. */
async function sealedFiles(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nbsec-sealed-'));
  const files = new SealedFileStore(new MemoryKeyValueStore(), dir);
  try {
    await files.ready();
    const value = JSON.stringify({ value: 'x'.repeat(300), encoding: 'text' });
    const store = await timed(SEALED_COUNT, (k) => files.store(k, value));
    const read = await timed(SEALED_COUNT, async (k) => {
      if ((await files.get(k)) !== value) throw new Error('a value read back differs');
    });
    const growth = store.last / store.first;
    console.log(
      `Sealed files (the local store in VS Code for the Web), ${SEALED_COUNT.toLocaleString('en-US')} ` +
        `values of 300 characters, ${AT_ONCE} at once, each written and synced to disk:`,
    );
    console.log(
      `- stored in ${(store.total / 1000).toFixed(2)} s (${perValue(store.total, SEALED_COUNT)}); read back in ` +
        `${(read.total / 1000).toFixed(2)} s (${perValue(read.total, SEALED_COUNT)})`,
    );
    console.log(
      `- a value among the last tenth ${perValue(store.last, 1)}, ${growth.toFixed(2)}× one ` +
        `among the first (${perValue(store.first, 1)}; median of groups; target ≤ 1.5×: a store does not grow with the ` +
        `catalogue) ${growth <= 1.5 ? 'met' : 'NOT met'}`,
    );
  } finally {
    files.dispose();
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

async function main(): Promise<void> {
  await sealedFiles();
  if (!canOpenWindows()) {
    console.log('SecretStorage in code-server: needs code-server and Chromium; skipped');
    return;
  }
  const { installExtension, statePaths } = await codeServer();
  const dir = mkdtempSync(join(tmpdir(), 'nbsec-secret-storage-'));
  try {
    const measure = await tinyExtension(dir, 'bench-secret-storage', MEASURE, [
      'onStartupFinished',
    ]);
    const paths = statePaths(join(dir, 'state'));
    await installExtension(paths, measure);
    const t = await inWindow<Times, InPage>({
      dir,
      paths,
      round: 0,
      env: { BENCH_COUNT: String(COUNT), BENCH_AT_ONCE: String(AT_ONCE) },
      timeoutMs: 1_800_000,
      inPage: (page) =>
        page.evaluate((entry) => {
          const { localStorage } = globalThis as unknown as { localStorage: WebStorage };
          // The largest item localStorage still takes beside what it holds (found by halving).
          let [low, high] = [0, 1 << 26];
          while (low < high) {
            const mid = Math.ceil((low + high) / 2);
            try {
              localStorage.setItem('bench-room', 'x'.repeat(mid));
              low = mid;
            } catch {
              high = mid - 1;
            }
          }
          localStorage.removeItem('bench-room');
          return { entryChars: localStorage.getItem(entry)?.length, roomChars: low };
        }, SECRETS_ENTRY),
    });
    console.log(
      `SecretStorage in code-server, ${COUNT.toLocaleString('en-US')} values of 300 characters, ` +
        `${AT_ONCE} at once:`,
    );
    console.log(
      `- stored in ${(t.store / 1000).toFixed(2)} s (${perValue(t.store)}), ` +
        `${(t.store / t.memoryStore).toFixed(0)}× the in-memory stand-in ` +
        `(${(t.memoryStore / 1000).toFixed(3)} s)`,
    );
    console.log(
      `- read back in ${(t.read / 1000).toFixed(2)} s (${perValue(t.read)}), ` +
        `${(t.read / t.memoryRead).toFixed(0)}× the stand-in (${(t.memoryRead / 1000).toFixed(3)} s)`,
    );
    const tenth = Math.ceil(COUNT / 10);
    console.log(
      `- the first tenth ${perValue(t.firstTenth, tenth)}, the last tenth ` +
        `${perValue(t.lastTenth, tenth)}`,
    );
    const entry = t.page?.entryChars;
    const n = SYNC_SIZE.toLocaleString('en-US');
    if (entry === undefined) {
      // Linear: right where a store's cost does not grow with what is kept.
      const projected = ((t.store / COUNT) * SYNC_SIZE) / 1000;
      console.log(
        `- the page's localStorage has no '${SECRETS_ENTRY}': secrets are kept elsewhere; at ` +
          `this rate the values of a full sync of ${n} spend ${projected.toFixed(0)} s being ` +
          'stored, which the scaleSync figures leave out',
      );
      return;
    }
    const perSecret = entry / COUNT;
    const fits = Math.floor((entry + t.page!.roomChars) / perSecret);
    console.log(
      `- kept in the page's localStorage, one entry '${SECRETS_ENTRY}' of ` +
        `${entry.toLocaleString('en-US')} characters (${perSecret.toFixed(0)} a value), ` +
        `written whole on each store; with the room left ` +
        `(${t.page!.roomChars.toLocaleString('en-US')} characters) it holds about ` +
        `${fits.toLocaleString('en-US')} such values in all: the values of a full sync of ${n} ` +
        `${fits >= SYNC_SIZE ? 'fit' : 'do not fit'} (no target; the scaleSync figures leave this out)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

runBench(main);
