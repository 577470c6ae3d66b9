// `npm run package`: the .vsix, packed from a staging folder. package.json's `files` names what
// the npm package (the CLI and server) carries; vsce refuses a manifest with `files` beside a
// .vscodeignore, so the staging folder gets the manifest without it, and the files .vscodeignore
// lets into the .vsix: the extension bundle, the kernel helpers, icons, README, licence, changelog.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stage = join(root, 'out', 'vsix-stage');

/**
 * @param {string} command
 * @param {string[]} args
 * @param {string} cwd
 */
function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run(process.execPath, [join(root, 'esbuild.mjs'), '--production', '--only=extension'], root);
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
const ignore = readFileSync(join(root, '.vscodeignore'), 'utf8');
const included = ignore
  .split('\n')
  .filter((line) => line.startsWith('!'))
  .map((line) => line.slice(1).trim());
for (const entry of included) {
  // `dir/**`: the whole folder (the extension's bundle and its chunks).
  const path = entry.replace(/\/\*\*$/, '');
  if (path === 'package.json' || !existsSync(join(root, path))) continue;
  mkdirSync(dirname(join(stage, path)), { recursive: true });
  cpSync(join(root, path), join(stage, path), { recursive: true });
}
cpSync(join(root, '.vscodeignore'), join(stage, '.vscodeignore'));
/** @type {unknown} */
const parsed = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const manifest = /** @type {Record<string, unknown>} */ (parsed);
delete manifest.files;
writeFileSync(join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
mkdirSync(join(root, 'dist'), { recursive: true });
run(
  join(root, 'node_modules', '.bin', 'vsce'),
  [
    'package',
    '--no-dependencies',
    '--allow-missing-repository',
    '--no-rewrite-relative-links',
    '--out',
    join(root, 'dist', 'notebook-secrets.vsix'),
  ],
  stage,
);
