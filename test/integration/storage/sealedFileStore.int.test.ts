/**
 * The sealed files of VS Code for the Web under a real kill: a process writes through the local
 * store (sealedWriter.ts) and is killed with SIGKILL at a random moment, five times over the same
 * folder. After each kill the store loads whole, with every change the process had acknowledged.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalSecretStore } from '../../../src/core';
import { SEALING_KEY, SealedFileStore } from '../../../src/extension/storage/sealedFileStore';
import { MemoryKeyValueStore } from '../../../src/sync/memoryKeyValueStore';

let dir: string;
let writer: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sealed-kill-'));
  writer = join(dir, 'sealedWriter.js');
  await build({
    entryPoints: [join(import.meta.dirname, 'sealedWriter.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: writer,
    logLevel: 'error',
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the writer from change `start` until it has acknowledged `acks` changes, then kills it. */
function writeUntilKilled(root: string, key: string, start: number, acks: number) {
  return new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [writer, root, String(start)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let last = start - 1;
    let out = '';
    child.stdout.on('data', (data: Buffer) => {
      out += data.toString();
      for (const match of out.matchAll(/ack (\d+)\n/g)) last = Number(match[1]);
      out = out.slice(out.lastIndexOf('\n') + 1);
      // Killed between two of its writes, at a moment the test does not choose.
      if (last - start + 1 >= acks) setTimeout(() => child.kill('SIGKILL'), Math.random() * 15);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      signal === 'SIGKILL' ? resolve(last) : reject(new Error(`writer exited with ${code}`)),
    );
    child.stdin.end(key);
  });
}

describe('the sealed files under a kill', () => {
  it('load whole after every kill, with every acknowledged change', async () => {
    const root = join(dir, 'global-storage');
    const key = randomBytes(32).toString('base64');
    const acknowledged: number[] = [];
    let next = 0;
    for (let round = 0; round < 5; round++) {
      const acked = await writeUntilKilled(root, key, next, 5 + Math.floor(Math.random() * 20));
      for (let n = next; n <= acked; n++) acknowledged.push(n);
      const secrets = new MemoryKeyValueStore();
      await secrets.store(SEALING_KEY, key);
      const files = new SealedFileStore(secrets, root);
      const local = new LocalSecretStore(files);
      const report = await local.load();
      expect(report.rebuiltIndex).toBe(false);
      expect(report.missingValues).toEqual([]);
      const byName = new Map(local.list().map((s) => [s.name, s.id]));
      for (const n of acknowledged) {
        expect((await local.getValue(byName.get(`W${n}`)!)).value).toBe(`value-${n}`);
      }
      // LAST holds the last acknowledged update, or the one after it that was under way.
      const last = (await local.getValue(byName.get('LAST')!)).value;
      expect([`last-${acked}`, `last-${acked + 1}`]).toContain(last);
      files.dispose();
      // The next round goes on after what this one may have written past its last ack.
      next = Math.max(acked + 1, ...[...byName.keys()].map((n) => Number(n.slice(1)) || 0)) + 1;
    }
  });
});
