/**
 * What the extension reads at activation: extension.mjs and the chunks it imports statically
 * (bench/activation.bench.ts prints their size). Its schemas are written in zod/mini
 * (src/core/zod.ts). Classic zod anywhere in the extension's bundle, even in a chunk loaded
 * later, would put nearly all of zod's core back into the chunks activation reads: esbuild puts
 * the code of a file that both activation and a later chunk reach into a shared chunk, and
 * classic zod keeps all of the core's code in use.
 */
import { build, type Metafile } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { extensionBundle } from '../../../scripts/bundles.mjs';

const outdir = mkdtempSync(join(tmpdir(), 'nbsec-activation-bundle-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** The outputs activation reads: the entry and the chunks it imports, not those it import()s. */
function atActivation(metafile: Metafile): string[] {
  const entry = Object.keys(metafile.outputs).find((file) => file.endsWith('extension.mjs'))!;
  const read = new Set<string>();
  const visit = (file: string) => {
    if (read.has(file)) return;
    read.add(file);
    for (const i of metafile.outputs[file]!.imports) {
      if (i.kind === 'import-statement' && metafile.outputs[i.path]) visit(i.path);
    }
  };
  visit(entry);
  return [...read];
}

test('the extension bundles zod/mini only, and activation reads none of zod’s JSON Schema code', async () => {
  const result = await build({
    ...extensionBundle({ outdir, production: true }),
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const { inputs, outputs } = result.metafile;
  expect(
    Object.keys(inputs).filter((file) => file.includes('node_modules/zod/v4/classic')),
  ).toEqual([]);
  const eager = atActivation(result.metafile).flatMap((file) => Object.keys(outputs[file]!.inputs));
  expect(eager).toContain('src/core/zod.ts');
  expect(eager.filter((file) => /json-schema/.test(file))).toEqual([]);
});
