// JupyterLab with the Secrets panel, for `npm start` and the e2e suite.
//
// JupyterLab's Python package is not in Debian, but what it is made of is: the frontend is npm
// packages (@jupyterlab/application and the core *-extension packages), and Debian's
// python3-jupyterlab-server serves it (LabServerApp on jupyter-server). jupyterlab/app/ holds the
// app: its package.json and package-lock.json, index.js (the plugins it loads, with the Secrets
// panel bundled in) and main.py (the server, with the server extension enabled).
//
// The app's npm packages (~400) are installed into the cache outside the clone,
// ${NOTEBOOK_SECRETS_CACHE:-$HOME/.cache/notebook-secrets}/jupyterlab-app, once per lockfile
// (its hash is the stamp); the bundle is built into out/jupyterlab/ from the repo's sources on
// each start (a few seconds).
//
//   node scripts/jupyterLab.mjs install    install the app's packages, print where
//   node scripts/jupyterLab.mjs build      build out/jupyterlab/ (and type-check the panel)
//   node scripts/jupyterLab.mjs prebuilt   build the prebuilt (federated) lab extension into
//                                          jupyterlab/notebook_secrets_jupyterlab/labextension/
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  lstatSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, cleanEnv, readStamp, repoRoot, run, withLock } from './codeServer.mjs';
import { jupyterServerCommand } from './jupyterServer.mjs';
import { spawnService } from './service.mjs';

const APP_SOURCE = join(repoRoot, 'jupyterlab', 'app');
const EXTENSION_SOURCE = join(repoRoot, 'jupyterlab', 'extension');
/** The folder that holds the server extension's Python package. */
export const SERVER_EXTENSION_PATH = join(repoRoot, 'jupyterlab');
export const LAB_BUILD = join(repoRoot, 'out', 'jupyterlab');

/**
 * @typedef {object} JupyterLabOptions
 * @property {string} python
 * @property {number} port
 * @property {string} token
 * @property {string} rootDir
 * @property {string} stateDir
 * @property {string} [build] The app's build (default out/jupyterlab).
 * @property {string} [cli] The built CLI (dist/cli.js), run with this Node as the bridge.
 * @property {Record<string, string>} [env]
 * @property {(text: string) => void} [onOutput]
 */

// What the build uses of the app's packages (@rspack/core, @jupyter/builder, mini-svg-data-uri):
// they are installed with the app, in the cache, so their own types are not at hand here.
/** @typedef {{ hasErrors(): boolean, toString(options: object): string }} RspackStats */
/**
 * @typedef {((configs: object[], done: (error: Error | null, stats: RspackStats) => void) => void)
 *   & { CssExtractRspackPlugin: { new (options: { filename: string }): object, loader: string },
 *       DefinePlugin: new (definitions: object) => object }} Rspack
 */
/**
 * @typedef {object} JupyterBuilder
 * @property {{ ensureAssets(options: { packageNames: string[], packagePaths: string[], output: string }): object[] }} Build
 */

/**
 * @typedef {object} RunningJupyterLab
 * @property {string} url
 * @property {string} labUrl The lab page; `?reset` starts from an empty workspace.
 * @property {import('./service.mjs').Service['child']} child
 * @property {() => string} output Everything it printed, the bridge's log included.
 * @property {() => Promise<void>} stop
 */

/** @param {string} message */
function log(message) {
  console.error(`jupyterlab: ${message}`);
}

function lockHash() {
  return createHash('sha256')
    .update(readFileSync(join(APP_SOURCE, 'package.json')))
    .update(readFileSync(join(APP_SOURCE, 'package-lock.json')))
    .digest('hex')
    .slice(0, 16);
}

/**
 * Installs the app's npm packages into the cache if its lockfile changed; returns the folder.
 * @returns {Promise<string>}
 */
export async function ensureLabApp() {
  const prefix = join(cacheDir(), 'jupyterlab-app');
  const stamp = lockHash();
  const ready = () =>
    readStamp(prefix) === stamp && existsSync(join(prefix, 'node_modules', '@rspack', 'core'));
  if (ready()) return prefix;
  return withLock('jupyterlab-app', async () => {
    if (ready()) return prefix;
    log(`installing the JupyterLab app's npm packages into ${prefix} (once, about a minute)`);
    const started = Date.now();
    rmSync(prefix, { recursive: true, force: true });
    mkdirSync(prefix, { recursive: true });
    for (const file of ['package.json', 'package-lock.json']) {
      cpSync(join(APP_SOURCE, file), join(prefix, file));
    }
    // --legacy-peer-deps: css-loader and rspack name peer ranges the core packages do not meet.
    run(
      'npm',
      [
        'ci',
        '--no-audit',
        '--no-fund',
        '--legacy-peer-deps',
        '--loglevel=error',
        '--ignore-scripts',
      ],
      { cwd: prefix, env: cleanEnv() },
    );
    writeFileSync(join(prefix, '.installed'), `${stamp}\n`);
    log(`installed in ${Math.round((Date.now() - started) / 1000)} s`);
    return prefix;
  });
}

/**
 * Links jupyterlab/extension/node_modules to the app's packages (git ignores it), so `tsc` there
 * type-checks the panel against the JupyterLab it is bundled with.
 * @param {string} appDir
 */
function linkExtensionModules(appDir) {
  const link = join(EXTENSION_SOURCE, 'node_modules');
  try {
    if (lstatSync(link).isSymbolicLink()) rmSync(link);
  } catch {
    // none yet
  }
  if (!existsSync(link)) symlinkSync(join(appDir, 'node_modules'), link, 'dir');
}

/**
 * Type-checks the panel's TypeScript with the app's TypeScript and JupyterLab's types.
 * @returns {Promise<void>}
 */
export async function typecheckExtension() {
  const appDir = await ensureLabApp();
  linkExtensionModules(appDir);
  const tsc = join(appDir, 'node_modules', 'typescript', 'bin', 'tsc');
  run(process.execPath, [tsc, '--noEmit', '-p', EXTENSION_SOURCE], { cwd: EXTENSION_SOURCE });
}

/**
 * Builds the app with the panel into `outDir` (default out/jupyterlab); returns `outDir`.
 * @param {{ outDir?: string, typecheck?: boolean }} [options]
 * @returns {Promise<string>}
 */
export async function buildLabApp({ outDir = LAB_BUILD, typecheck = true } = {}) {
  const appDir = await ensureLabApp();
  if (typecheck) await typecheckExtension();
  const fromApp = /** @type {(id: string) => unknown} */ (
    createRequire(join(appDir, 'package.json'))
  );
  const fromExtension = /** @type {(id: string) => unknown} */ (
    createRequire(join(EXTENSION_SOURCE, 'package.json'))
  );
  const { rspack } = /** @type {{ rspack: Rspack }} */ (fromApp('@rspack/core'));
  const { Build } = /** @type {JupyterBuilder} */ (fromApp('@jupyter/builder'));
  const miniSVGDataURI = /** @type {(svg: string) => string} */ (fromApp('mini-svg-data-uri'));
  const nodeModules = join(appDir, 'node_modules');
  /** @type {unknown} */
  const appPackage = JSON.parse(readFileSync(join(APP_SOURCE, 'package.json'), 'utf8'));
  const app = /** @type {{ jupyterlab: { extensions: string[] } }} */ (appPackage);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const themes = Build.ensureAssets({
    packageNames: app.jupyterlab.extensions,
    packagePaths: [EXTENSION_SOURCE],
    output: outDir,
  });
  // No questions about news or updates (they would reach out of this machine).
  mkdirSync(join(outDir, 'application_settings'), { recursive: true });
  writeFileSync(
    join(outDir, 'application_settings', 'overrides.json'),
    `${JSON.stringify(
      {
        '@jupyterlab/apputils-extension:notification': {
          fetchNews: 'false',
          checkForUpdates: false,
        },
      },
      null,
      2,
    )}\n`,
  );
  const main = {
    entry: [join(APP_SOURCE, 'index.js')],
    output: { path: outDir, filename: 'bundle.js' },
    bail: true,
    mode: 'development',
    devtool: false,
    context: APP_SOURCE,
    resolve: {
      // The app's packages first, so the panel and the app share one copy of each.
      modules: [nodeModules, 'node_modules'],
      extensions: ['.ts', '.js', '.mjs', '.json'],
      extensionAlias: { '.js': ['.ts', '.js'] },
      alias: {
        'notebook-secrets-jupyterlab': EXTENSION_SOURCE,
        'notebook-secrets-lab-style': join(outDir, 'style.js'),
      },
    },
    resolveLoader: { modules: [nodeModules] },
    module: {
      rules: [
        // The panel's TypeScript, compiled as the prebuilt extension's build compiles it.
        .../** @type {{ module: { rules: object[] } }} */ (fromExtension('./rspack.config.js'))
          .module.rules,
        // @jupyter/web-components imports without file extensions.
        { test: /\.m?js$/, resolve: { fullySpecified: false } },
        {
          test: /\.css$/,
          exclude: /\.raw\.css$/,
          type: 'javascript/auto',
          use: [rspack.CssExtractRspackPlugin.loader, 'css-loader'],
        },
        { test: /\.raw\.css$/, type: 'asset/source' },
        { test: /\.html$/, type: 'asset/resource' },
        { test: /\.md$/, type: 'asset/source' },
        { test: /\.(jpg|png|gif|eot)$/, type: 'asset/resource' },
        { test: /\.(woff2?|ttf)(\?v=\d+\.\d+\.\d+)?$/, type: 'asset' },
        {
          test: /\.svg(\?v=\d+\.\d+\.\d+)?$/,
          issuer: /\.css$/,
          type: 'asset/inline',
          generator: {
            dataUrl: {
              content: (/** @type {{ content: string }} */ content) =>
                miniSVGDataURI(content.content),
              mimetype: 'image/svg+xml',
            },
          },
        },
        { test: /\.svg(\?v=\d+\.\d+\.\d+)?$/, issuer: /\.[jt]s$/, type: 'asset/source' },
      ],
    },
    plugins: [
      new rspack.DefinePlugin({ process: { cwd: () => '/', env: {} } }),
      new rspack.CssExtractRspackPlugin({ filename: '[name].[contenthash:8].css' }),
    ],
  };
  const started = Date.now();
  /** @type {Promise<void>} */
  const built = new Promise((resolve, reject) => {
    /** @param {object} config */
    const withLoaders = (config) => ({ ...config, resolveLoader: { modules: [nodeModules] } });
    rspack([main, ...themes.map(withLoaders)], (error, stats) => {
      if (error) return reject(error);
      if (stats.hasErrors()) {
        return reject(new Error(stats.toString({ all: false, errors: true, colors: false })));
      }
      resolve();
    });
  });
  await built;
  log(`built ${outDir} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return outDir;
}

/**
 * The prebuilt (federated) extension that JupyterLab's Python package loads from
 * share/jupyter/labextensions, built with @jupyter/builder's build-labextension against the core
 * package file that @jupyterlab/core-meta publishes: no JupyterLab Python package is needed.
 * Returns the output folder (the "outputDir" of jupyterlab/extension/package.json).
 * @returns {Promise<string>}
 */
export async function buildPrebuilt() {
  const appDir = await ensureLabApp();
  await typecheckExtension();
  const modules = join(appDir, 'node_modules');
  const output = join(SERVER_EXTENSION_PATH, 'notebook_secrets_jupyterlab', 'labextension');
  rmSync(output, { recursive: true, force: true });
  run(
    process.execPath,
    [
      join(modules, '@jupyter', 'builder', 'lib', 'build-labextension.js'),
      '--core-package-file',
      join(modules, '@jupyterlab', 'core-meta', 'core.package.json'),
      EXTENSION_SOURCE,
    ],
    { cwd: EXTENSION_SOURCE, env: cleanEnv() },
  );
  return output;
}

/**
 * The command, arguments and environment that start JupyterLab (jupyterlab/app/main.py, a
 * LabServerApp) with the server extension, on 127.0.0.1:`port`, serving `rootDir`. Like the
 * plain Jupyter server's (jupyterServer.mjs), with the app's build and the extension's package.
 * @param {JupyterLabOptions} options
 * @returns {{ command: string, args: string[], env: NodeJS.ProcessEnv }}
 */
export function jupyterLabCommand({
  python,
  port,
  token,
  rootDir,
  stateDir,
  build = LAB_BUILD,
  cli,
  env = {},
}) {
  const base = jupyterServerCommand({ python, port, token, rootDir, stateDir });
  return {
    command: python,
    args: [join(APP_SOURCE, 'main.py'), ...base.args.slice(2)],
    env: {
      ...base.env,
      ...env,
      PYTHONPATH: [SERVER_EXTENSION_PATH, process.env.PYTHONPATH].filter(Boolean).join(':'),
      NOTEBOOK_SECRETS_LAB_BUILD: build,
      // The server extension starts `notebook-secrets jupyterlab-bridge` with this Node and CLI.
      ...(cli && { NOTEBOOK_SECRETS_CLI: `${process.execPath} ${cli}` }),
    },
  };
}

/**
 * Starts JupyterLab and resolves once it answers; `stop()` ends it and its bridge.
 * @param {JupyterLabOptions} options
 * @returns {Promise<RunningJupyterLab>}
 */
export async function startJupyterLab(options) {
  const { command, args, env } = jupyterLabCommand(options);
  let output = '';
  const service = spawnService(command, args, { cwd: options.rootDir, env }, (d) => {
    output += d;
    options.onOutput?.(d);
  });
  const { child } = service;
  const url = `http://127.0.0.1:${options.port}/`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`JupyterLab exited (${child.exitCode}):\n${output}`);
    const up = await fetch(`${url}api/status`, {
      headers: { Authorization: `token ${options.token}` },
    }).then(
      (res) => res.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      await service.stop();
      throw new Error(`JupyterLab did not start in time:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    labUrl: `${url}lab`,
    child,
    output: () => output,
    stop: () => service.stop(),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const command = process.argv[2];
  if (command === 'install') {
    console.log(await ensureLabApp());
  } else if (command === 'build') {
    console.log(await buildLabApp());
  } else if (command === 'prebuilt') {
    console.log(await buildPrebuilt());
  } else {
    console.error('usage: node scripts/jupyterLab.mjs install|build|prebuilt');
    process.exit(2);
  }
}
