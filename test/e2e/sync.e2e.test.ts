// Sync and Share in the real VS Code UI: a signed-in window against the real team server
// (`notebook-secrets serve` on PGlite). Bob signs in from the status bar, sees a team secret Alice
// made, shares one of his with Alice through the Share dialog, looks at its version history, moves
// it to the team, and sees the status bar go offline when the server stops.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { ApiClient } from '../../src/sync/client';
import { addTeam, addUser, startServer } from '../integration/sync/harness';
import { withWorkbench, filesContaining } from './harness';
import { SecretsView } from './secretsView';

const canary = (label: string) => `${label}-canary-${randomUUID()}`;

async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('signs in, shows a team secret, shares, shows history, moves to a team, goes offline', async () => {
  const server = await startServer();
  try {
    await addTeam(server, 'data');
    const aliceToken = await addUser(server, 'alice', ['data']);
    const bobToken = await addUser(server, 'bob', ['data']);
    const alice = new ApiClient({ baseUrl: server.url, token: aliceToken });
    const teamValue = canary('team');
    await alice.createSecret({
      name: 'WAREHOUSE_URL',
      value: teamValue,
      type: 'password',
      scope: { kind: 'team', id: 'data' },
    });

    await withWorkbench('sync', async ({ page, screenshot, userDataDir }) => {
      const view = new SecretsView(page);
      await view.open();
      const mine = canary('mine');
      await view.createSecret({ name: 'BOB_TOKEN', value: mine, type: 'Token' });

      // Sign in from the status bar item ("Secrets: local").
      const status = page.locator(
        '.statusbar-item[id="notebook-secrets.notebook-secrets.notebookSecrets.sync"]',
      );
      await status.locator('a', { hasText: 'Secrets: local' }).click();
      await view.answer('Sign in to Team Server (1/2)', server.url);
      await view.waitForStep('Sign in to Team Server (2/2)');
      expect(await view.input.getAttribute('type')).toBe('password');
      await view.answer('Sign in to Team Server (2/2)', bobToken);
      expect(await view.toast(`Signed in to ${server.url} as bob`)).toBeTruthy();

      // Alice's team secret arrives; Bob's local secret reaches the server.
      await view.row('WAREHOUSE_URL').waitFor({ timeout: 30_000 });
      const bobs = new ApiClient({ baseUrl: server.url, token: bobToken });
      await eventually('BOB_TOKEN on the server', async () =>
        (await bobs.listSecrets()).find((s) => s.name === 'BOB_TOKEN'),
      );
      await status.locator('a', { hasText: /^\s*Secrets\s*$/ }).waitFor({ timeout: 30_000 });
      expect(await view.revealedValue('WAREHOUSE_URL')).toBe(teamValue);

      // Share BOB_TOKEN with Alice as Reader through the dialog.
      await view.contextAction('BOB_TOKEN', 'Share Secret…', view.step("Share 'BOB_TOKEN'"));
      // Items with codicons: matched on their text, not the start of their label.
      const choose = async (title: string, text: string) => {
        await view.waitForStep(title);
        await view.quickInput
          .locator('.quick-input-list .monaco-list-row', { hasText: text })
          .first()
          .click();
      };
      await choose("Share 'BOB_TOKEN'", 'Add a user');
      await view.answer("Share 'BOB_TOKEN' with a user", 'alice');
      await view.pick('Role of user alice', 'Reader');
      await choose("Share 'BOB_TOKEN' (2 with access)", 'Done');
      await view.waitForQuickInputClosed();
      const shared = await eventually('BOB_TOKEN shared with alice', async () =>
        (await alice.listSecrets()).find((s) => s.name === 'BOB_TOKEN'),
      );
      expect(shared.role).toBe('reader');
      await view.dismissNotifications().catch(() => undefined);
      await screenshot('sync-signed-in');

      // Version history from the server: versions, kinds and authors, never values.
      const history = view.step("History of 'BOB_TOKEN' (no values)");
      await view.contextAction('BOB_TOKEN', 'Show Version History', history);
      const v1 = view.quickInput.locator('.quick-input-list .monaco-list-row', { hasText: 'v1' });
      await v1.first().waitFor();
      expect(await v1.first().textContent()).toContain('by bob');
      expect(await view.quickInput.textContent()).not.toContain(mine);
      await view.input.press('Escape');
      await view.waitForQuickInputClosed();

      // Move to the team: it leaves Personal, and Alice sees it in team data.
      await view.contextAction('BOB_TOKEN', 'Move to Scope…', view.step("Move 'BOB_TOKEN' to"));
      await choose("Move 'BOB_TOKEN' to", 'Team: data');
      const move = view.dialog("Move 'BOB_TOKEN' from");
      await move.waitFor();
      await view.clickDialogButton(move, 'Move');
      await expect
        .poll(() => view.rowLabels(), { timeout: 30_000 })
        .toEqual(['Team data', 'BOB_TOKEN', 'WAREHOUSE_URL']);
      const moved = await eventually('BOB_TOKEN in team data', async () =>
        (await alice.listSecrets()).find((s) => s.name === 'BOB_TOKEN' && s.scope.kind === 'team'),
      );
      expect(moved.scope).toEqual({ kind: 'team', id: 'data' });
      expect((await alice.getValue(moved.id)).value).toBe(mine);

      // The server stops: Sync Now (the status bar item) turns it to offline.
      await server.stop();
      await status.locator('a').click();
      await status.locator('a', { hasText: 'Secrets: offline' }).waitFor({ timeout: 30_000 });
      await screenshot('sync-offline');

      for (const value of [teamValue, mine]) {
        expect(filesContaining(join(userDataDir, 'logs'), value)).toEqual([]);
        // Settings hold the server URL at most (SecretStorage's own files are VS Code's business).
        expect(readFileSync(join(userDataDir, 'User', 'settings.json'), 'utf8')).not.toContain(
          value,
        );
      }
    });
    expect(server.output()).not.toContain(teamValue);
  } finally {
    await server.dispose();
  }
});
