import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileLockTimeoutError, withFileLock } from '../../../src/cli/client/fileLock';
import { LocalKeychainStore, type Keychain } from '../../../src/cli/client/localKeychainStore';

const VALUE = `canary-history-${Math.random().toString(36).slice(2)}`;

function store(lockTimeoutMs?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'nbsec-local-history-'));
  const map = new Map<string, string>();
  const keychain: Keychain = {
    get: (a) => map.get(a),
    set: (a, v) => void map.set(a, v),
    delete: (a) => map.delete(a),
  };
  let t = 0;
  const s = new LocalKeychainStore(
    dir,
    keychain,
    () => new Date(Date.UTC(2026, 0, 1, 0, 0, t++)),
    lockTimeoutMs,
  );
  return { dir, s };
}

describe('local history', () => {
  it('keeps each version without its value, newest first, naming what changed', () => {
    const { s } = store();
    s.set('A', { value: VALUE, description: 'first' });
    s.set('A', { value: `${VALUE}-2` });
    s.set('A', { value: `${VALUE}-2`, description: 'second' });
    s.set('A', { value: `${VALUE}-2`, type: 'password' });
    expect(s.history('A')).toEqual([
      { version: 4, kind: 'update', at: '2026-01-01T00:00:03.000Z', changed: ['type'] },
      { version: 3, kind: 'update', at: '2026-01-01T00:00:02.000Z', changed: ['description'] },
      { version: 2, kind: 'update', at: '2026-01-01T00:00:01.000Z', changed: ['value'] },
      {
        version: 1,
        kind: 'create',
        at: '2026-01-01T00:00:00.000Z',
        changed: ['value', 'type', 'description'],
      },
    ]);
    expect(readFileSync(s.indexPath, 'utf8')).not.toContain(VALUE);
    // list and get show the metadata, not the history.
    expect(s.list()[0]).not.toHaveProperty('history');
    expect(s.get('A')?.entry).not.toHaveProperty('history');
  });

  it('is gone with the secret; an index written before history shows the last version', () => {
    const { s } = store();
    s.set('A', { value: VALUE });
    s.delete('A');
    expect(s.history('A')).toBeUndefined();
    writeFileSync(
      s.indexPath,
      JSON.stringify({
        version: 1,
        secrets: [
          {
            name: 'OLD',
            type: 'generic',
            encoding: 'text',
            version: 3,
            created_at: '2025-01-01T00:00:00.000Z',
            updated_at: '2025-02-01T00:00:00.000Z',
          },
        ],
      }),
    );
    expect(s.history('OLD')).toEqual([
      { version: 3, kind: 'update', at: '2025-02-01T00:00:00.000Z', changed: ['value'] },
    ]);
    s.set('OLD', { value: VALUE });
    expect(s.history('OLD')?.map((v) => v.version)).toEqual([4, 3]);
  });
});

describe('the lock on the local index', () => {
  it('a write waits for a live lock and gives up naming its owner, leaving it in place', () => {
    const { s } = store(200);
    // This test's own parent process: alive for the whole test.
    writeFileSync(`${s.indexPath}.lock`, String(process.ppid));
    expect(() => s.set('A', { value: VALUE })).toThrow(FileLockTimeoutError);
    expect(() => s.set('A', { value: VALUE })).toThrow(
      new RegExp(`pid ${process.ppid}\\).*nothing was written`),
    );
    expect(existsSync(`${s.indexPath}.lock`)).toBe(true);
    expect(s.list()).toEqual([]);
  });

  it('takes over a lock whose process is gone, and removes its own when done', () => {
    const { s } = store(5_000);
    writeFileSync(`${s.indexPath}.lock`, '999999999');
    s.set('A', { value: VALUE });
    expect(s.list().map((e) => e.name)).toEqual(['A']);
    expect(existsSync(`${s.indexPath}.lock`)).toBe(false);
  });

  it('waits for a lock of another host (a shared home folder) rather than take it over', () => {
    const { s } = store(200);
    writeFileSync(`${s.indexPath}.lock`, '999999999@another-host');
    expect(() => s.set('A', { value: VALUE })).toThrow(/pid 999999999 on another-host/);
    expect(existsSync(`${s.indexPath}.lock`)).toBe(true);
  });

  it('is released when the work throws', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbsec-lock-'));
    const lock = join(dir, 'x.lock');
    expect(() =>
      withFileLock(lock, () => {
        expect(readFileSync(lock, 'utf8')).toBe(`${process.pid}@${hostname()}`);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(existsSync(lock)).toBe(false);
    expect(withFileLock(lock, () => 42)).toBe(42);
  });
});

describe('the local index file', () => {
  it('is written through a new temp file, never through a link planted at a temp name', () => {
    const { dir, s } = store();
    const victim = join(mkdtempSync(join(tmpdir(), 'nbsec-victim-')), 'victim');
    writeFileSync(victim, 'keep me');
    // The names a temp file of this process could have had: the pid is no secret.
    for (const name of [`${s.indexPath}.${process.pid}.tmp`, `${s.indexPath}.tmp`])
      symlinkSync(victim, name);
    s.set('A', { value: VALUE });
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    expect(lstatSync(s.indexPath).isFile()).toBe(true);
    expect(lstatSync(s.indexPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(s.indexPath, 'utf8')).not.toContain(VALUE);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp')).length).toBe(2);
  });
});
