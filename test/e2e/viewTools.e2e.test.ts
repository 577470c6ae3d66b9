// The rest of the Secrets view's actions, through the real UI: Filter (live, as you type), Clear
// Filter, Filter by Type, Group By, Refresh, Insert get_secret into a Python file, Share without a
// team server (it explains and offers Configure Server, whose URL is checked as you type) and Show
// Log.
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { withWorkbench } from './harness';
import { SecretsView } from './secretsView';

test('filters, groups, inserts get_secret and explains sharing without a server', async () => {
  await withWorkbench('view-tools', async ({ page, workspace, userDataDir, screenshot }) => {
    writeFileSync(join(workspace, 'train.py'), 'api_key = \n');
    const view = new SecretsView(page);
    await view.open();
    const values = [`sk-${randomUUID()}`, `pw-${randomUUID()}`, `key-${randomUUID()}`];
    await view.createSecret({
      name: 'OPENAI_API_KEY',
      value: values[0]!,
      type: 'Token',
      description: 'chat demo',
    });
    await view.createSecret({
      name: 'DB_PASSWORD',
      value: values[1]!,
      type: 'Password',
      description: 'postgres on staging',
    });
    await view.createSecret({ name: 'SSH_KEY', value: values[2]!, type: 'Key' });
    await view.dismissNotifications().catch(() => undefined);
    const all = ['Personal', 'DB_PASSWORD', 'OPENAI_API_KEY', 'SSH_KEY'];
    const shows = async (labels: string[]) => {
      await expect.poll(() => view.rowLabels(), { timeout: 15_000 }).toEqual(labels);
    };
    await shows(all);

    // Filter narrows the tree as you type; the view says how many it shows.
    await view.titleAction('Filter Secrets…').click();
    await view.waitForStep('Filter Secrets');
    await view.input.pressSequentially('postgres');
    await shows(['Personal', 'DB_PASSWORD']);
    await view.input.press('Enter');
    await view.waitForQuickInputClosed();
    await view.sidebar.getByText('Showing 1 of 3 secrets.').waitFor();
    await view.titleAction('Clear Secrets Filter').click();
    await shows(all);

    // Filter by Type and Group By sit in the view's "..." menu.
    const overflow = async (label: string) => {
      await view.sidebar.locator('.title-actions .codicon-toolbar-more').first().click();
      const menu = page.locator('.context-view .monaco-menu');
      await menu.waitFor();
      await menu.locator('.action-label', { hasText: label }).first().click();
    };
    await overflow('Filter Secrets by Type…');
    await view.waitForStep('Show Secrets of Type');
    await view.quickInput
      .locator('.quick-input-list .monaco-list-row', { hasText: /^token$/ })
      .click();
    await view.input.press('Enter');
    await view.waitForQuickInputClosed();
    await shows(['Personal', 'OPENAI_API_KEY']);
    await view.titleAction('Clear Secrets Filter').click();
    await shows(all);

    await overflow('Group Secrets By…');
    await view.pick('Group Secrets By', 'Type');
    await shows(['Password', 'DB_PASSWORD', 'Key', 'SSH_KEY', 'Token', 'OPENAI_API_KEY']);
    await view.titleAction('Refresh Secrets').click();
    await shows(['Password', 'DB_PASSWORD', 'Key', 'SSH_KEY', 'Token', 'OPENAI_API_KEY']);

    // Insert get_secret at the cursor of a Python file, from the item's context menu.
    await page.keyboard.press('Control+P');
    await view.input.fill('train.py');
    await view.quickInput.locator('.monaco-list-row', { hasText: 'train.py' }).first().waitFor();
    await view.input.press('Enter');
    const editor = page.locator('.editor-instance .monaco-editor').first();
    await editor.locator('.view-line', { hasText: 'api_key' }).waitFor();
    await page.keyboard.press('End');
    const inserted = editor.locator('.view-line', {
      hasText: "api_key = get_secret('OPENAI_API_KEY')",
    });
    await view.contextAction('OPENAI_API_KEY', 'Insert get_secret', inserted);
    expect(await editor.locator('.view-line', { hasText: 'get_secret' }).count()).toBe(1);

    // Share without a server explains why, and Configure Server checks the URL as it is typed.
    const explain = view.dialog("Sharing 'SSH_KEY' needs a team server.");
    await view.contextAction('SSH_KEY', 'Share Secret…', explain);
    await view.clickDialogButton(explain, 'Configure Server…');
    await view.waitForStep('Team Server URL');
    await view.input.fill('ftp://secrets.example.com');
    await view.validationMessage('http');
    await view.answer('Team Server URL', 'http://127.0.0.1:8787');
    expect(await view.toast('Team server set to http://127.0.0.1:8787.')).toBeTruthy();
    await expect
      .poll(() => readFileSync(join(userDataDir, 'User', 'settings.json'), 'utf8'))
      .toContain('"notebookSecrets.server.url": "http://127.0.0.1:8787"');
    await screenshot('view-tools');

    // Show Log opens the output channel; none of the values is in it.
    await overflow('Show Log');
    const output = page.locator('.part.panel .monaco-editor .view-lines');
    await output.getByText('Notebook Secrets activated').first().waitFor();
    const text = (await output.textContent()) ?? '';
    for (const value of values) expect(text).not.toContain(value);
    expect(readFileSync(join(workspace, 'train.py'), 'utf8')).not.toContain(values[0]!);
  });
});
