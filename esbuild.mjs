// Bundles the extension (dist/extension.js), the CLI (dist/cli.js, which runs dist/cli-main.js
// through V8's code cache), the server it runs with `serve` (dist/cli-serve.js), and `attach`
// (dist/cli-attach.js).
// tsc type-checks (npm run typecheck); esbuild only transpiles and bundles.
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
// `--only=extension` builds just the extension (what the .vsix needs).
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);

/**
 * secretlint's rule preset loads node-forge (~290 KB minified) only to open a Google Cloud .p12
 * key file, which the scanner never hands it (it gives the rules text, without a file name).
 * The bundles get a stand-in that fails if it is ever used; the rule catches that and reports
 * nothing.
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

/** @type {esbuild.BuildOptions} */
const common = {
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

const builds = [
  {
    name: 'extension',
    ...common,
    entryPoints: { extension: 'src/extension/extension.ts' },
    outdir: 'dist',
    external: ['vscode'],
  },
  {
    name: 'cli',
    ...common,
    // `serve` (the server and its database) and `attach` (the Jupyter client) are bundles of
    // their own, loaded only by those commands (see src/cli/main.ts).
    // cli.js is a small loader: it runs cli-main.js from V8's code cache (see src/cli/bin.ts).
    entryPoints: {
      cli: 'src/cli/bin.ts',
      'cli-main': 'src/cli/main.ts',
      'cli-serve': 'src/cli/commands/serve.ts',
      'cli-attach': 'src/cli/commands/attach.ts',
    },
    outdir: 'dist',
    banner: { js: '#!/usr/bin/env node' },
    // Native and WASM packages load their own files at run time; they stay in node_modules.
    external: ['@electric-sql/pglite', '@napi-rs/keyring', 'pg-native'],
  },
];

const selected = builds
  .filter((b) => !only || b.name === only)
  .map(({ name: _name, ...options }) => options);

if (watch) {
  for (const options of selected) {
    const ctx = await esbuild.context(options);
    await ctx.watch();
  }
} else {
  await Promise.all(selected.map((options) => esbuild.build(options)));
}
