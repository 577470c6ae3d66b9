// Runs once before the e2e suite: builds the .vsix, makes sure Node 24 and code-server are in the
// cache, and installs the extension and the demo's Jupyter (demo/jupyter/) into an extensions
// folder that every test's code-server shares.
// Each test still gets its own user-data folder, workspace and browser profile (see harness.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  cacheDir,
  ensureCodeServer,
  installExtension,
  repoRoot,
  statePaths,
} from '../../scripts/codeServer.mjs';
import { buildDemoJupyter } from '../../demo/jupyter/build.mjs';
import { CHROMIUM } from './chromium';

export interface E2eContext {
  /** Shared state of this run: config, XDG folders and the installed extension. */
  runDir: string;
  artifactsDir: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    e2e: E2eContext;
  }
}

export default async function setup(project: TestProject) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`e2e: no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
  }
  const artifactsDir = join(repoRoot, 'test', 'e2e', 'artifacts');
  rmSync(artifactsDir, { recursive: true, force: true });
  mkdirSync(artifactsDir, { recursive: true });

  let vsix = process.env.NOTEBOOK_SECRETS_VSIX;
  if (!vsix) {
    const build = spawnSync('npm', ['run', '--silent', 'package'], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (build.status !== 0) throw new Error('e2e: npm run package failed');
    vsix = join(repoRoot, 'dist', 'notebook-secrets.vsix');
  }

  await ensureCodeServer();
  const runDir = join(cacheDir(), 'e2e', `run-${process.pid}`);
  rmSync(runDir, { recursive: true, force: true });
  await installExtension(statePaths(runDir), vsix);
  // The Jupyter extension's place, taken by the demo's stand-in whose kernels run on a real Jupyter server
  // (notebook.e2e.test.ts); it stays idle unless a test opens a notebook.
  await installExtension(statePaths(runDir), await buildDemoJupyter(join(runDir, 'demo-jupyter')));

  project.provide('e2e', { runDir, artifactsDir });
  return () => {
    if (!process.env.NOTEBOOK_SECRETS_KEEP_E2E) {
      rmSync(runDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 300 });
    }
  };
}
