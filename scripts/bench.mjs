// npm run bench: bundles every bench/*.bench.ts with esbuild and runs them one after another.
// Each benchmark prints its own figures as ratios against a baseline it measures in the same run.
// `npm run bench -- server` runs only the benchmarks whose file name contains "server".
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as esbuild from 'esbuild';

const only = process.argv.slice(2);
const files = readdirSync('bench')
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

await esbuild.build({
  entryPoints: files.map((f) => `bench/${f}`),
  outdir: 'out/bench',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['@electric-sql/pglite', '@napi-rs/keyring', 'pg-native'],
  // Benchmarks of extension code run outside VS Code, on the unit tests' small fake.
  alias: { vscode: './test/unit/fakes/vscode.ts' },
  logLevel: 'warning',
});

let failed = false;
for (const file of files) {
  console.log(`\n== ${file} ==`);
  // --expose-gc: memory figures are taken after a full collection.
  const run = spawnSync(
    process.execPath,
    ['--expose-gc', `out/bench/${file.replace(/\.ts$/, '.js')}`],
    {
      stdio: 'inherit',
    },
  );
  failed ||= run.status !== 0;
}
process.exit(failed ? 1 : 0);
