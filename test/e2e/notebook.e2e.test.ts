// get_secret in a notebook cell, all through the real VS Code UI (code-server in Chromium): the
// secret is created in the Secrets view, the notebook runs on a real ipykernel through the demo's
// Jupyter (demo/jupyter/, in place of ms-toolsai.jupyter), which keeps the real extension's
// contract with a third-party extension: no kernel start event for Notebook Secrets, kernels
// handed out only once the user ran a cell, and its own "grant Kernel access" dialog before the
// first code Notebook Secrets runs in a kernel. Both dialogs are answered by clicking.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { withWorkbench, type Workbench, filesContaining } from './harness';
import { NotebookView, writeNotebook } from './notebookView';
import { SecretsView } from './secretsView';

/** A value that can only come from this run, so finding it anywhere means it leaked. */
const canary = (label: string) => `${label}-canary-${randomUUID()}`;

/** How often `needle` occurs in the files under `dir`. */
function occurrences(dir: string, needle: string): number {
  let count = 0;
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const file = join(dir, entry);
    if (statSync(file).isFile()) count += readFileSync(file, 'utf8').split(needle).length - 1;
  }
  return count;
}

/** The notebook's first cell reads the secret: nothing runs before it. */
const CELLS = ["from notebook_secrets import get_secret\nprint(len(get_secret('X')))"];
const KERNEL_ACCESS =
  'Do you want to grant Kernel access to the extension Notebook Secrets (notebook-secrets.notebook-secrets)?';

/** Writes the notebook, creates secret X in the Secrets view and opens the notebook on its kernel. */
async function notebookWithSecret(wb: Workbench, value: string) {
  const file = join(wb.workspace, 'get-secret.ipynb');
  writeNotebook(file, CELLS);
  const view = new SecretsView(wb.page);
  await view.open();
  await view.createSecret({ name: 'X', value, type: 'Token' });
  await view.dismissNotifications();
  const notebook = new NotebookView(wb.page);
  await notebook.open('get-secret.ipynb');
  await notebook.kernel('Python 3 (demo Jupyter)').waitFor({ timeout: 30_000 });
  return { view, notebook, file };
}

const logs = (wb: Workbench) => join(wb.userDataDir, 'logs');

describe('get_secret in a notebook in VS Code, under the Jupyter extension as published', () => {
  test("a fresh kernel's first cell gets the value on its first run, and again after a restart", async () => {
    await withWorkbench('notebook-get-secret', async (wb) => {
      const value = canary('nb');
      const { view, notebook, file } = await notebookWithSecret(wb, value);

      // The first run of the first cell: the consent dialog, then the value, with no Enable step.
      await notebook.runCell(0);
      const consent = view.dialog("Allow the secret 'X'?");
      await consent.waitFor({ timeout: 30_000 });
      expect(await consent.textContent()).toContain("get_secret('X')");
      await view.clickDialogButton(consent, 'Always for This Notebook');
      const length = new RegExp(`^\\s*${value.length}\\s*$`);
      expect(await notebook.waitForOutput(length)).toBe(String(value.length));

      // Then the Jupyter extension asks, once, whether Notebook Secrets may access kernels;
      // Notebook Secrets said so first.
      const access = view.dialog(KERNEL_ACCESS);
      await access.waitFor({ timeout: 30_000 });
      await view.toast('asks once whether to grant Notebook Secrets kernel access');
      await view.clickDialogButton(access, 'Allow');
      await expect
        .poll(() => occurrences(logs(wb), 'get_secret enabled for get-secret.ipynb'), {
          timeout: 30_000,
        })
        .toBeGreaterThan(0);
      await wb.page.mouse.move(700, 600);
      await wb.screenshot('notebook-get-secret');

      // Activation read the kernel start event the Jupyter extension refuses, without an error.
      expect(occurrences(logs(wb), 'Proposed API is not supported for extension')).toBe(1);
      expect(occurrences(logs(wb), 'kernel start event is not available to Notebook Secrets')).toBe(
        1,
      );

      // Saved with its output, but without the value; no log has it either.
      await notebook.save();
      await expect
        .poll(() => readFileSync(file, 'utf8'), { timeout: 30_000 })
        .toContain(`"${value.length}\\n"`);
      expect(readFileSync(file, 'utf8')).not.toContain(value);
      expect(filesContaining(logs(wb), value)).toEqual([]);
      expect(filesContaining(wb.workspace, value)).toEqual([]);
      expect(
        readFileSync(join(dirname(wb.userDataDir), 'code-server.log'), 'latin1'),
      ).not.toContain(value);

      // Restart from the toolbar, then run the same cell first: it works at once, with neither
      // dialog ("Always" and the kernel access are remembered).
      await notebook.clickToolbarAction('Restart');
      await notebook.clickToolbarAction('Clear All Outputs');
      await notebook.output(length).waitFor({ state: 'detached', timeout: 30_000 });
      await notebook.runCell(0);
      await notebook.waitForOutput(length);
      expect(await consent.isVisible()).toBe(false);
      expect(await access.isVisible()).toBe(false);
      expect(filesContaining(logs(wb), value)).toEqual([]);
    });
  });

  test('Deny in the kernel-access dialog: the next get_secret says how to allow it', async () => {
    await withWorkbench('notebook-kernel-access-deny', async (wb) => {
      const value = canary('kaccess');
      const { view, notebook } = await notebookWithSecret(wb, value);
      await notebook.runCell(0);
      await view.clickDialogButton(view.dialog("Allow the secret 'X'?"), 'Allow Once');
      await notebook.waitForOutput(new RegExp(`^\\s*${value.length}\\s*$`));
      await view.clickDialogButton(view.dialog(KERNEL_ACCESS), 'Deny');
      await notebook.clickToolbarAction('Clear All Outputs');
      await notebook.runCell(0);
      const output = await notebook.waitForOutput('SecretsUnavailableError');
      expect(output).toContain('Jupyter: Manage Access To Jupyter Kernels');
      expect(output).not.toContain(value);
    });
  });

  test('a cell gets SecretAccessError when the user denies it', async () => {
    await withWorkbench('notebook-deny', async (wb) => {
      const value = canary('deny');
      const { view, notebook } = await notebookWithSecret(wb, value);
      await notebook.runCell(0);
      await view.clickDialogButton(view.dialog("Allow the secret 'X'?"), 'Deny');
      const output = await notebook.waitForOutput('SecretAccessError');
      expect(output).not.toContain(value);
      expect(filesContaining(logs(wb), value)).toEqual([]);
    });
  });
});

describe('get_secret under a Jupyter extension that gives Notebook Secrets its kernel start event', () => {
  test('the kernel is set up as it starts, before the first cell runs', async () => {
    await withWorkbench(
      'notebook-start-event',
      async (wb) => {
        const value = canary('started');
        const { view, notebook } = await notebookWithSecret(wb, value);
        await notebook.runCell(0);
        // The set-up runs first, so the kernel-access question comes before the consent one.
        await view.clickDialogButton(view.dialog(KERNEL_ACCESS), 'Allow');
        await view.clickDialogButton(view.dialog("Allow the secret 'X'?"), 'Allow Once');
        await notebook.waitForOutput(new RegExp(`^\\s*${value.length}\\s*$`));
        expect(occurrences(logs(wb), '(kernels.onDidStart)')).toBe(1);
        expect(filesContaining(logs(wb), value)).toEqual([]);
      },
      {},
      { NOTEBOOK_SECRETS_DEMO_JUPYTER_PROPOSED_API: '1' },
    );
  });
});
