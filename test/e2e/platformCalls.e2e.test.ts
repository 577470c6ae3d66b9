// The demo's notebook written for Colab (demo/workspace/colab-style.ipynb), opened in VS Code as a
// user would: it lists the key it reads (the Colab way) in "This Notebook", asks once whether
// Notebook Secrets should serve such calls, and its cell runs unchanged, under the demo's
// Jupyter stand-in in its real-contract mode; libraries still find no google.colab.
import { randomUUID } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { repoRoot } from '../../scripts/codeServer.mjs';
import { filesContaining, withWorkbench } from './harness';
import { NotebookView } from './notebookView';
import { SecretsView } from './secretsView';

const NOTEBOOK = 'colab-style.ipynb';
const QUESTION = 'reads keys the Colab way; serve them from Notebook Secrets?';

describe('a notebook written for Colab', () => {
  test('lists its needs, asks once whether to serve them, and runs unchanged', async () => {
    await withWorkbench('platform-calls-colab', async (wb) => {
      const file = join(wb.workspace, NOTEBOOK);
      copyFileSync(join(repoRoot, 'demo', 'workspace', NOTEBOOK), file);
      const value = `hf_canary${randomUUID().replace(/-/g, '')}`;
      const view = new SecretsView(wb.page);
      await view.open();
      const notebook = new NotebookView(wb.page);
      await notebook.open(NOTEBOOK);
      await notebook.kernel('Python 3 (demo Jupyter)').waitFor({ timeout: 30_000 });

      // The question, once, on opening; the answer is saved in the notebook's metadata.
      const question = view.toastLocator(QUESTION);
      await question.first().waitFor({ timeout: 30_000 });
      const toast = wb.page.locator('.notification-toast', {
        has: wb.page.locator('.notification-list-item-message', { hasText: QUESTION }),
      });
      await toast.locator('.monaco-button', { hasText: 'Serve Them' }).click();
      await question.first().waitFor({ state: 'detached', timeout: 30_000 });

      // "This Notebook" lists what it reads, and how; Add… stores it.
      await view.neededRow('HF_TOKEN').filter({ hasText: 'Colab' }).waitFor({ timeout: 30_000 });
      await view.addNeeded('HF_TOKEN', { value, type: 'Token' });
      await view.neededRow('HF_TOKEN').filter({ hasText: 'present' }).waitFor();
      await view.dismissNotifications();

      // The cell runs as written: consent as for get_secret, then the value.
      await notebook.runCellWith("userdata.get('HF_TOKEN')");
      await view.clickDialogButton(
        view.dialog("Allow the secret 'HF_TOKEN'?"),
        'Always for This Notebook',
      );
      expect(await notebook.waitForOutput('token loaded:')).toBe(
        `token loaded: ${value.length} characters`,
      );
      await view.clickDialogButton(
        view.dialog('Do you want to grant Kernel access to the extension Notebook Secrets'),
        'Allow',
      );

      // Not Colab for anything else, and the value redacted when printed.
      await notebook.runCellWith('in Colab:');
      expect(await notebook.waitForOutput('in Colab:')).toBe(
        'in Colab: False\ntoken: [secret HF_TOKEN]',
      );
      await wb.screenshot('platform-calls-colab');

      // Asked once: running the cell again asks nothing.
      await notebook.runCellWith("userdata.get('HF_TOKEN')");
      await notebook.waitForOutput('token loaded:');
      expect(await view.dialog(QUESTION).count()).toBe(0);
      expect(await question.count()).toBe(0);

      await notebook.save();
      await expect
        .poll(() => readFileSync(file, 'utf8'), { timeout: 30_000 })
        .toContain('"serve_platform_calls": true');
      expect(readFileSync(file, 'utf8')).not.toContain(value);
      expect(filesContaining(join(wb.userDataDir, 'logs'), value)).toEqual([]);
      expect(filesContaining(wb.workspace, value)).toEqual([]);
      expect(
        readFileSync(join(dirname(wb.userDataDir), 'code-server.log'), 'latin1'),
      ).not.toContain(value);
    });
  });
});
