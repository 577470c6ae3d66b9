import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { KeyError, Keyring, keyId, loadKeyring, parseKey } from '../../../src/server/crypto';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ns-crypto-'));
  dirs.push(dir);
  return dir;
}

describe('Keyring', () => {
  const key = randomBytes(32);

  it('round-trips a value and never stores it in clear text', () => {
    const ring = new Keyring(key);
    const sealed = ring.seal('hunter2 ünïcødé', 'secret-1');
    expect(sealed.keyId).toBe(keyId(key));
    expect(sealed.nonce).toHaveLength(12);
    expect(sealed.ciphertext.includes(Buffer.from('hunter2'))).toBe(false);
    expect(ring.open(sealed, 'secret-1')).toBe('hunter2 ünïcødé');
  });

  it('uses a fresh nonce for every value', () => {
    const ring = new Keyring(key);
    const a = ring.seal('same', 'id');
    const b = ring.seal('same', 'id');
    expect(a.nonce.equals(b.nonce)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
  });

  it('refuses a ciphertext moved to another row (associated data)', () => {
    const ring = new Keyring(key);
    const sealed = ring.seal('value', 'secret-1');
    expect(() => ring.open(sealed, 'secret-2')).toThrow(KeyError);
  });

  it('refuses tampered data with a message that names the key, not the value', () => {
    const ring = new Keyring(key);
    const sealed = ring.seal('value', 'id');
    sealed.ciphertext[0]! ^= 1;
    expect(() => ring.open(sealed, 'id')).toThrow(/does not decrypt with key [0-9a-f]{16}/);
  });

  it('reads with old keys after a rotation and writes with the new one', () => {
    const old = new Keyring(key);
    const sealed = old.seal('before rotation', 'id');
    const rotated = new Keyring(randomBytes(32), [key]);
    expect(rotated.open(sealed, 'id')).toBe('before rotation');
    expect(rotated.seal('after', 'id').keyId).toBe(rotated.currentId);
    expect(rotated.currentId).not.toBe(old.currentId);
    expect(() => new Keyring(randomBytes(32)).open(sealed, 'id')).toThrow(/No key with id/);
  });
});

describe('parseKey', () => {
  it('accepts 32 bytes as base64 or hex', () => {
    const key = randomBytes(32);
    expect(parseKey(key.toString('base64'), 'x').equals(key)).toBe(true);
    expect(parseKey(key.toString('hex'), 'x').equals(key)).toBe(true);
  });

  it('refuses anything else with a message that says how to make a key', () => {
    expect(() => parseKey('short', 'NOTEBOOK_SECRETS_KEY')).toThrow(
      /NOTEBOOK_SECRETS_KEY is not a 256-bit key.*openssl rand/,
    );
    expect(() => parseKey(randomBytes(16).toString('base64'), 'k')).toThrow(KeyError);
  });
});

describe('loadKeyring', () => {
  it('creates a 0600 key file on first start and reads the same key afterwards', () => {
    const keyFile = join(tempDir(), 'sub', 'server.key');
    const first = loadKeyring({ keyFile });
    expect(first.created).toBe(true);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const second = loadKeyring({ keyFile });
    expect(second.created).toBe(false);
    expect(second.keyring.currentId).toBe(first.keyring.currentId);
  });

  it('prefers NOTEBOOK_SECRETS_KEY and adds old keys', () => {
    const current = randomBytes(32);
    const old = randomBytes(32);
    const loaded = loadKeyring({
      envKey: current.toString('base64'),
      envOldKeys: old.toString('hex'),
      keyFile: join(tempDir(), 'unused.key'),
    });
    expect(loaded.source).toBe('NOTEBOOK_SECRETS_KEY');
    expect(loaded.keyring.currentId).toBe(keyId(current));
    expect(loaded.keyring.has(keyId(old))).toBe(true);
  });

  it('warns about a key file others can read', () => {
    const keyFile = join(tempDir(), 'server.key');
    writeFileSync(keyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o644 });
    expect(loadKeyring({ keyFile }).warning).toMatch(/chmod 600/);
    expect(readFileSync(keyFile, 'utf8')).toMatch(/=\n$/);
  });
});
