// The esbuild options of each bundle, in one place: esbuild.mjs builds dist/ from them, and the
// integration tests and benchmarks bundle the CLI from them into folders of their own.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * @typedef {object} BundleOptions
 * @property {string} [outdir] Where the bundles go (default: dist/).
 * @property {boolean} [production] Minified, without source maps.
 */

/**
 * secretlint's rule preset loads node-forge (~290 KB minified) only to open a Google Cloud .p12
 * key file, which the scanner never hands it (it gives the rules text, without a file name).
 * The bundles get a stand-in that fails if it is ever used; the rule catches that and reports
 * nothing.
 * @type {import('esbuild').Plugin}
 */
const withoutForge = {
  name: 'secretlint-without-forge',
  setup(build) {
    build.onLoad(
      { filter: /secretlint-rule-preset-recommend[\\/]module[\\/]index-[\w-]+\.js$/ },
      async (args) => {
        const { readFile } = await import('node:fs/promises');
        const contents = await readFile(args.path, 'utf8');
        if (!contents.includes('Node.js module for Forge')) return undefined;
        return {
          contents:
            "const unavailable = () => { throw new Error('node-forge is not bundled'); };\n" +
            'export const i = { get default() { return unavailable(); } };\n',
          loader: 'js',
        };
      },
    );
  },
};

/**
 * @param {boolean} production
 * @returns {import('esbuild').BuildOptions}
 */
function common(production) {
  return {
    plugins: [withoutForge],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: !production,
    minify: production,
    logLevel: 'info',
    legalComments: 'none',
  };
}

/**
 * dist/extension/extension.mjs: an ES module (VS Code loads `.mjs` extensions as ESM), split into
 * chunks so that what activation does not use — the remote Jupyter client, the leak guard's
 * scanner, the sync client — is read only when first used (`import()`), and what several of them
 * share sits in one chunk, once.
 * @param {BundleOptions} [options]
 * @returns {import('esbuild').BuildOptions & { outdir: string }}
 */
export function extensionBundle({
  outdir = join(ROOT, 'dist', 'extension'),
  production = false,
} = {}) {
  return {
    ...common(production),
    format: 'esm',
    splitting: true,
    entryPoints: { extension: join(ROOT, 'src/extension/extension.ts') },
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    external: ['vscode'],
    // Bundled CommonJS dependencies (ws, @jupyterlab/services) call require() for Node's own
    // modules, which an ES module has not got.
    banner: {
      js: "import { createRequire as __nsCreateRequire } from 'node:module'; const require = __nsCreateRequire(import.meta.url);",
    },
  };
}

/**
 * dist/extension/entry.js, the extension's CommonJS entry: it loads extension.mjs and makes the
 * calls the Jupyter extension attributes to their caller by the call stack's file paths (see
 * src/extension/jupyterCalls.ts).
 * @param {BundleOptions} [options]
 * @returns {import('esbuild').BuildOptions & { outdir: string }}
 */
export function extensionEntryBundle({
  outdir = join(ROOT, 'dist', 'extension'),
  production = false,
} = {}) {
  return {
    ...common(production),
    entryPoints: { entry: join(ROOT, 'src/extension/entry.ts') },
    outdir,
    external: ['vscode'],
  };
}

/**
 * The CLI: cli.js is a small loader that runs cli-main.js from V8's code cache (see
 * src/cli/bin.ts); `serve` (the server and its database) and `attach` (the Jupyter client) are
 * bundles of their own, loaded only by those commands (see src/cli/program.ts).
 * @param {BundleOptions} [options]
 * @returns {import('esbuild').BuildOptions & { outdir: string }}
 */
export function cliBundle({ outdir = join(ROOT, 'dist'), production = false } = {}) {
  return {
    ...common(production),
    entryPoints: {
      cli: join(ROOT, 'src/cli/bin.ts'),
      'cli-main': join(ROOT, 'src/cli/main.ts'),
      'cli-serve': join(ROOT, 'src/cli/commands/serve.ts'),
      'cli-attach': join(ROOT, 'src/cli/commands/attach.ts'),
      'cli-jupyterlab': join(ROOT, 'src/cli/commands/jupyterlabBridge.ts'),
    },
    outdir,
    banner: { js: '#!/usr/bin/env node' },
    // cli-main.js runs as a vm script (src/cli/bin.ts), which has no loader for import(): esbuild
    // turns any import() in a dependency into require().
    supported: { 'dynamic-import': false },
    // Native and WASM packages load their own files at run time; they stay in node_modules.
    external: ['@electric-sql/pglite', '@napi-rs/keyring', 'pg-native'],
  };
}
