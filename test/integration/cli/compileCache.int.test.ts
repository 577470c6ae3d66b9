/**
 * The built CLI runs from V8's code cache (src/cli/bin.ts): one private file per command in the
 * user's cache folder, used by the next run, rebuilt when V8 refuses it, never holding a value,
 * and never used when someone else could have written it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
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

/** The uid and gid of `nobody`, another user that owns nothing here. */
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const canUnsharePid =
  isRoot && spawnSync('unshare', ['-p', '-f', '--mount-proc', 'true']).status === 0;
const FOREIGN = 'FOREIGN CODE RAN';

describe('a code cache someone else could have written', () => {
  let foreign: string;
  let scratch: string;

  /** A HOME whose cache folders the CLI made itself, and the name `--version`'s cache has there. */
  async function freshHome(): Promise<{ home: string; folder: string; file: string }> {
    const home = mkdtempSync(join(scratch, 'home-'));
    const run = await execCli(cli, ['--version'], {
      env: { HOME: home, NOTEBOOK_SECRETS_KEYRING: '0' },
    });
    expect(run).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    const folder = join(home, '.cache', 'notebook-secrets', 'compile');
    const name = readdirSync(folder).find((f) => f.endsWith('.-.cache'))!;
    return { home, folder, file: join(folder, name) };
  }

  const version = (home: string) =>
    execCli(cli, ['--version'], { env: { HOME: home, NOTEBOOK_SECRETS_KEYRING: '0' } });

  beforeAll(async () => {
    cli ??= await buildCliInto('test-compile-cache-cli');
    scratch = mkdtempSync(join(tmpdir(), 'ns-foreign-cache-'));
    // A script of the same length as the CLI's bundle, compiled and cached as the CLI does: V8
    // checks a cache against its version, its flags and the source's length only.
    foreign = join(scratch, 'foreign.cache');
    const producer = `
      const { readFileSync, writeFileSync } = require('node:fs');
      const { wrap } = require('node:module');
      const { Script } = require('node:vm');
      const [main, out] = process.argv.slice(1);
      const real = readFileSync(main, 'utf8').replace(/^#!/, '//');
      const code = 'process.stdout.write(' + JSON.stringify(process.argv[3]) + ');';
      const padded = code + '/*' + ' '.repeat(real.length - code.length - 4) + '*/';
      if (padded.length !== real.length) throw new Error('lengths differ');
      const script = new Script(wrap(padded), { filename: main });
      script.runInThisContext();
      writeFileSync(out, script.createCachedData(), { mode: 0o600 });`;
    execFileSync(
      process.execPath,
      ['-e', producer, join(dirname(cli), 'cli-main.js'), foreign, `${FOREIGN}\n`],
      {
        env: { PATH: process.env.PATH },
      },
    );
  });
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("is code V8 runs instead of the CLI's when it sits in the user's own private cache", async () => {
    // What the checks below stand between: the planted cache is one V8 accepts.
    const { home, file } = await freshHome();
    copyFileSync(foreign, file);
    expect((await version(home)).stdout).toBe(`${FOREIGN}\n`);
  });

  it.skipIf(!isRoot)('is ignored when another user owns the file', async () => {
    const { home, file } = await freshHome();
    copyFileSync(foreign, file);
    chownSync(file, NOBODY, NOBODY);
    expect(await version(home)).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    // Replaced by the CLI's own (the folder is the user's), so the next run is fast again.
    expect(statSync(file).uid).toBe(process.getuid!());
  });

  it('is ignored when the file is writable by group or others', async () => {
    for (const mode of [0o620, 0o602]) {
      const { home, file } = await freshHome();
      copyFileSync(foreign, file);
      chmodSync(file, mode);
      expect(await version(home)).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    }
  });

  it('is ignored, and nothing is written, when a cache folder is writable by group or others', async () => {
    for (const level of ['compile', 'notebook-secrets']) {
      const { home, folder, file } = await freshHome();
      copyFileSync(foreign, file);
      chmodSync(level === 'compile' ? folder : dirname(folder), 0o770);
      expect(await version(home)).toMatchObject({ code: 0, stdout: '0.1.0\n' });
      expect(readFileSync(file)).toEqual(readFileSync(foreign));
    }
  });

  it.skipIf(!isRoot)('is ignored when another user owns a cache folder', async () => {
    const { home, folder, file } = await freshHome();
    copyFileSync(foreign, file);
    chownSync(folder, NOBODY, NOBODY);
    expect(await version(home)).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    expect(readFileSync(file)).toEqual(readFileSync(foreign));
  });

  it('is ignored when the file or a cache folder is a symbolic link', async () => {
    // The file: a link to a private cache elsewhere.
    const linkedFile = await freshHome();
    rmSync(linkedFile.file);
    symlinkSync(foreign, linkedFile.file);
    expect(await version(linkedFile.home)).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    // compile/ and notebook-secrets/: links to folders that hold the cache.
    for (const level of ['compile', 'notebook-secrets']) {
      const { home, folder, file } = await freshHome();
      copyFileSync(foreign, file);
      const linked = level === 'compile' ? folder : dirname(folder);
      const elsewhere = join(scratch, `moved-${Math.random().toString(36).slice(2)}`);
      renameSync(linked, elsewhere);
      symlinkSync(elsewhere, linked);
      expect(await version(home)).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    }
  });

  it.skipIf(!isRoot)("is neither used nor written by root with another user's HOME", async () => {
    const { home, folder, file } = await freshHome();
    copyFileSync(foreign, file);
    chownSync(home, NOBODY, NOBODY);
    expect(await version(home)).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    // A HOME of that user without a cache yet: root does not create one there.
    const other = mkdtempSync(join(scratch, 'home-'));
    chownSync(other, NOBODY, NOBODY);
    expect(await version(other)).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    expect(readdirSync(other)).toEqual([]);
    expect(readdirSync(folder)).toEqual([file.slice(folder.length + 1)]);
  });

  it.skipIf(!canUnsharePid)(
    'is written to a new file of its own, never through a link planted at a temp name',
    async () => {
      const { home, folder, file } = await freshHome();
      rmSync(file);
      const victim = join(scratch, 'victim');
      writeFileSync(victim, 'keep me');
      // The CLI as pid 1 of a pid namespace: a temp name made of the pid is known in advance.
      for (const name of [`${file}.1.tmp`, `${file}.tmp`]) symlinkSync(victim, name);
      const run = spawnSync(
        'unshare',
        ['-p', '-f', '--mount-proc', process.execPath, cli, '--version'],
        { env: { PATH: process.env.PATH, HOME: home, NOTEBOOK_SECRETS_KEYRING: '0' } },
      );
      expect(run.stdout.toString()).toBe('0.1.0\n');
      expect(readFileSync(victim, 'utf8')).toBe('keep me');
      expect(statSync(file).isFile()).toBe(true);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readdirSync(folder).filter((f) => f.endsWith('.tmp')).length).toBe(2);
    },
  );
});
