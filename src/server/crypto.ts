/**
 * Encryption of values at rest: AES-256-GCM with a fresh 96-bit nonce per row. Every key has an
 * id (a fingerprint of the key) stored next to each ciphertext, so old keys keep decrypting after
 * a rotation while new writes use the current key.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface Sealed {
  keyId: string;
  nonce: Buffer;
  /** Ciphertext followed by the 16-byte GCM tag. */
  ciphertext: Buffer;
}

export class KeyError extends Error {}

/** The id of a key: the first 8 bytes of SHA-256 over a label and the key, in hex. */
export function keyId(key: Buffer): string {
  return createHash('sha256')
    .update('notebook-secrets key id\0')
    .update(key)
    .digest('hex')
    .slice(0, 16);
}

/** Parses a key written as base64 (44 chars) or hex (64 chars); throws a KeyError otherwise. */
export function parseKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) key = Buffer.from(trimmed, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) key = Buffer.from(trimmed, 'base64');
  if (!key || key.length !== KEY_BYTES) {
    throw new KeyError(
      `${source} is not a 256-bit key: use 32 random bytes as base64 (44 characters) or hex (64 characters), e.g. from \`openssl rand -base64 32\`.`,
    );
  }
  return key;
}

export class Keyring {
  private readonly keys = new Map<string, Buffer>();
  readonly currentId: string;

  /** `current` encrypts new values; `old` keys only decrypt. */
  constructor(current: Buffer, old: readonly Buffer[] = []) {
    this.currentId = keyId(current);
    this.keys.set(this.currentId, current);
    for (const key of old) this.keys.set(keyId(key), key);
  }

  has(id: string): boolean {
    return this.keys.has(id);
  }

  ids(): string[] {
    return [...this.keys.keys()];
  }

  /** Encrypts with the current key. `aad` binds the ciphertext to its row (e.g. the secret id). */
  seal(plaintext: string, aad: string): Sealed {
    const key = this.keys.get(this.currentId)!;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { keyId: this.currentId, nonce, ciphertext: Buffer.concat([body, cipher.getAuthTag()]) };
  }

  /** Decrypts or throws a KeyError (unknown key id, or data that fails authentication). */
  open(sealed: Sealed, aad: string): string {
    const key = this.keys.get(sealed.keyId);
    if (!key) throw new KeyError(`No key with id ${sealed.keyId} is configured.`);
    if (sealed.nonce.length !== NONCE_BYTES || sealed.ciphertext.length < TAG_BYTES) {
      throw new KeyError('A stored value is truncated.');
    }
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.nonce);
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(sealed.ciphertext.subarray(sealed.ciphertext.length - TAG_BYTES));
    try {
      const body = sealed.ciphertext.subarray(0, sealed.ciphertext.length - TAG_BYTES);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      throw new KeyError(
        `A stored value does not decrypt with key ${sealed.keyId} (wrong key or damaged data).`,
      );
    }
  }
}

export interface KeySource {
  /** NOTEBOOK_SECRETS_KEY */
  envKey?: string;
  /** NOTEBOOK_SECRETS_OLD_KEYS: comma-separated keys that only decrypt. */
  envOldKeys?: string;
  /** Key file: one key a line, the first is current. Created (0600) when absent and no env key. */
  keyFile: string;
}

export interface LoadedKeys {
  keyring: Keyring;
  /** Where the current key came from, for the start-up line (never the key itself). */
  source: string;
  created: boolean;
  warning?: string;
}

/**
 * A warning when group or others may read or write a private key file (the server's encryption
 * key, the TLS key), or undefined.
 */
export function openKeyFileWarning(file: string, what: string): string | undefined {
  if (process.platform === 'win32') return undefined;
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  return `The ${what} ${file} is readable by others (mode ${mode.toString(8)}); run chmod 600 on it.`;
}

/** Loads the keyring from the environment or the key file, creating the file on first start. */
export function loadKeyring(source: KeySource): LoadedKeys {
  const old = (source.envOldKeys ?? '')
    .split(',')
    .filter((k) => k.trim() !== '')
    .map((k, i) => parseKey(k, `NOTEBOOK_SECRETS_OLD_KEYS entry ${i + 1}`));
  if (source.envKey !== undefined && source.envKey.trim() !== '') {
    return {
      keyring: new Keyring(parseKey(source.envKey, 'NOTEBOOK_SECRETS_KEY'), old),
      source: 'NOTEBOOK_SECRETS_KEY',
      created: false,
    };
  }
  let text: string | undefined;
  let warning: string | undefined;
  try {
    text = readFileSync(source.keyFile, 'utf8');
    warning = openKeyFileWarning(source.keyFile, 'key file');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text === undefined) {
    mkdirSync(dirname(source.keyFile), { recursive: true, mode: 0o700 });
    const key = randomBytes(KEY_BYTES);
    // 'wx' fails if another process created the file first; then read theirs.
    try {
      writeFileSync(source.keyFile, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      chmodSync(source.keyFile, 0o600);
      return { keyring: new Keyring(key, old), source: source.keyFile, created: true };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      text = readFileSync(source.keyFile, 'utf8');
    }
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('#'));
  if (lines.length === 0) throw new KeyError(`The key file ${source.keyFile} is empty.`);
  const keys = lines.map((l, i) => parseKey(l, `Line ${i + 1} of ${source.keyFile}`));
  return {
    keyring: new Keyring(keys[0]!, [...keys.slice(1), ...old]),
    source: source.keyFile,
    created: false,
    ...(warning ? { warning } : {}),
  };
}
