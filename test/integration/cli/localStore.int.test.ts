/**
 * The local store as a user runs it, not signed in: the built CLI against a real Secret Service
 * (gnome-keyring in its own D-Bus session). Parallel writers, and history without values.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execCli, type CliResult } from '../sync/cliRunner';
import { filesUnder } from '../../support/filesUnder';
import { buildCliInto } from '../server/serverProcess';
import { HAS_KEYRING, startSecretService, type SecretService } from './secretService';

const HUNG_MS = 60_000;
const canary = (what: string) => `canary-${what}-${Math.random().toString(36).slice(2)}`;

let cli: string;
let home: string;
let keyring: SecretService | undefined;
let env: NodeJS.ProcessEnv;

function runCli(args: string[], input?: string): Promise<CliResult> {
  return execCli(cli, args, { env, timeoutMs: HUNG_MS, ...(input !== undefined && { input }) });
}

if (!HAS_KEYRING) {
  console.warn(
    'Skipping the OS keychain tests: dbus-run-session or gnome-keyring-daemon is missing (`npm test` installs dbus and gnome-keyring, see scripts/system-packages.txt).',
  );
}

describe.skipIf(!HAS_KEYRING)('the local store in a real Secret Service', () => {
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'nbsec-local-store-'));
    env = { HOME: home, NOTEBOOK_SECRETS_CONFIG_DIR: join(home, 'config') };
    [cli, keyring] = await Promise.all([
      buildCliInto('test-local-cli'),
      startSecretService(join(home, 'data'), env),
    ]);
    env.XDG_DATA_HOME = join(home, 'data');
    env.DBUS_SESSION_BUS_ADDRESS = keyring.address;
  });
  afterAll(() => {
    keyring?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('parallel sets of different names by separate processes all survive', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `PARALLEL_${i}`);
    const values = names.map((n) => canary(n.toLowerCase()));
    const results = await Promise.all(names.map((n, i) => runCli(['set', n], `${values[i]}\n`)));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const list = await runCli(['list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((e) => e.name).sort()).toEqual(
      [...names].sort(),
    );
    const gets = await Promise.all(names.map((n) => runCli(['get', n])));
    expect(gets.map((g) => g.stdout)).toEqual(values);
    // No lock file is left behind.
    expect(readdirSync(env.NOTEBOOK_SECRETS_CONFIG_DIR!).filter((f) => f.includes('lock'))).toEqual(
      [],
    );
  });

  it('history lists each version and what changed, never a value', async () => {
    const first = canary('first');
    const second = canary('second');
    expect((await runCli(['set', 'HISTORIED', '--description', 'v1'], `${first}\n`)).code).toBe(0);
    expect((await runCli(['set', 'HISTORIED'], `${second}\n`)).code).toBe(0);
    expect((await runCli(['set', 'HISTORIED', '--type', 'token'], `${second}\n`)).code).toBe(0);

    // Not signed in, `history` is `local history`.
    const text = await runCli(['history', 'HISTORIED']);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toBe('HISTORIED (local)');
    expect(lines[1]).toMatch(/^VERSION\s+CHANGE\s+AT\s+CHANGED$/);
    expect(lines[2]).toMatch(/^3\s+update\s+\S+\s+type$/);
    expect(lines[3]).toMatch(/^2\s+update\s+\S+\s+value$/);
    expect(lines[4]).toMatch(/^1\s+create\s+\S+\s+value, type, description$/);
    expect(text.stdout).toContain('earlier versions cannot be restored');

    const json = await runCli(['local', 'history', 'HISTORIED', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      name: 'HISTORIED',
      versions: [{ version: 3 }, { version: 2 }, { version: 1, kind: 'create' }],
    });
    for (const out of [text.stdout, json.stdout, filesUnder(env.NOTEBOOK_SECRETS_CONFIG_DIR!)]) {
      expect(out).not.toContain(first);
      expect(out).not.toContain(second);
    }
    expect(await runCli(['history', 'MISSING'])).toMatchObject({
      code: 4,
      stderr: "notebook-secrets: No local secret named 'MISSING'.\n",
    });
  });
});
