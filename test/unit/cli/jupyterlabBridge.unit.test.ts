import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { BrokerLog } from '../../../src/broker/secretSource';
import { LocalKeychainStore, type Keychain } from '../../../src/cli/client/localKeychainStore';
import { runBridge } from '../../../src/cli/commands/jupyterlabBridge';
import { ConsentRelay, FileConsentState } from '../../../src/cli/jupyterlab/consentRelay';
import { KeychainPanelSecrets } from '../../../src/cli/jupyterlab/panelSecrets';
import { PanelRequest } from '../../../src/core/panelProtocol';
import { MAX_VALUE_BYTES } from '../../../src/core/limits';

const VALUE = `canary-lab-${Math.random().toString(36).slice(2)}`;

function panel() {
  const dir = mkdtempSync(join(tmpdir(), 'nbsec-lab-'));
  const map = new Map<string, string>();
  const keychain: Keychain = {
    get: (a) => map.get(a),
    set: (a, v) => void map.set(a, v),
    delete: (a) => map.delete(a),
  };
  return { dir, map, secrets: new KeychainPanelSecrets(new LocalKeychainStore(dir, keychain)) };
}

describe("JupyterLab's panel on the OS keychain", () => {
  it('creates, lists, reveals, edits only what was named, and deletes', async () => {
    const { dir, map, secrets } = panel();
    const created = await secrets.create({
      name: 'API_KEY',
      value: VALUE,
      encoding: 'text',
      type: 'token',
      description: 'the key',
    });
    expect(created).toMatchObject({ id: 'local:API_KEY', scope: { kind: 'personal' } });
    expect(await secrets.list()).toMatchObject([{ name: 'API_KEY', type: 'token' }]);
    expect(await secrets.reveal(created.id)).toEqual({ value: VALUE, encoding: 'text' });

    await secrets.update(created.id, { description: 'changed' });
    expect(map.get('API_KEY')).toBe(VALUE);
    expect(await secrets.list()).toMatchObject([{ type: 'token', description: 'changed' }]);

    await secrets.delete(created.id);
    expect(await secrets.list()).toEqual([]);
    expect(map.size).toBe(0);
    expect(readFileSync(join(dir, 'local-secrets.json'), 'utf8')).not.toContain(VALUE);
  });

  it('refuses a taken name, a bad name, a large value and a team scope with the view’s words', async () => {
    const { secrets } = panel();
    const input = { name: 'X', value: VALUE, encoding: 'text' as const, type: 'generic' as const };
    await secrets.create({ ...input, description: '' });
    await expect(secrets.create({ ...input, description: '' })).rejects.toThrow(
      "A secret named 'X' already exists in this scope.",
    );
    await expect(secrets.create({ ...input, name: '1X', description: '' })).rejects.toThrow(
      'A name cannot start with a digit.',
    );
    await expect(
      secrets.create({
        ...input,
        name: 'BIG',
        value: 'v'.repeat(MAX_VALUE_BYTES + 1),
        description: '',
      }),
    ).rejects.toThrow('the limit is 64 KiB');
    await expect(
      secrets.create({ ...input, name: 'T', description: '', scope: { kind: 'team', id: 'data' } }),
    ).rejects.toThrow('Sign in to a team server');
    await expect(secrets.share()).rejects.toThrow('cannot be shared');
  });
});

describe('consent through the panel', () => {
  it('opens a question, takes the first answer, and closes it', async () => {
    const relay = new ConsentRelay();
    const seen: number[] = [];
    relay.onDidChange(() => seen.push(relay.questions().length));
    const asked = relay.ask({ notebook: 'n', label: 'a.ipynb on host', name: 'X', sessionId: 's' });
    const [question] = relay.questions();
    expect(question).toMatchObject({ label: 'a.ipynb on host', name: 'X' });
    expect(relay.answer(question!.id, 'always')).toBe(true);
    expect(relay.answer(question!.id, 'deny')).toBe(false);
    expect(await asked).toBe('always');
    expect(seen).toEqual([1, 0]);
  });

  it('counts an unanswered question as dismissed after its time', async () => {
    const relay = new ConsentRelay(10);
    expect(
      await relay.ask({ notebook: 'n', label: 'a', name: 'X', sessionId: 's' }),
    ).toBeUndefined();
    expect(relay.questions()).toEqual([]);
  });

  it('keeps standing grants in a 0600 file that a new bridge reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbsec-grants-'));
    const file = join(dir, 'jupyterlab-grants.json');
    await new FileConsentState(file).update('grants', [{ notebook: 'file:///a.ipynb', name: 'X' }]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(new FileConsentState(file).get('grants')).toEqual([
      { notebook: 'file:///a.ipynb', name: 'X' },
    ]);
  });
});

describe('the bridge protocol', () => {
  const quiet: BrokerLog = { debug() {}, info() {}, warn() {}, error() {} };

  it('answers a request before init with an error, and skips lines that are not JSON', async () => {
    const input = new PassThrough();
    const lines: string[] = [];
    const done = runBridge(input, (line) => lines.push(line), quiet);
    input.write('not json\n');
    input.write(`${JSON.stringify({ id: 7, request: { op: 'state' } })}\n`);
    input.end();
    await done;
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      {
        id: 7,
        ok: false,
        error: { code: 'unavailable', message: 'The bridge is not started yet.' },
      },
    ]);
  });

  it('parses only the requests the panel makes', () => {
    expect(PanelRequest.safeParse({ op: 'state' }).success).toBe(true);
    expect(PanelRequest.safeParse({ op: 'state', extra: 1 }).success).toBe(false);
    expect(PanelRequest.safeParse({ op: 'create', name: '1A', value: 'v' }).success).toBe(false);
    expect(PanelRequest.safeParse({ op: 'run', code: 'x' }).success).toBe(false);
  });
});
