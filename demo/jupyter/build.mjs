// Builds the Jupyter stand-in (see extension.ts) into a .vsix: esbuild bundles it with
// @jupyterlab/services and ws, vsce packages the bundle with this folder's package.json and README.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createVSIX } from '@vscode/vsce';
import { build } from 'esbuild';
import { repoRoot } from '../../../scripts/codeServer.mjs';

const here = join(repoRoot, 'test', 'e2e', 'jupyterStandIn');

/** Returns the path of the packaged stand-in, built under `outDir` (emptied first). */
export async function buildJupyterStandIn(outDir: string): Promise<string> {
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
  const vsix = join(outDir, 'ms-toolsai.jupyter-standin.vsix');
  // vsce lists what it packed on stdout; failures still throw.
  const { log, info } = console;
  console.log = console.info = () => undefined;
  try {
    await createVSIX({
      cwd: staging,
      packagePath: vsix,
      dependencies: false,
      allowMissingRepository: true,
      skipLicense: true,
    });
  } finally {
    Object.assign(console, { log, info });
  }
  return vsix;
}
