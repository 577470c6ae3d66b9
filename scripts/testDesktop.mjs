// `npm run test:desktop`: the desktop suite (test/desktop/suite.ts) in a real VS Code desktop build
// through @vscode/test-electron. VS Code desktop cannot be downloaded on these machines, so the
// suite runs only when VSCODE_EXECUTABLE points at one; otherwise it prints one skip line. Without
// a display it re-runs itself under xvfb-run.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { repoRoot } from './codeServer.mjs';

const executable = process.env.VSCODE_EXECUTABLE;
if (!executable) {
  console.log(
    'test:desktop: skipped — set VSCODE_EXECUTABLE to a VS Code desktop binary to run it (the code-server e2e suite covers the UI).',
  );
  process.exit(0);
}
if (!existsSync(executable)) {
  console.error(`test:desktop: VSCODE_EXECUTABLE=${executable} does not exist.`);
  process.exit(1);
}
if (!process.env.DISPLAY && !process.env.NOTEBOOK_SECRETS_UNDER_XVFB) {
  const run = spawnSync('xvfb-run', ['-a', process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, NOTEBOOK_SECRETS_UNDER_XVFB: '1' },
  });
  if (run.error) console.error('test:desktop: no DISPLAY and no xvfb-run (apt-get install xvfb).');
  process.exit(run.status ?? 1);
}

const { runTests } = await import('@vscode/test-electron');
const out = join(repoRoot, 'dist', 'test');
await esbuild.build({
  entryPoints: { desktop: join(repoRoot, 'test', 'desktop', 'suite.ts') },
  outdir: out,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode'],
  logLevel: 'warning',
});
const spawned = spawnSync('node', ['esbuild.mjs', '--only=extension'], {
  cwd: repoRoot,
  stdio: 'inherit',
});
if (spawned.status !== 0) process.exit(1);

const userDataDir = mkdtempSync(join(tmpdir(), 'notebook-secrets-desktop-'));
// A copy of the demo workspace, so that the clone's demo/ is never written to.
const workspace = join(userDataDir, 'workspace');
cpSync(join(repoRoot, 'demo', 'workspace'), workspace, { recursive: true });
try {
  await runTests({
    vscodeExecutablePath: executable,
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: join(out, 'desktop.js'),
    launchArgs: [
      workspace,
      '--disable-extensions',
      '--disable-workspace-trust',
      `--user-data-dir=${userDataDir}`,
      '--password-store=basic',
    ],
  });
} catch (error) {
  console.error(`test:desktop: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  rmSync(userDataDir, { recursive: true, force: true });
}
