// Every action of the Secrets view, done as a person does it: clicks in the real VS Code UI
// (code-server in Chromium), typing into the real input boxes. Each test has its own code-server,
// user-data folder, workspace and browser profile.
import { randomUUID } from 'node:crypto';
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { repoRoot } from '../../scripts/codeServer.mjs';
import { withWorkbench, filesContaining } from './harness';
import { SecretsView } from './secretsView';

/** A value that can only come from this run, so finding it anywhere means it leaked. */
const canary = (label: string) => `${label}-canary-${randomUUID()}`;
const EXTENSION_ID = 'notebook-secrets.notebook-secrets';

describe('the Secrets view in VS Code', () => {
  test('creates, shows, edits, reveals, copies and deletes a secret from the tree', async () => {
    await withWorkbench('lifecycle', async ({ page, screenshot, userDataDir }) => {
      const view = new SecretsView(page);
      await view.open();
      expect(await view.welcome().textContent()).toContain('No secrets yet');
      await view.welcomeButton('New Secret from File').waitFor();
      await view.welcomeButton('New Secret').first().waitFor();
      await screenshot('welcome-view');

      const first = canary('sk');
      await view.createSecret({
        name: 'OPENAI_API_KEY',
        value: first,
        type: 'Token',
        description: 'Demo key',
      });
      expect(
        await view.toast(
          "Saved OPENAI_API_KEY. Use it in a cell with get_secret('OPENAI_API_KEY')",
        ),
      ).toBeTruthy();
      expect(await view.rowLabels()).toEqual(['Personal', 'OPENAI_API_KEY']);
      expect(await view.row('OPENAI_API_KEY').locator('.label-description').textContent()).toBe(
        'token',
      );

      // Edit the value through the inline Edit button: a QuickPick, then a password InputBox.
      const second = canary('sk2');
      await view.inlineAction('OPENAI_API_KEY', 'Edit Secret…', view.step('Edit OPENAI_API_KEY'));
      await view.pick('Edit OPENAI_API_KEY', 'Value…');
      await view.waitForStep('Edit OPENAI_API_KEY (1/1)');
      expect(await view.input.getAttribute('type')).toBe('password');
      await view.answer('Edit OPENAI_API_KEY (1/1)', second);
      await view.waitForQuickInputClosed();

      // Edit the type through the context menu.
      await view.contextAction('OPENAI_API_KEY', 'Edit Secret…', view.step('Edit OPENAI_API_KEY'));
      await view.pick('Edit OPENAI_API_KEY', 'Type…');
      await view.pick('Edit OPENAI_API_KEY (1/1)', 'Key');
      await view.waitForQuickInputClosed();
      await view
        .row('OPENAI_API_KEY')
        .locator('.label-description', { hasText: /^key$/ })
        .waitFor();

      // Reveal shows the new value in a modal titled with the name; its Copy button copies it.
      const reveal = view.dialog('OPENAI_API_KEY');
      await view.inlineAction('OPENAI_API_KEY', 'Reveal Secret', reveal);
      expect(await reveal.locator('.dialog-message-detail').textContent()).toBe(second);
      await view.clickDialogButton(reveal, 'Copy');
      expect(await view.toast('Copied OPENAI_API_KEY to the clipboard.')).toBeTruthy();
      expect(await view.clipboard()).toBe(second);

      // Copy from the inline button, after something else took the clipboard.
      await page.evaluate("navigator.clipboard.writeText('something else')");
      await view.dismissNotifications();
      const copied = view.toastLocator('Copied OPENAI_API_KEY to the clipboard.');
      await view.inlineAction('OPENAI_API_KEY', 'Copy Secret Value', copied);
      expect(await view.clipboard()).toBe(second);

      await view.dismissNotifications();
      await page.mouse.move(700, 400);
      await screenshot('populated-view');

      // Delete asks first; Cancel keeps it, Delete removes it and the welcome view returns.
      const confirm = view.dialog("Delete the secret 'OPENAI_API_KEY'?");
      await view.contextAction('OPENAI_API_KEY', 'Delete Secret…', confirm);
      await view.clickDialogButton(confirm, 'Cancel');
      expect(await view.rowLabels()).toContain('OPENAI_API_KEY');
      await view.contextAction('OPENAI_API_KEY', 'Delete Secret…', confirm);
      await view.clickDialogButton(confirm, 'Delete');
      await view.row('OPENAI_API_KEY').waitFor({ state: 'detached' });
      await view.welcomeButton('New Secret from File').waitFor();

      // Neither value reached a log file of VS Code or of the extension.
      expect(filesContaining(join(userDataDir, 'logs'), first)).toEqual([]);
      expect(filesContaining(join(userDataDir, 'logs'), second)).toEqual([]);
    });
  });

  test('shows why a name is invalid as it is typed, and stores nothing on Escape', async () => {
    await withWorkbench('invalid-name', async ({ page }) => {
      const view = new SecretsView(page);
      await view.open();
      await view.welcomeButton('New Secret').first().click();
      await view.waitForStep('New Secret (1/4)');
      await view.input.fill('1abc');
      expect(await view.validationMessage('cannot start with a digit')).toContain(
        'A name cannot start with a digit. Use 1–128 letters, digits or underscores',
      );
      // Enter does not accept an invalid name: the same step stays open.
      await view.input.press('Enter');
      await view.waitForStep('New Secret (1/4)');
      await view.input.fill('MY-KEY');
      await view.validationMessage('letters, digits or underscores');
      await view.input.press('Escape');
      await view.waitForQuickInputClosed();
      expect(await view.welcome().textContent()).toContain('No secrets yet');
    });
  });

  test('stores a file as a file secret through New Secret from File', async () => {
    await withWorkbench('from-file', async ({ page, workspace }) => {
      const pem = `-----BEGIN PRIVATE KEY-----\n${canary('pem')}\n-----END PRIVATE KEY-----\n`;
      const file = join(workspace, 'service-key.pem');
      writeFileSync(file, pem);
      const view = new SecretsView(page);
      await view.open();
      await view.welcomeButton('New Secret from File').click();
      // code-server's open dialog is VS Code's simple file dialog: a quick input with a path.
      await view.waitForStep('New Secret from File');
      await view.quickInput.locator('.monaco-list-row', { hasText: 'service-key.pem' }).waitFor();
      await view.answer('New Secret from File', file);
      await view.waitForStep('New Secret from service-key.pem (1/2)');
      expect(await view.input.inputValue()).toBe('SERVICE_KEY_PEM');
      await view.answer('New Secret from service-key.pem (1/2)', undefined);
      await view.answer('New Secret from service-key.pem (2/2)', undefined);
      await view.waitForQuickInputClosed();
      await view.row('SERVICE_KEY_PEM').waitFor();
      expect(await view.row('SERVICE_KEY_PEM').locator('.label-description').textContent()).toBe(
        'file',
      );
      expect(await view.toast("get_secret_bytes('SERVICE_KEY_PEM')")).toContain('service-key.pem');
      // Copy gives back the file's text.
      await view.inlineAction(
        'SERVICE_KEY_PEM',
        'Copy Secret Value',
        view.toastLocator('Copied SERVICE_KEY_PEM to the clipboard.'),
      );
      expect(await view.clipboard()).toBe(pem);
    });
  });

  test('keeps secrets across a page reload', async () => {
    await withWorkbench('reload', async ({ page, screenshot, userDataDir }) => {
      const view = new SecretsView(page);
      await view.open();
      const token = canary('tok');
      await view.createSecret({ name: 'OPENAI_API_KEY', value: token, type: 'Token' });
      await view.createSecret({ name: 'DB_PASSWORD', value: canary('pw'), type: 'Password' });
      await view.createSecret({ name: 'HF_TOKEN', value: canary('hf'), type: 'Token' });

      await page.reload();
      await view.open();
      await view.row('HF_TOKEN').waitFor();
      expect(await view.rowLabels()).toEqual([
        'Personal',
        'DB_PASSWORD',
        'HF_TOKEN',
        'OPENAI_API_KEY',
      ]);
      expect(await view.revealedValue('OPENAI_API_KEY')).toBe(token);
      // In VS Code for the Web they are sealed files beside the extension host, one per key, not
      // the browser's one localStorage entry; no file holds a value.
      const sealed = join(userDataDir, 'User', 'globalStorage', EXTENSION_ID, 'sealed');
      expect(readdirSync(sealed, { recursive: true, encoding: 'utf8' })).toContainEqual(
        expect.stringMatching(/notebook-secrets%2Fvalue%2Fpersonal%2FOPENAI_API_KEY$/),
      );
      expect(filesContaining(userDataDir, token)).toEqual([]);

      // The picture for the README: the populated view beside the demo notebook.
      await page.keyboard.press('Control+P');
      await view.input.fill('getting-started.ipynb');
      await view.quickInput
        .locator('.monaco-list-row', { hasText: 'getting-started' })
        .first()
        .waitFor();
      await view.input.press('Enter');
      await page
        .locator('.notebookOverlay .view-line', { hasText: 'from notebook_secrets import' })
        .first()
        .waitFor();
      // Markdown cells render in a webview; give it a moment to paint for the picture.
      await page.waitForTimeout(3000);
      await view.dismissNotifications().catch(() => undefined);
      await page.mouse.move(700, 400);
      const shot = await screenshot('populated-view-with-notebook');
      if (process.env.NOTEBOOK_SECRETS_UPDATE_SCREENSHOT) {
        copyFileSync(shot, join(repoRoot, 'media', 'screenshot.png'));
      }
    });
  });
});
