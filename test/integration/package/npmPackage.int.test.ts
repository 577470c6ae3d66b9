/**
 * The npm package as a team installs it: `npm pack`, `npm install -g` of the tarball into an
 * empty prefix (its dependencies from the registry, as for any package), then, with the network
 * cut (`unshare -n`: a network namespace with only loopback), `notebook-secrets --version`,
 * `serve` on PGlite, `admin`, `login`, `set` and `get`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliBundle } from '../../../scripts/bundles.mjs';
import {
  HELPER_RELATIVE_PATH,
  R_HELPER_RELATIVE_PATH,
  STARTUP_FILE,
} from '../../../src/broker/helperSource';

const root = join(__dirname, '..', '..', '..');
const work = mkdtempSync(join(tmpdir(), 'ns-npm-package-'));
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  files: string[];
};

describe('the npm package', () => {
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('lists every file the CLI loads: each bundle it builds and every kernel helper', () => {
    const bundles = Object.keys(cliBundle().entryPoints as Record<string, string>).map(
      (name) => `dist/${name}.js`,
    );
    const helpers = [HELPER_RELATIVE_PATH, R_HELPER_RELATIVE_PATH, join('python', STARTUP_FILE)];
    expect(manifest.files).toEqual(expect.arrayContaining([...bundles, ...helpers]));
  });

  it('holds only what runs, installs from its tarball, and serves and signs in with no network', () => {
    const packed = execFileSync('npm', ['pack', '--pack-destination', work, '--json'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [{ filename, files }] = JSON.parse(packed.slice(packed.indexOf('['))) as [
      { filename: string; files: { path: string }[] },
    ];
    // The bundles, the kernel helpers and the docs npm always adds: no source, tests or demo.
    expect(files.map((f) => f.path).sort()).toEqual(
      ['LICENSE', 'README.md', 'package.json', ...manifest.files].sort(),
    );

    const prefix = join(work, 'prefix');
    execFileSync(
      'npm',
      ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', join(work, filename)],
      { stdio: 'pipe', encoding: 'utf8' },
    );

    const home = join(work, 'home');
    mkdirSync(home);
    const script = join(work, 'offline.sh');
    writeFileSync(
      script,
      `set -eu
ip link set lo up
ns="${prefix}/bin/notebook-secrets"
"$ns" --version
"$ns" jupyterlab-bridge --help > /dev/null
NOTEBOOK_SECRETS_ADMIN_TOKEN=package-test-admin-token-0123456789 "$ns" serve --port 8799 --data "${home}/server" > "${home}/serve.log" 2>&1 &
server=$!
for i in $(seq 1 300); do
  if node -e "fetch('http://127.0.0.1:8799/v1/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; then break; fi
  sleep 0.1
done
export NOTEBOOK_SECRETS_ADMIN_TOKEN=package-test-admin-token-0123456789
"$ns" admin user add alice --server http://127.0.0.1:8799
"$ns" admin token create alice --server http://127.0.0.1:8799 > "${home}/token"
unset NOTEBOOK_SECRETS_ADMIN_TOKEN
"$ns" login --server http://127.0.0.1:8799 --token-stdin < "${home}/token"
printf 'offline-value' | "$ns" set OFFLINE_KEY
"$ns" get OFFLINE_KEY
kill $server
wait $server || true
`,
    );
    const asRoot = process.getuid?.() === 0;
    const result = spawnSync('unshare', [asRoot ? '-n' : '-rn', 'sh', script], {
      encoding: 'utf8',
      env: {
        PATH: `${join(prefix, 'bin')}:${process.env.PATH}`,
        HOME: home,
        NOTEBOOK_SECRETS_KEYRING: '0',
      },
      timeout: 120_000,
    });
    expect(result.error, 'unshare (util-linux) and ip (iproute2) are needed').toBeUndefined();
    expect(result.status, result.stderr + result.stdout).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe(manifest.version);
    expect(result.stdout).toMatch(/Signed in to http:\/\/127\.0\.0\.1:8799 as alice/);
    expect(lines.at(-1)).toBe('offline-value');
  }, 300_000);
});
