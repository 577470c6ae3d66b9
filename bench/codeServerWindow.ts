/**
 * What the code-server parts of the benchmarks share: tiny extensions that measure something in
 * the extension host and write it to a file, and a window of code-server, opened in Chromium,
 * that runs them.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/e2e/chromium';

// The benchmarks are bundled (CommonJS), and run from the repository's root: scripts/codeServer.mjs,
// which finds its files from import.meta.url, is loaded as it is, at run time.
export const repoRoot = process.cwd();
const script = <T>(file: string): Promise<T> =>
  import(pathToFileURL(join(repoRoot, 'scripts', file)).href) as Promise<T>;
/** A package loaded from node_modules at run time, not bundled into the benchmark. */
const unbundled = <T>(name: string): Promise<T> => import(name) as Promise<T>;

type CodeServer = typeof import('../scripts/codeServer.mjs');

/** Whether code-server windows can be opened here: Chromium is installed. */
export function canOpenWindows(): boolean {
  return existsSync(CHROMIUM);
}

export function codeServer(): Promise<CodeServer> {
  return script<CodeServer>('codeServer.mjs');
}

/** A .vsix of a tiny extension with `main` as its code (built with vsce, as demo/jupyter is). */
export async function tinyExtension(dir: string, name: string, main: string, events: string[]) {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'extension.js'), main);
  writeFileSync(join(folder, 'README.md'), `${name}\n`);
  writeFileSync(
    join(folder, 'package.json'),
    JSON.stringify({
      name,
      displayName: name,
      version: '0.0.1',
      publisher: 'bench',
      license: 'MIT',
      engines: { vscode: '^1.100.0' },
      activationEvents: events,
      main: './extension.js',
    }),
  );
  const { packVsix } = await script<typeof import('../scripts/vsix.mjs')>('vsix.mjs');
  return packVsix(folder, join(dir, `${name}.vsix`));
}

/**
 * Starts code-server with the extensions installed in `paths`, opens a window of it in Chromium,
 * and waits (up to `timeoutMs`) for an extension to write `BENCH_OUT`, whose JSON it returns,
 * with what `inPage` then finds in the window's page. `env` reaches the extension host; `round`
 * names this window's folders under `dir`.
 */
export async function inWindow<T, P = undefined>(options: {
  dir: string;
  paths: ReturnType<CodeServer['statePaths']>;
  round: number;
  env: Record<string, string>;
  timeoutMs: number;
  inPage?: (page: Page) => Promise<P>;
}): Promise<T & { page?: P }> {
  const { dir, paths, round, env, timeoutMs, inPage } = options;
  const { freePort, startCodeServer } = await codeServer();
  const out = join(dir, `out-${round}.json`);
  const folder = join(dir, `workspace-${round}`);
  mkdirSync(folder, { recursive: true });
  const server = await startCodeServer({
    paths,
    port: await freePort(),
    folder,
    userDataDir: join(dir, `user-${round}`),
    logFile: join(dir, `code-server-${round}.log`),
    env: { ...env, BENCH_OUT: out },
  });
  const { chromium } = await unbundled<typeof import('playwright-core')>('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}?folder=${encodeURI(folder)}`);
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(out) && Date.now() < deadline) await page.waitForTimeout(250);
    if (!existsSync(out)) {
      throw new Error(`the measuring extension wrote nothing in ${timeoutMs / 1000} s`);
    }
    const written = JSON.parse(readFileSync(out, 'utf8')) as T;
    return { ...written, ...(inPage && { page: await inPage(page) }) };
  } finally {
    await browser.close().catch(() => undefined);
    await server.stop();
  }
}
