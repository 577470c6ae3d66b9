// One real VS Code per test: a code-server with a fresh user-data folder and workspace, and a fresh
// Chromium profile, both thrown away afterwards. The extension folder (with the .vsix installed
// once by globalSetup.ts) is shared, read-only in practice.
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { inject } from 'vitest';
import {
  freePort,
  repoRoot,
  startCodeServer,
  statePaths,
  type RunningCodeServer,
} from '../../scripts/codeServer.mjs';
import { userSettings } from '../../scripts/workbenchSettings.mjs';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium';

export interface Workbench {
  page: Page;
  context: BrowserContext;
  /** The opened folder, on the same disk as code-server (it runs here). */
  workspace: string;
  /** This test's code-server user-data folder (settings, logs). */
  userDataDir: string;
  server: RunningCodeServer;
  /** Saves a screenshot to test/e2e/artifacts/NAME.png and returns its path. */
  screenshot(name: string): Promise<string>;
  failureScreenshot(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Runs `body` against a fresh workbench (with `settings` added to the user settings, and `env`
 * added to code-server's environment); on failure saves test/e2e/artifacts/failure-NAME.png
 * before closing everything.
 */
export async function withWorkbench(
  testName: string,
  body: (wb: Workbench) => Promise<void>,
  settings: Record<string, unknown> = {},
  env: Record<string, string> = {},
): Promise<void> {
  const wb = await openWorkbench(testName, settings, env);
  try {
    await body(wb);
  } catch (error) {
    await wb.failureScreenshot();
    throw error;
  } finally {
    await wb.close();
  }
}

let counter = 0;

/**
 * Starts a code-server and a browser on it with the demo notebook in a fresh workspace and waits for
 * the workbench. Prefer `withWorkbench`, which closes it and keeps a screenshot of a failure.
 */
export async function openWorkbench(
  testName: string,
  settings: Record<string, unknown> = {},
  env: Record<string, string> = {},
): Promise<Workbench> {
  const { runDir } = inject('e2e');
  const testDir = mkdtempSync(join(runDir, `test-${++counter}-`));
  const userDataDir = join(testDir, 'user-data');
  const workspace = join(testDir, 'workspace');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  writeFileSync(
    join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({ ...userSettings, ...settings }, null, 2),
  );
  mkdirSync(workspace, { recursive: true });
  copyFileSync(
    join(repoRoot, 'demo', 'workspace', 'getting-started.ipynb'),
    join(workspace, 'getting-started.ipynb'),
  );

  const server = await startCodeServer({
    paths: statePaths(runDir),
    port: await freePort(),
    userDataDir,
    folder: workspace,
    logFile: join(testDir, 'code-server.log'),
    env,
  });
  let opened: Awaited<ReturnType<typeof openBrowser>>;
  try {
    opened = await openBrowser(server.url, `${server.url}?folder=${encodeURI(workspace)}`);
  } catch (error) {
    await server.stop();
    throw error;
  }
  const { page, context, screenshot } = opened;
  const slug = testName.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return {
    page,
    context,
    workspace,
    userDataDir,
    server,
    screenshot,
    failureScreenshot: () =>
      screenshot(`failure-${slug}`).then(
        () => undefined,
        () => undefined,
      ),
    async close() {
      await opened.browser.close().catch(() => undefined);
      await server.stop();
      if (process.env.NOTEBOOK_SECRETS_KEEP_E2E) return;
      // Best effort: code-server's helpers may still be closing files; the run's teardown retries.
      try {
        rmSync(testDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
      } catch {
        // Left for globalSetup's teardown.
      }
    },
  };
}

/**
 * A fresh Chromium profile on a code-server at `serverUrl`, with clipboard access, showing `pageUrl`
 * once the workbench has rendered. `screenshot(NAME)` saves test/e2e/artifacts/NAME.png.
 */
export async function openBrowser(serverUrl: string, pageUrl: string) {
  const { artifactsDir } = inject('e2e');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // Copy writes the clipboard through the browser; reading it back needs the permission.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: serverUrl.replace(/\/$/, ''),
    });
    const page = await context.newPage();
    const screenshot = async (name: string) => {
      const file = join(artifactsDir, `${name}.png`);
      await page.screenshot({ path: file });
      return file;
    };
    await page.goto(pageUrl);
    await waitForWorkbench(page);
    return { browser, context, page, screenshot };
  } catch (error) {
    await browser.close().catch(() => undefined);
    throw error;
  }
}

/** Resolves once the workbench has rendered its activity bar and the explorer has the folder. */
export async function waitForWorkbench(page: Page): Promise<void> {
  await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  await page.locator('.activitybar').waitFor({ timeout: 90_000 });
}

/** The files under `dir` whose bytes contain `needle` (a canary value that must not be there). */
export function filesContaining(dir: string, needle: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((entry) => join(dir, entry))
    .filter((file) => statSync(file).isFile() && readFileSync(file, 'latin1').includes(needle));
}
