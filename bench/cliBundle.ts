/** The built CLI for the benchmarks that run it. */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = process.cwd();

/**
 * Bundles the CLI with dist/'s options (scripts/bundles.mjs), minified, into out/<folder>: a
 * folder for each benchmark, never a developer's dist/. Returns the path of its cli.js.
 */
export async function bundleCli(folder: string): Promise<string> {
  const outdir = join(ROOT, 'out', folder);
  // esbuild and the bundle options are loaded at run time (not bundled into the benchmark).
  const esbuild = createRequire(join(ROOT, 'package.json'))('esbuild') as typeof import('esbuild');
  const { cliBundle } = (await import(
    pathToFileURL(join(ROOT, 'scripts/bundles.mjs')).href
  )) as typeof import('../scripts/bundles.mjs');
  await esbuild.build({ ...cliBundle({ outdir, production: true }), logLevel: 'error' });
  return join(outdir, 'cli.js');
}
