// The leak guard through the real VS Code UI: "Scan Workspace for Secrets" finds a key pasted into
// a notebook cell (and printed in an output), the cell shows a warning in the Problems panel, the
// quick fix moves the key into Secrets and leaves get_secret('…') (and its import, once) in its
// place, and saving the notebook while an old output still shows the key warns and clears it.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { withWorkbench, filesContaining } from './harness';
import { NotebookView, writeNotebook } from './notebookView';
import { SecretsView } from './secretsView';

/** An OpenAI-shaped project key that only this run has. */
function pastedKey(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const body = [...randomBytes(48)].map((b) => alphabet[b % alphabet.length]).join('');
  return `sk-proj-${body}`;
}

test('finds a pasted key, moves it into Secrets, and clears a saved output that shows it', async () => {
  await withWorkbench('leak-guard', async ({ page, workspace, userDataDir, screenshot }) => {
    const key = pastedKey();
    const file = join(workspace, 'pasted-key.ipynb');
    writeNotebook(file, [
      `import os\nopenai_api_key = "${key}"\n`,
      {
        source: 'print(openai_api_key)',
        outputs: [{ output_type: 'stream', name: 'stdout', text: [`${key}\n`] }],
      },
    ]);
    const view = new SecretsView(page);
    await view.open();

    // The scan lists the key in the cell's source and in the output, masked, and opens the cell.
    await view.runCommand('Notebook Secrets: Scan Workspace for Secrets');
    await view.waitForStep('possible secret(s) in 1 file(s)');
    const rows = view.quickInput.locator('.quick-input-list .monaco-list-row');
    const inSource = rows.filter({ hasText: 'cell 1, line 2' }).first();
    await inSource.waitFor();
    await rows.filter({ hasText: 'cell 2, output 1' }).first().waitFor();
    for (const text of await rows.allTextContents()) {
      expect(text).toContain('OpenAI API key');
      expect(text).not.toContain(key);
    }
    await inSource.click();
    const notebook = new NotebookView(page);
    await notebook.editor.locator('.cell-list-container').waitFor();

    // The Problems panel names the key, the cell and the line, without the key.
    await view.runCommand('Focus on Problems View');
    const problem = page
      .locator('.markers-panel .monaco-list-row')
      .filter({ hasText: 'Hard-coded OpenAI API key' })
      .first();
    await problem.waitFor();
    expect(await problem.textContent()).not.toContain(key);

    // The quick fix on the key: Ctrl+. in the cell, accept the suggested name.
    const literal = notebook
      .cells()
      .nth(0)
      .locator('.view-line span span', { hasText: 'sk-proj-' })
      .first();
    const fix = page
      .locator('.action-widget')
      .getByText('Move Hard-Coded Key to Notebook Secrets…');
    for (let i = 0; i < 3 && !(await fix.first().isVisible()); i++) {
      await literal.click();
      await page.keyboard.press('Control+.');
      await fix
        .first()
        .waitFor({ timeout: 10_000 })
        .catch(() => undefined);
    }
    await fix.first().click();
    await view.waitForStep('Move Hard-Coded Key to Notebook Secrets');
    expect(await view.input.inputValue()).toBe('OPENAI_API_KEY');
    await view.answer('Move Hard-Coded Key to Notebook Secrets', undefined);
    await view.toast("the cell now reads get_secret('OPENAI_API_KEY')");
    await view.row('OPENAI_API_KEY').waitFor();
    await notebook
      .cells()
      .nth(0)
      .locator('.view-line', { hasText: "openai_api_key = get_secret('OPENAI_API_KEY')" })
      .waitFor();
    await view.dismissNotifications();

    // Saving: the old output still shows the key, now a stored value. VS Code may save the
    // notebook by itself right after the quick fix's edit; if it is still unsaved, save it.
    const warning = view.dialog('The saved notebook holds the value of OPENAI_API_KEY');
    const unsaved = page.locator('.tabs-container .tab.dirty', { hasText: 'pasted-key.ipynb' });
    await expect
      .poll(
        async () => {
          if (await warning.isVisible()) return true;
          if (await unsaved.isVisible()) await notebook.save();
          return false;
        },
        { timeout: 30_000 },
      )
      .toBe(true);
    expect(await warning.textContent()).not.toContain(key);
    await screenshot('leak-guard-save-warning');
    await view.clickDialogButton(warning, 'Clear Those Outputs');
    await expect.poll(() => readFileSync(file, 'utf8'), { timeout: 30_000 }).not.toContain(key);
    const saved = readFileSync(file, 'utf8');
    expect(saved).toContain("get_secret('OPENAI_API_KEY')");
    expect(saved.split('from notebook_secrets import get_secret').length - 1).toBe(1);
    expect(filesContaining(join(userDataDir, 'logs'), key)).toEqual([]);
  });
});
