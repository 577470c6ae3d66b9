/**
 * The `notebook-secrets` executable (dist/cli.js): runs the CLI bundle next to it (dist/cli-main.js,
 * from ./main.ts) through V8's code cache.
 *
 * Compiling the bundle, and then each function it calls, was the largest part of a short command's
 * run (`get` spent more time compiling than waiting for the server). The code V8 compiled in a run
 * is kept in the user's cache folder, one file per command, and the next run of that command starts
 * from it. Node 22 does this itself (module.enableCompileCache); Node 20 has only node:vm's
 * `cachedData`, used here. The file name holds the bundle's size and time, so a rebuilt or updated
 * CLI never runs stale code. Any failure to read or write the cache only costs the time: the
 * command runs the same.
 *
 * A cache is code that runs with the user's keychain and token, and V8 checks only its own
 * version, its flags and the source's length: a cache built from another script of the same
 * length runs instead of the CLI. So a cache is used only when nobody else can have written it:
 * `notebook-secrets/` and `compile/` are real folders (not links), owned by this user and not
 * writable by group or others, and the file, opened without following a link (O_NOFOLLOW), is a
 * regular file owned by this user and not writable by group or others (fstat of that open file).
 * Writes go to a new file of a random name created exclusively (never through a planted link),
 * then renamed into place. As root with another user's HOME (sudo), there is no cache: root would
 * otherwise run code that user wrote, and leave root's files in their folder. Without user ids
 * (Windows) there is none either.
 *
 * The bundle must not call import() at run time: a vm script has no loader for it without an
 * experimental flag (Node's modules come from process.getBuiltinModule instead).
 *
 * Folder: $XDG_CACHE_HOME/notebook-secrets/compile, else ~/.cache/notebook-secrets/compile (0700).
 * NOTEBOOK_SECRETS_COMPILE_CACHE=0 turns it off.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { createRequire, wrap } from 'node:module';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { Script } from 'node:vm';

const MAIN = join(__dirname, 'cli-main.js');

interface CacheFile {
  /** The folders that must be this user's own, outermost first: notebook-secrets/, compile/. */
  folders: [string, string];
  path: string;
  uid: number;
}

/** Owned by `uid` and writable by nobody else. */
function isPrivate(stats: Stats, uid: number): boolean {
  return stats.uid === uid && (stats.mode & 0o022) === 0;
}

/** Where this run's cache lives, or undefined when it is off or cannot be trusted here. */
function cacheFile(env: NodeJS.ProcessEnv, argv: readonly string[]): CacheFile | undefined {
  if (env.NOTEBOOK_SECRETS_COMPILE_CACHE === '0') return undefined;
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  try {
    const home = homedir();
    const base =
      env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)
        ? env.XDG_CACHE_HOME
        : join(home, '.cache');
    // sudo may keep the user's HOME: root must neither run nor leave files in that user's cache.
    if (uid === 0 && (lstatSync(home).uid !== 0 || ownerIfAny(base) !== 0)) return undefined;
    const { size, mtimeMs } = statSync(MAIN);
    // One file per command: a run compiles what its command needs, and that is what the cache keeps.
    const command = /^[a-z][a-z-]{0,31}$/.test(argv[2] ?? '') ? argv[2] : '-';
    const key = `${process.version}-${size}-${Math.floor(mtimeMs)}`;
    const root = join(base, 'notebook-secrets');
    const folder = join(root, 'compile');
    return { folders: [root, folder], path: join(folder, `${key}.${command}.cache`), uid };
  } catch {
    return undefined;
  }
}

/** The owner of `path`, or 0 when it does not exist yet (root then creates it). */
function ownerIfAny(path: string): number {
  try {
    return lstatSync(path).uid;
  } catch {
    return 0;
  }
}

/** The cache folders are real folders, this user's own, writable by nobody else. */
function foldersArePrivate(cache: CacheFile): boolean {
  return cache.folders.every((folder) => {
    const stats = lstatSync(folder);
    return stats.isDirectory() && isPrivate(stats, cache.uid);
  });
}

/** The cache's bytes, when its folders and the open file itself pass the checks above. */
function readCache(cache: CacheFile | undefined): Buffer | undefined {
  if (!cache) return undefined;
  let fd: number | undefined;
  try {
    if (!foldersArePrivate(cache)) return undefined;
    fd = openSync(cache.path, constants.O_RDONLY | constants.O_NOFOLLOW);
    const stats = fstatSync(fd);
    if (!stats.isFile() || !isPrivate(stats, cache.uid)) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes `data` as the cache (new temp file, then rename) and removes old caches of other builds. */
function writeCache(cache: CacheFile, data: Buffer): void {
  let temp: string | undefined;
  try {
    const [, folder] = cache.folders;
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    if (!foldersArePrivate(cache)) return;
    // Loaded here, on the rare run that writes: the common run reads a cache and never needs it.
    const { randomBytes } = process.getBuiltinModule('node:crypto');
    temp = `${cache.path}.${randomBytes(8).toString('hex')}.tmp`;
    // 'wx' (O_CREAT | O_EXCL): fails on any name that exists, a link included; never follows one.
    const fd = openSync(temp, 'wx', 0o600);
    try {
      for (let at = 0; at < data.length;) at += writeSync(fd, data, at);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, cache.path);
    temp = undefined;
    // Other builds' caches, a day after they were written (two installs used in turn keep theirs).
    const key = cache.path.slice(folder.length + 1).split('.')[0]!;
    const stale = Date.now() - 24 * 3600_000;
    for (const name of readdirSync(folder)) {
      if (name.startsWith(`${key}.`) || !name.endsWith('.cache')) continue;
      const other = join(folder, name);
      if (lstatSync(other).mtimeMs < stale) rmSync(other, { force: true });
    }
  } catch {
    // A read-only or full disk: the next run compiles again.
    if (temp) rmSync(temp, { force: true });
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
