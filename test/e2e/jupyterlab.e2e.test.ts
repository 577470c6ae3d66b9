// JupyterLab with the Secrets panel, as a JupyterLab user meets it: a JupyterLab 4 frontend built
// from npm (jupyterlab/app, scripts/jupyterLab.mjs) with the panel bundled in, served by Debian's
// jupyterlab-server with the server extension, whose bridge is the built CLI; real ipykernel
// kernels, the OS keychain (gnome-keyring in a D-Bus session of the test's own) and the team server
// on PGlite. The user opens a notebook, sees "This Notebook" say a secret is missing, adds it,
// runs the cell, answers the consent dialog, reads the value's length and sees `[secret NAME]`
// where the value was printed; signs in and sees a team secret; denies and gets SecretAccessError.
// Canaries are searched for in the browser's storage, the saved notebook and the servers' logs.
import { randomBytes, randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { freePort } from '../../scripts/codeServer.mjs';
import {
  buildLabApp,
  buildPrebuilt,
  SERVER_EXTENSION_PATH,
  startJupyterLab,
} from '../../scripts/jupyterLab.mjs';
import { ApiClient } from '../../src/sync/client';
import { HAS_KEYRING, startSecretService } from '../integration/cli/secretService';
import { SYSTEM_PYTHON } from '../integration/kernel/harness';
import {
  addTeam,
  addUser,
  buildCli,
  startServer,
  type RunningServer,
} from '../integration/sync/harness';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium';
import { filesContaining } from './harness';
import { browserStorage, LabView } from './labView';
import { writeNotebook } from './notebookView';

const canary = (label: string) => `${label}-canary-${randomUUID()}`;

let cli: string;
let team: RunningServer;
let anaToken: string;
let teamValue: string;

beforeAll(async () => {
  if (!HAS_KEYRING)
    throw new Error(
      'e2e: dbus-run-session and gnome-keyring are needed (see scripts/system-packages.txt)',
    );
  [cli] = await Promise.all([buildCli(), buildLabApp()]);
  team = await startServer();
  await addTeam(team, 'data');
  anaToken = await addUser(team, 'ana', ['data']);
  const alex = new ApiClient({ baseUrl: team.url, token: await addUser(team, 'alex', ['data']) });
  teamValue = canary('team');
  await alex.createSecret({
    name: 'WAREHOUSE_URL',
    value: teamValue,
    type: 'password',
    scope: { kind: 'team', id: 'data' },
  });
});

afterAll(async () => {
  await team?.dispose();
});

/** A fresh JupyterLab (its own root, config folder and keychain) and browser; closed after. */
async function withLab(
  name: string,
  cells: string[],
  body: (lab: {
    view: LabView;
    root: string;
    notebook: string;
    url: string;
    log: () => string;
    storage: () => Promise<string>;
  }) => Promise<void>,
): Promise<void> {
  const { runDir, artifactsDir } = inject('e2e');
  const dir = mkdtempSync(join(runDir, `lab-${name}-`));
  const root = join(dir, 'root');
  mkdirSync(root);
  const notebook = join(root, 'secrets.ipynb');
  writeNotebook(notebook, cells);
  const keyring = await startSecretService(join(dir, 'keyring'), process.env);
  const token = randomBytes(16).toString('hex');
  const lab = await startJupyterLab({
    python: SYSTEM_PYTHON,
    port: await freePort(),
    token,
    rootDir: root,
    stateDir: join(dir, 'jupyter'),
    cli,
    env: {
      NOTEBOOK_SECRETS_CONFIG_DIR: join(dir, 'config'),
      DBUS_SESSION_BUS_ADDRESS: keyring.address,
      XDG_CACHE_HOME: join(dir, 'cache'),
    },
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const view = new LabView(page);
  try {
    await view.openNotebook(lab.labUrl, token, 'secrets.ipynb');
    await body({
      view,
      root,
      notebook,
      url: lab.url,
      log: lab.output,
      storage: () => browserStorage(page, context),
    });
    await page.screenshot({ path: join(artifactsDir, `jupyterlab-${name}.png`) });
  } catch (error) {
    await page
      .screenshot({ path: join(artifactsDir, `failure-jupyterlab-${name}.png`) })
      .catch(() => undefined);
    throw error;
  } finally {
    await browser.close().catch(() => undefined);
    await lab.stop();
    keyring.stop();
    if (!process.env.NOTEBOOK_SECRETS_KEEP_E2E) rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!HAS_KEYRING)('JupyterLab with the Secrets panel', () => {
  test('adds a missing secret, allows the cell, redacts the value, then shows a team secret', async () => {
    const key = canary('sk');
    await withLab(
      'allow',
      [
        "from notebook_secrets import get_secret\nprint('length:', len(get_secret('OPENAI_API_KEY')))",
        "print(get_secret('OPENAI_API_KEY'))",
      ],
      async ({ view, notebook, log, storage, url }) => {
        await view.openPanel();
        await view.waitForKernelReady();
        // "This Notebook" lists the name the cells ask for, missing, with Add….
        await view.neededRow('OPENAI_API_KEY', false).waitFor();
        expect(await view.storeLine().textContent()).toContain('OS keychain');
        await view
          .neededRow('OPENAI_API_KEY')
          .getByRole('button', { name: 'Add OPENAI_API_KEY' })
          .click();
        await view.fillDialog({ Value: key, Type: 'token' }, 'Save');
        await view.neededRow('OPENAI_API_KEY', true).waitFor();
        await view.group('Personal').locator('li[data-secret="OPENAI_API_KEY"]').waitFor();

        // The cell asks; the dialog names the notebook and the secret.
        await view.runCell(0);
        const consent = await view.consent('OPENAI_API_KEY');
        const text = await consent.textContent();
        expect(text).toContain("Allow the secret 'OPENAI_API_KEY'?");
        expect(text).toContain(`Asked by secrets.ipynb on ${new URL(url).host}.`);
        await view.answerConsent(consent, 'Always for This Notebook');
        expect(await view.output(0, 'length:')).toBe(`length: ${key.length}`);

        // Printed, the value shows as [secret NAME]; "Always" asks no more.
        await view.runCell(1);
        expect(await view.output(1, '[secret')).toBe('[secret OPENAI_API_KEY]');

        // Signed in, the panel lists the team's secret (never its value).
        await view.button('Sign in to Team Server…').click();
        await view.fillDialog({ 'Server URL': team.url, Token: anaToken }, 'Sign In');
        await expect.poll(() => view.storeLine().textContent()).toContain(`as ana`);
        await view.group('Team data').locator('li[data-secret="WAREHOUSE_URL"]').waitFor();

        await view.save();
        await expect
          .poll(() => readFileSync(notebook, 'utf8'))
          .toContain('[secret OPENAI_API_KEY]');
        const saved = readFileSync(notebook, 'utf8');
        const browser = await storage();
        for (const value of [key, teamValue]) {
          expect(saved).not.toContain(value);
          expect(browser).not.toContain(value);
          expect(log()).not.toContain(value);
          expect(team.output()).not.toContain(value);
        }
        expect(filesContaining(join(notebook, '..'), key)).toEqual([]);
      },
    );
  });

  test('a denied cell gets SecretAccessError', async () => {
    const value = canary('deny');
    await withLab(
      'deny',
      ["from notebook_secrets import get_secret\nprint(len(get_secret('API_TOKEN')))"],
      async ({ view, log, storage }) => {
        await view.openPanel();
        await view.waitForKernelReady();
        await view.button('New Secret…').click();
        await view.fillDialog({ Name: 'API_TOKEN', Value: value }, 'Save');
        await view.row('API_TOKEN').waitFor();

        await view.runCell(0);
        await view.answerConsent(await view.consent('API_TOKEN'), 'Deny');
        const output = await view.output(0, 'SecretAccessError');
        expect(output).toContain("Access to 'API_TOKEN' was denied");
        expect(output).not.toContain(value);
        expect(await storage()).not.toContain(value);
        expect(log()).not.toContain(value);
      },
    );
  });
});

describe('the Python package a JupyterLab user installs', () => {
  test('installs the prebuilt lab extension and the server extension, enabled', async () => {
    // The prebuilt (federated) extension, built with npm tooling only.
    const labextension = await buildPrebuilt();
    const built = JSON.parse(readFileSync(join(labextension, 'package.json'), 'utf8')) as {
      jupyterlab: { _build: { load: string } };
    };
    expect(built.jupyterlab._build.load).toMatch(/^static\/remoteEntry\.\w+\.js$/);

    const dir = mkdtempSync(join(inject('e2e').runDir, 'wheel-'));
    const sh = (command: string, args: string[]) => {
      const result = spawnSync(command, args, { cwd: dir, encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}:\n${result.stderr}`);
      return result.stdout + result.stderr;
    };
    try {
      sh(SYSTEM_PYTHON, [
        '-m',
        'pip',
        'wheel',
        '-q',
        '--no-deps',
        '--no-build-isolation',
        '-w',
        dir,
        SERVER_EXTENSION_PATH,
      ]);
      const wheel = readdirSync(dir).find((f) => f.endsWith('.whl'))!;
      // One step for the user: pip install (here into a venv, with no index to download from).
      sh(SYSTEM_PYTHON, ['-m', 'venv', '--system-site-packages', join(dir, 'venv')]);
      sh(join(dir, 'venv', 'bin', 'pip'), [
        'install',
        '-q',
        '--no-deps',
        '--no-index',
        join(dir, wheel),
      ]);
      const listed = sh(join(dir, 'venv', 'bin', 'python'), [
        '-m',
        'jupyter_server',
        'extension',
        'list',
      ]);
      expect(listed).toMatch(/notebook_secrets_jupyterlab\s.*enabled/);
      expect(listed).toMatch(/notebook_secrets_jupyterlab 0\.1\.0 .*OK/);
      const installed = join(
        dir,
        'venv',
        'share',
        'jupyter',
        'labextensions',
        'notebook-secrets-jupyterlab',
      );
      expect(readdirSync(join(installed, 'static'))).toContain(
        built.jupyterlab._build.load.slice(7),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
      for (const leftover of ['build', 'notebook_secrets_jupyterlab.egg-info']) {
        rmSync(join(SERVER_EXTENSION_PATH, leftover), { recursive: true, force: true });
      }
    }
  });
});
