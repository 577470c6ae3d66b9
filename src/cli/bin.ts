/**
 * The `notebook-secrets` executable (dist/cli.js): runs the CLI bundle next to it (dist/cli-main.js,
 * from ./main.ts) through V8's code cache.
 *
 * Compiling the bundle, and then each function it calls, was the largest part of a short command's
 * run (`get` spent more time compiling than waiting for the server). The code V8 compiled in a run
 * is kept in the user's cache folder, one file per command, and the next run of that command starts
 * from it. Node 22 does this itself (module.enableCompileCache); Node 20 has only node:vm's
 * `cachedData`, used here. V8 checks a cache against the flags and its own version; the file name
 * holds the bundle's size and time, so a rebuilt or updated CLI never runs stale code. Any failure
 * to read or write the cache only costs the time: the command runs the same.
 *
 * The bundle must not call import() at run time: a vm script has no loader for it without an
 * experimental flag (Node's modules come from process.getBuiltinModule instead).
 *
 * Folder: $XDG_CACHE_HOME/notebook-secrets/compile, else ~/.cache/notebook-secrets/compile (0700).
 * NOTEBOOK_SECRETS_COMPILE_CACHE=0 turns it off.
 */
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire, wrap } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';

const MAIN = join(__dirname, 'cli-main.js');

/** Where this run's cache lives, or undefined when turned off. */
function cacheFile(env: NodeJS.ProcessEnv, argv: readonly string[]): string | undefined {
  if (env.NOTEBOOK_SECRETS_COMPILE_CACHE === '0') return undefined;
  try {
    const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
    const { size, mtimeMs } = statSync(MAIN);
    // One file per command: a run compiles what its command needs, and that is what the cache keeps.
    const command = /^[a-z][a-z-]{0,31}$/.test(argv[2] ?? '') ? argv[2] : '-';
    const key = `${process.version}-${size}-${Math.floor(mtimeMs)}`;
    return join(base, 'notebook-secrets', 'compile', `${key}.${command}.cache`);
  } catch {
    return undefined;
  }
}

function readCache(file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Writes `data` as `file` (temp file, then rename) and removes old caches of other builds. */
function writeCache(file: string, data: Buffer): void {
  try {
    const dir = join(file, '..');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, data, { mode: 0o600 });
    renameSync(temp, file);
    // Other builds' caches, a day after they were written (two installs used in turn keep theirs).
    const key = file.slice(dir.length + 1).split('.')[0]!;
    const stale = Date.now() - 24 * 3600_000;
    for (const name of readdirSync(dir)) {
      if (name.startsWith(`${key}.`) || !name.endsWith('.cache')) continue;
      const other = join(dir, name);
      if (statSync(other).mtimeMs < stale) rmSync(other, { force: true });
    }
  } catch {
    // A read-only or full disk: the next run compiles again.
  }
}

const file = cacheFile(process.env, process.argv);
const cachedData = readCache(file);
// The bundle's `#!` line (esbuild puts one on each CLI bundle) is no JavaScript inside a function.
const source = readFileSync(MAIN, 'utf8').replace(/^#!/, '//');
const script = new Script(wrap(source), { filename: MAIN, ...(cachedData && { cachedData }) });
if (file && (!cachedData || script.cachedDataRejected)) {
  // At exit: the cache then holds the functions this run compiled, not only the top level.
  process.once('exit', () => writeCache(file, script.createCachedData()));
}
const mainModule = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void).call(
  mainModule.exports,
  mainModule.exports,
  createRequire(MAIN),
  mainModule,
  MAIN,
  __dirname,
);
