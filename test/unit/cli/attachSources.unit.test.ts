import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { attachConsent, parseAllowList } from '../../../src/cli/client/attachSources';
import {
  KeychainUnavailableError,
  LocalKeychainStore,
  osKeychain,
  type Keychain,
} from '../../../src/cli/client/localKeychainStore';

const VALUE = `canary-local-${Math.random().toString(36).slice(2)}`;

class MapKeychain implements Keychain {
  readonly map = new Map<string, string>();
  failing = false;
  get(account: string) {
    if (this.failing) throw new KeychainUnavailableError('no keychain');
    return this.map.get(account);
  }
  set(account: string, value: string) {
    if (this.failing) throw new KeychainUnavailableError('no keychain');
    this.map.set(account, value);
  }
  delete(account: string) {
    return this.map.delete(account);
  }
}

function store() {
  const dir = mkdtempSync(join(tmpdir(), 'nbsec-local-'));
  const keychain = new MapKeychain();
  let t = 0;
  const s = new LocalKeychainStore(dir, keychain, () => new Date(Date.UTC(2026, 0, 1, 0, 0, t++)));
  return { dir, keychain, s };
}

describe('LocalKeychainStore', () => {
  it('keeps values in the keychain and only metadata in a 0600 index', () => {
    const { keychain, s } = store();
    expect(s.set('API_KEY', { value: VALUE, description: 'key' })).toMatchObject({
      created: true,
      entry: { name: 'API_KEY', type: 'generic', encoding: 'text', version: 1, description: 'key' },
    });
    expect(keychain.map.get('API_KEY')).toBe(VALUE);
    const index = readFileSync(s.indexPath, 'utf8');
    expect(index).not.toContain(VALUE);
    expect(statSync(s.indexPath).mode & 0o777).toBe(0o600);
    expect(s.get('API_KEY')).toMatchObject({ value: VALUE, entry: { name: 'API_KEY' } });
  });

  it('an update changes only what it names and counts versions', () => {
    const { s } = store();
    s.set('A', { value: 'one', description: 'kept', type: 'password' });
    const second = s.set('A', { value: 'two' });
    expect(second).toMatchObject({
      created: false,
      entry: { version: 2, description: 'kept', type: 'password' },
    });
    expect(second.entry.created_at).not.toBe(second.entry.updated_at);
    expect(s.get('A')?.value).toBe('two');
  });

  it('delete removes value and name; a missing name is false', () => {
    const { keychain, s } = store();
    s.set('A', { value: VALUE });
    s.set('B', { value: 'b' });
    expect(s.delete('A')).toBe(true);
    expect(keychain.map.has('A')).toBe(false);
    expect(s.list().map((e) => e.name)).toEqual(['B']);
    expect(s.delete('A')).toBe(false);
    expect(s.get('A')).toBeUndefined();
  });

  it('without a keychain writes nothing, not even the name', () => {
    const { keychain, s } = store();
    keychain.failing = true;
    expect(() => s.set('A', { value: VALUE })).toThrow(KeychainUnavailableError);
    expect(s.list()).toEqual([]);
  });

  it('refuses a bad name before touching the keychain', () => {
    const { keychain, s } = store();
    expect(() => s.set('1bad', { value: VALUE })).toThrow(/not a valid secret name/);
    expect(keychain.map.size).toBe(0);
  });

  it('NOTEBOOK_SECRETS_KEYRING=0 is no keychain, with what to install', () => {
    expect(() => osKeychain(undefined, { NOTEBOOK_SECRETS_KEYRING: '0' })).toThrow(
      /No OS keychain is available .*install gnome-keyring.*never kept in a plaintext file/,
    );
  });
});

describe('attach consent', () => {
  const request = (name: string, sessionId = 's1') => ({
    notebook: 'http://jupyter/#kernel=k1',
    label: 'kernel k1 on jupyter',
    name,
    sessionId,
  });

  it('--allow names pass, others are denied without a terminal', async () => {
    const consent = attachConsent({ allow: parseAllowList(['A,B', 'C']) });
    expect(await consent.decide(request('A'))).toBe('allow');
    expect(await consent.decide(request('C'))).toBe('allow');
    expect(await consent.decide(request('D'))).toBe('deny');
    expect(await attachConsent({ allowAll: true }).decide(request('D'))).toBe('allow');
    expect(() => parseAllowList(['A,1x'])).toThrow(/'1x' is not one/);
  });

  it('asks on the terminal once per kernel and name: once, always, deny', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let shown = '';
    output.on('data', (d: Buffer) => {
      shown += d.toString();
    });
    const consent = attachConsent({ terminal: { input, output } });
    const answer = (text: string) => setImmediate(() => input.write(`${text}\n`));
    answer('o');
    expect(await consent.decide(request('A'))).toBe('allow');
    expect(await consent.decide(request('A'))).toBe('allow');
    answer('x');
    setTimeout(() => input.write('a\n'), 5);
    expect(await consent.decide(request('B'))).toBe('allow');
    answer('d');
    expect(await consent.decide(request('C'))).toBe('deny');
    expect(await consent.decide(request('C'))).toBe('deny');
    expect(shown.split('[d]eny? ').length - 1).toBe(4);
    expect(shown).toContain(
      'Secret requested: A\n  asked by: kernel k1 on jupyter\nAllow [o]nce, [a]lways for this kernel, or [d]eny? ',
    );
    expect(shown).toContain('Answer o, a or d.');
    // After a restart: "always" holds, "once" and "deny" ask again (end of input is deny).
    consent.forgetSession('s1');
    expect(await consent.decide(request('B'))).toBe('allow');
    input.end();
    expect(await consent.decide(request('A'))).toBe('deny');
  });

  it('names the secret first, and shows a label without control characters, bounded', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let shown = '';
    output.on('data', (d: Buffer) => (shown += d.toString()));
    const consent = attachConsent({ terminal: { input, output } });
    // A session path that hides the rest of the line and asks about another name.
    const label = `x.ipynb\u001b[8m asks for 'HARMLESS': allow?\u001b[0m\u202e\r${'y'.repeat(400)}`;
    setImmediate(() => input.write('d\n'));
    expect(await consent.decide({ ...request('AWS_SECRET_ACCESS_KEY'), label })).toBe('deny');
    const [first, second, third] = shown.split('\n');
    expect(first).toBe('Secret requested: AWS_SECRET_ACCESS_KEY');
    expect(second).toMatch(/^ {2}asked by: x\.ipynb asks for 'HARMLESS': allow\?\?\?y+…$/);
    expect(second!.length).toBeLessThan(140);
    expect(third).toBe('Allow [o]nce, [a]lways for this kernel, or [d]eny? ');
    // eslint-disable-next-line no-control-regex -- control characters are what it looks for
    expect(shown.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
  });
});
