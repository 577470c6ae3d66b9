/**
 * The built CLI runs from V8's code cache (src/cli/bin.ts): one private file per command in the
 * user's cache folder, used by the next run, rebuilt when V8 refuses it, never holding a value.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../src/sync/client';
import { execCli } from '../sync/cliRunner';
import { startServer, type RunningServer } from '../sync/harness';
import { buildCliInto } from '../server/serverProcess';

let cli: string;
let home: string;
let server: RunningServer;

const cacheDir = (): string => join(home, '.cache', 'notebook-secrets', 'compile');
const env = (): NodeJS.ProcessEnv => ({ HOME: home, NOTEBOOK_SECRETS_KEYRING: '0' });

/** The cache file of `command` (`-` for a run without one, like --version). */
function cacheOf(command: string): string | undefined {
  const name = readdirSync(cacheDir()).find((f) => f.endsWith(`.${command}.cache`));
  return name && join(cacheDir(), name);
}

describe('the CLI code cache', () => {
  beforeAll(async () => {
    [cli, server] = await Promise.all([buildCliInto('test-compile-cache-cli'), startServer()]);
  });
  afterAll(async () => {
    await server?.dispose();
  });
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'ns-compile-cache-'));
  });
  afterAll(() => {
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('keeps a private cache per command that the next run uses as it is', async () => {
    const first = await execCli(cli, ['--version'], { env: env() });
    expect(first).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    const file = cacheOf('-')!;
    expect(file).toBeDefined();
    expect(statSync(cacheDir()).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const written = statSync(file).ino;

    const second = await execCli(cli, ['--version'], { env: env() });
    expect(second).toEqual(first);
    // Accepted by V8, so not written again.
    expect(statSync(file).ino).toBe(written);
  });

  it('runs the same from a damaged cache, and replaces it', async () => {
    const file = cacheOf('-')!;
    writeFileSync(file, 'not a code cache');
    const run = await execCli(cli, ['--version'], { env: env() });
    expect(run).toMatchObject({ code: 0, stdout: '0.1.0\n', stderr: '' });
    expect(readFileSync(file).toString()).not.toBe('not a code cache');
  });

  it('never holds a value the command printed', async () => {
    const value = `canary-compile-cache-${Math.random().toString(36).slice(2)}`;
    await server.admin.createUser({ id: 'cache' });
    const { token } = await server.admin.createToken({ user: 'cache' });
    await new ApiClient({ baseUrl: server.url, token }).createSecret({ name: 'CACHED', value });
    const signedIn = {
      ...env(),
      NOTEBOOK_SECRETS_SERVER: server.url,
      NOTEBOOK_SECRETS_TOKEN: token,
    };
    for (let i = 0; i < 2; i++) {
      const run = await execCli(cli, ['get', 'CACHED'], { env: signedIn });
      expect(run).toMatchObject({ code: 0, stdout: value });
    }
    const cache = readFileSync(cacheOf('get')!);
    expect(cache.includes(value)).toBe(false);
    expect(cache.includes(token)).toBe(false);
  });

  it('runs a bundle that calls no import(), which a vm script is refused', () => {
    const bundle = readFileSync(join(dirname(cli), 'cli-main.js'), 'utf8');
    expect(bundle).not.toMatch(/\bimport\(/);
  });

  it('writes nothing with NOTEBOOK_SECRETS_COMPILE_CACHE=0', async () => {
    rmSync(join(home, '.cache'), { recursive: true, force: true });
    const run = await execCli(cli, ['--version'], {
      env: { ...env(), NOTEBOOK_SECRETS_COMPILE_CACHE: '0' },
    });
    expect(run).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    expect(() => readdirSync(join(home, '.cache'))).toThrow();
  });
});
