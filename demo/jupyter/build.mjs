// Builds the demo's Jupyter extension (see extension.ts) into a .vsix: esbuild bundles it with
// @jupyterlab/services and ws, vsce packages the bundle with this folder's package.json and README.
// `npm start` and the e2e suite install it into their code-server; the published .vsix never has it.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { packVsix } from '../../scripts/vsix.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Returns the path of the packaged extension, built under `outDir` (emptied first).
 * @param {string} outDir
 * @returns {Promise<string>}
 */
export async function buildDemoJupyter(outDir) {
  rmSync(outDir, { recursive: true, force: true });
  const staging = join(outDir, 'extension');
  mkdirSync(staging, { recursive: true });
  await build({
    entryPoints: [join(here, 'extension.ts')],
    outfile: join(staging, 'extension.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // ws loads these optional native helpers when present.
    external: ['vscode', 'bufferutil', 'utf-8-validate'],
    logLevel: 'warning',
    legalComments: 'none',
  });
  copyFileSync(join(here, 'package.json'), join(staging, 'package.json'));
  copyFileSync(join(here, 'README.md'), join(staging, 'README.md'));
  return packVsix(staging, join(outDir, 'ms-toolsai.jupyter-demo.vsix'));
}
