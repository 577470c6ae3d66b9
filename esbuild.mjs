// Bundles the extension (dist/extension/extension.mjs and its chunks), the CLI (dist/cli.js, which runs dist/cli-main.js
// through V8's code cache), the server it runs with `serve` (dist/cli-serve.js), and `attach`
// (dist/cli-attach.js); their options are in scripts/bundles.mjs.
// tsc type-checks (npm run typecheck); esbuild only transpiles and bundles.
import { rmSync } from 'node:fs';
import * as esbuild from 'esbuild';
import { cliBundle, extensionBundle, extensionEntryBundle } from './scripts/bundles.mjs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
// `--only=extension` builds just the extension (what the .vsix needs).
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);

const extension = extensionBundle({ production });
const builds = {
  extension: [extension, extensionEntryBundle({ production })],
  cli: [cliBundle({ production })],
};
const selected = Object.entries(builds)
  .filter(([name]) => !only || name === only)
  .flatMap(([, options]) => options);

// The extension's chunks are named by their content: clear the folder so that no old one is packed.
if (!only || only === 'extension') rmSync(extension.outdir, { recursive: true, force: true });

if (watch) {
  for (const options of selected) {
    const ctx = await esbuild.context(options);
    await ctx.watch();
  }
} else {
  await Promise.all(selected.map((options) => esbuild.build(options)));
}
