/**
 * The JupyterLab panel runs in the browser and imports from src/core/. This builds it for the
 * browser (JupyterLab's own packages left out, as its bundler shares them) so a core module that
 * reaches for Node (a built-in, `Buffer`, `process`) fails here, in seconds, rather than in the
 * JupyterLab build of the e2e suite.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const entry = fileURLToPath(new URL('../../../jupyterlab/extension/src/index.ts', import.meta.url));

test('the JupyterLab panel and the core modules it imports build for the browser', async () => {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    external: ['@jupyterlab/*', '@lumino/*'],
    logLevel: 'silent',
    loader: { '.css': 'empty' },
    metafile: true,
  });
  const code = result.outputFiles[0]!.text;
  expect(code).not.toMatch(/\bBuffer\.|\bprocess\.(?:env|platform|versions)\b/);
  const inputs = Object.keys(result.metafile.inputs).filter((p) => p.includes('node_modules'));
  expect(inputs.every((p) => p.includes('node_modules/zod/'))).toBe(true);
});
