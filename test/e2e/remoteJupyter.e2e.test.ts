// get_secret in the kernels of a remote Jupyter server (say, a JupyterLab the user also has open),
// through the real VS Code UI: the user adds the server with "Add Jupyter Server", the extension
// injects the helper into its running kernels, and a cell run there (by this test, as JupyterLab
// would) gets its secret in band, after the user allows it in VS Code's consent dialog. Once the
// server is removed, a call fails with SecretsUnavailableError and the kernel's output still flows.
import { randomUUID } from 'node:crypto';
import { expect, test } from 'vitest';
import { runCell, startJupyterServer, startKernel } from '../integration/kernel/harness';
import { withWorkbench } from './harness';
import { SecretsView } from './secretsView';

test('a kernel of an added Jupyter server reads a secret after the user allows it', async () => {
  const jupyter = await startJupyterServer();
  try {
    const kernel = await startKernel(jupyter);
    await withWorkbench('remote-jupyter', async ({ page, screenshot }) => {
      const view = new SecretsView(page);
      await view.open();
      const value = `remote-canary-${randomUUID()}`;
      await view.createSecret({ name: 'X', value, type: 'Token' });
      await view.dismissNotifications().catch(() => undefined);

      // Add Jupyter Server from the command palette: URL, then the token (a password input).
      await view.runCommand('Notebook Secrets: Add Jupyter Server');
      await view.answer('Add Jupyter Server (1/2)', jupyter.baseUrl);
      await view.waitForStep('Add Jupyter Server (2/2)');
      expect(await view.input.getAttribute('type')).toBe('password');
      await view.answer('Add Jupyter Server (2/2)', jupyter.token);
      expect(
        await view.toast(
          'get_secret is enabled in 1 running kernel(s) and in kernels started later',
        ),
      ).toBeTruthy();

      // A cell in that kernel asks; VS Code asks the user; Allow Once answers the cell.
      const cell = runCell(
        kernel,
        "from notebook_secrets import get_secret\nprint(len(get_secret('X')))",
      );
      const consent = view.dialog("Allow the secret 'X'?");
      // The dialog, or the cell's own end if it came first (then say how it ended).
      const first = await Promise.race([
        consent.waitFor({ timeout: 30_000 }).then(() => undefined),
        cell.then((r) => r),
      ]);
      if (first) throw new Error(`the cell ended before VS Code asked: ${JSON.stringify(first)}`);
      // It names the secret first, then the kernel and the server it runs on.
      expect(await consent.locator('.dialog-message-text').textContent()).toBe(
        "Allow the secret 'X'?",
      );
      expect(await consent.locator('.dialog-message-detail').textContent()).toContain(
        `Asked by kernel ${kernel.id.slice(0, 8)} on ${new URL(jupyter.baseUrl).host}.`,
      );
      await screenshot('remote-jupyter-consent');
      await view.clickDialogButton(consent, 'Allow Once');
      const result = await cell;
      expect(result.error).toBeUndefined();
      expect(result.stdout.trim()).toBe(String(value.length));
      // The value crossed in band, but no IOPub message of the cell carries it, nor the server log.
      for (const message of result.iopub) expect(message).not.toContain(value);
      expect(jupyter.log()).not.toContain(value);

      // Removed from VS Code, the server's kernels have no one to answer: the cell fails with
      // SecretsUnavailableError, and this frontend still gets the kernel's later output.
      await view.runCommand('Notebook Secrets: Remove Jupyter Server');
      await view.pick('Remove Jupyter Server', jupyter.baseUrl);
      const unanswered = await runCell(kernel, "get_secret('X')");
      expect(unanswered.error?.ename).toBe('SecretsUnavailableError');
      const later = await runCell(kernel, "print('still ' + 'live')");
      expect(later.stdout).toBe('still live\n');
      expect(jupyter.log()).not.toContain('Duplicate Signature');
    });
    kernel.dispose();
  } finally {
    await jupyter.stop();
  }
});
