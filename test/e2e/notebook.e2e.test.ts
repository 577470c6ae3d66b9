// get_secret in a notebook cell, all through the real VS Code UI (code-server in Chromium): the
// secret is created in the Secrets view, the notebook runs on a real ipykernel of a real Jupyter
// server through the demo's Jupyter (demo/jupyter/, in place of ms-toolsai.jupyter), get_secret
// is enabled from the notebook toolbar and the consent dialog is answered by clicking.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startJupyterServer, type JupyterServer } from '../integration/kernel/harness';
import { withWorkbench, type Workbench, filesContaining } from './harness';
import { NotebookView, writeNotebook } from './notebookView';
import { SecretsView } from './secretsView';

/** A value that can only come from this run, so finding it anywhere means it leaked. */
const canary = (label: string) => `${label}-canary-${randomUUID()}`;

/** The first cell starts the kernel; the second reads the secret. */
/** How often `needle` occurs in the files under `dir`. */
function occurrences(dir: string, needle: string): number {
  let count = 0;
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const file = join(dir, entry);
    if (statSync(file).isFile()) count += readFileSync(file, 'utf8').split(needle).length - 1;
  }
  return count;
}

const CELLS = [
  "print('kernel ' + 'ready')",
  "from notebook_secrets import get_secret\nprint(len(get_secret('X')))",
];

let jupyter: JupyterServer;

beforeAll(async () => {
  jupyter = await startJupyterServer();
});

afterAll(async () => {
  await jupyter?.stop();
});

/**
 * Points the demo Jupyter at this test's Jupyter server, writes the notebook, creates secret X in the
 * Secrets view, opens the notebook on the demo Jupyter's kernel, runs the first cell (as the extension
 * asks: the Jupyter API only hands out started kernels) and enables get_secret from the toolbar.
 */
async function enabledNotebook(wb: Workbench, value: string) {
  mkdirSync(join(wb.workspace, '.vscode'), { recursive: true });
  writeFileSync(
    join(wb.workspace, '.vscode', 'demo-jupyter.json'),
    JSON.stringify({ baseUrl: jupyter.baseUrl, token: jupyter.token }),
  );
  const file = join(wb.workspace, 'get-secret.ipynb');
  writeNotebook(file, CELLS);

  const view = new SecretsView(wb.page);
  await view.open();
  await view.createSecret({ name: 'X', value, type: 'Token' });
  await view.dismissNotifications();

  const notebook = new NotebookView(wb.page);
  await notebook.open('get-secret.ipynb');
  await notebook.kernel('Python 3 (demo Jupyter)').waitFor({ timeout: 30_000 });
  await notebook.runCell(0);
  await notebook.waitForOutput('kernel ready');
  await notebook.clickToolbarAction('Enable get_secret for this notebook');
  await view.toast("get_secret is enabled in this notebook's kernel");
  await view.dismissNotifications();
  return { view, notebook, file };
}

describe('get_secret in a notebook in VS Code', () => {
  test('a cell prints the length of a secret after the user allows it', async () => {
    await withWorkbench('notebook-get-secret', async (wb) => {
      const value = canary('nb');
      const { view, notebook, file } = await enabledNotebook(wb, value);

      await notebook.runCell(1);
      const consent = view.dialog("Allow the secret 'X'?");
      await consent.waitFor({ timeout: 30_000 });
      expect(await consent.textContent()).toContain("get_secret('X')");
      await view.clickDialogButton(consent, 'Always for This Notebook');
      const length = new RegExp(`^\\s*${value.length}\\s*$`);
      expect(await notebook.waitForOutput(length)).toBe(String(value.length));
      await wb.page.mouse.move(700, 600);
      await wb.screenshot('notebook-get-secret');

      // Saved with its output, but without the value; no log has it either.
      await notebook.save();
      await expect
        .poll(() => readFileSync(file, 'utf8'), { timeout: 30_000 })
        .toContain(`"${value.length}\\n"`);
      expect(readFileSync(file, 'utf8')).not.toContain(value);
      expect(filesContaining(join(wb.userDataDir, 'logs'), value)).toEqual([]);
      expect(filesContaining(wb.workspace, value)).toEqual([]);
      expect(
        readFileSync(join(dirname(wb.userDataDir), 'code-server.log'), 'latin1'),
      ).not.toContain(value);

      // Restart from the toolbar: the extension enables get_secret in the new kernel by itself (its
      // log says so once more) and "Always" needs no new answer. Each setup logs a line: one as
      // the kernel started, and one for the Enable command unless it joined that one; the log
      // file is written a moment later, so wait until its count settles.
      const enabled = () => occurrences(join(wb.userDataDir, 'logs'), 'get_secret enabled for');
      let before = enabled();
      for (let i = 0; i < 15; i++) {
        await wb.page.waitForTimeout(2000);
        const now = enabled();
        if (now === before && now > 0) break;
        before = now;
      }
      expect(before).toBeGreaterThan(0);
      await notebook.clickToolbarAction('Restart');
      await expect.poll(enabled, { timeout: 30_000 }).toBeGreaterThan(before);
      await notebook.clickToolbarAction('Clear All Outputs');
      await notebook.output(length).waitFor({ state: 'detached', timeout: 30_000 });
      await notebook.runCell(1);
      await notebook.waitForOutput(length);
      expect(await consent.isVisible()).toBe(false);
      expect(filesContaining(join(wb.userDataDir, 'logs'), value)).toEqual([]);
    });
  });

  test('a cell gets SecretAccessError when the user denies it', async () => {
    await withWorkbench('notebook-deny', async (wb) => {
      const value = canary('deny');
      const { view, notebook } = await enabledNotebook(wb, value);

      await notebook.runCell(1);
      const consent = view.dialog("Allow the secret 'X'?");
      await view.clickDialogButton(consent, 'Deny');
      const output = await notebook.waitForOutput('SecretAccessError');
      expect(output).not.toContain(value);
      expect(filesContaining(join(wb.userDataDir, 'logs'), value)).toEqual([]);
    });
  });
});
