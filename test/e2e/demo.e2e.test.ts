// What `npm start` gives a new user, driven through the same set-up (scripts/demo.mjs): the demo
// notebook opens by itself on the demo Jupyter's kernel and says it needs OPENAI_API_KEY; the user
// adds it with "Add…" in the Secrets view's "This Notebook" group, runs the cell (get_secret sets
// itself up from that first call), allows it in VS Code's dialog and sees the key's length, and
// grants Notebook Secrets kernel access when the Jupyter extension asks;
// then signs in to the demo team server with the token npm start prints, sees the team secret and
// the one alex shares, and reads the team secret from a cell. The demo's JupyterLab shows the same
// notebook's needs in its Secrets panel and signs in to the same team server. The repo's demo/ is
// never written to.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, inject, test } from 'vitest';
import { freePort, repoRoot } from '../../scripts/codeServer.mjs';
import { DEMO_NOTEBOOK, startDemo } from '../../scripts/demo.mjs';
import { buildCli } from '../integration/sync/harness';
import { openBrowser, filesContaining } from './harness';
import { LabView } from './labView';
import { NotebookView } from './notebookView';
import { SecretsView } from './secretsView';

test('the demo runs get_secret in its notebook and shows the team secret after sign-in', async () => {
  const { runDir } = inject('e2e');
  const original = readFileSync(join(repoRoot, 'demo', 'workspace', DEMO_NOTEBOOK), 'utf8');
  const demo = await startDemo({
    stateDir: join(runDir, 'demo'),
    vsix: process.env.NOTEBOOK_SECRETS_VSIX || join(repoRoot, 'dist', 'notebook-secrets.vsix'),
    cli: await buildCli(),
    port: await freePort(),
    teamPort: await freePort(),
    labPort: await freePort(),
  });
  const { browser, page, screenshot } = await openBrowser(demo.codeServer.url, demo.url);
  try {
    // The notebook is open, on the demo Jupyter's kernel, without the user opening anything.
    const notebook = new NotebookView(page);
    await notebook.editor.locator('.cell-list-container').waitFor({ timeout: 60_000 });
    await notebook.kernel('Python 3 (demo Jupyter)').waitFor({ timeout: 60_000 });

    // The notebook says which secrets it needs; "This Notebook" lists them, and Add… fills in
    // the name. get_secret is set up in the kernel by itself: no command to run first.
    const view = new SecretsView(page);
    expect(await view.toast('you do not have yet')).toContain("'OPENAI_API_KEY'");
    await view.open();
    await view.neededRow('OPENAI_API_KEY').filter({ hasText: 'missing' }).waitFor();
    const key = `sk-canary-${randomUUID()}`;
    await view.addNeeded('OPENAI_API_KEY', { value: key, type: 'Token' });
    await view.neededRow('OPENAI_API_KEY').filter({ hasText: 'present' }).waitFor();
    await view.row('OPENAI_API_KEY').waitFor();
    await view.dismissNotifications();

    await notebook.runCellWith("get_secret('OPENAI_API_KEY')");
    const consent = view.dialog("Allow the secret 'OPENAI_API_KEY'?");
    await view.clickDialogButton(consent, 'Always for This Notebook');
    expect(await notebook.waitForOutput('key loaded:')).toBe(
      `key loaded: ${key.length} characters`,
    );
    // After that first cell, the Jupyter extension asks once whether Notebook Secrets may
    // access its kernels (the demo's stand-in asks as the real one does).
    await view.clickDialogButton(
      view.dialog('Do you want to grant Kernel access to the extension Notebook Secrets'),
      'Allow',
    );

    // Sign in as the demo user with the token npm start prints; the server URL is preset.
    const status = page.locator(
      '.statusbar-item[id="notebook-secrets.notebook-secrets.notebookSecrets.sync"]',
    );
    await status.locator('a', { hasText: 'Secrets: local' }).click();
    await view.waitForStep('Sign in to Team Server (1/2)');
    expect(await view.input.inputValue()).toBe(demo.teamServer.url);
    await view.answer('Sign in to Team Server (1/2)', demo.teamServer.url);
    await view.answer('Sign in to Team Server (2/2)', demo.teamServer.token);
    await view.toast(`Signed in to ${demo.teamServer.url} as demo`);
    await view.row('WAREHOUSE_URL').waitFor({ timeout: 30_000 });
    await view.neededRow('WAREHOUSE_URL').filter({ hasText: 'present' }).waitFor();
    await view.row('WEATHER_API_KEY').waitFor({ timeout: 30_000 });
    await view.dismissNotifications();

    // The team secret reads in a cell like any other, once allowed.
    await notebook.runCellWith("get_secret('WAREHOUSE_URL')");
    await view.clickDialogButton(view.dialog("Allow the secret 'WAREHOUSE_URL'?"), 'Allow Once');
    expect(await notebook.waitForOutput('warehouse URL loaded:')).toMatch(
      /^warehouse URL loaded: \d+ characters$/,
    );
    await screenshot('demo');

    // The same notebook in the demo's JupyterLab: the Secrets panel says what it needs, and the
    // team server npm start printed is the one it offers at sign-in.
    const labPage = await page.context().newPage();
    const lab = new LabView(labPage);
    await labPage.goto(demo.jupyterLab.url.replace('/lab?', `/lab/tree/${DEMO_NOTEBOOK}?reset&`));
    await lab.openPanel();
    await lab.neededRow('OPENAI_API_KEY', false).waitFor({ timeout: 60_000 });
    await lab.button('Sign in to Team Server…').click();
    await lab.fillDialog({ Token: demo.teamServer.token }, 'Sign In');
    await lab.group('Team data').locator('li[data-secret="WAREHOUSE_URL"]').waitFor();
    await labPage.screenshot({ path: join(inject('e2e').artifactsDir, 'demo-jupyterlab.png') });

    expect(filesContaining(demo.workspace, key)).toEqual([]);
  } catch (error) {
    await screenshot('failure-demo').catch(() => undefined);
    throw error;
  } finally {
    await browser.close().catch(() => undefined);
    await demo.stop();
  }
  expect(readFileSync(join(repoRoot, 'demo', 'workspace', DEMO_NOTEBOOK), 'utf8')).toBe(original);
});
