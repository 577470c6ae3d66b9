// Sign in with the team server's identity provider in the real VS Code UI: a team server
// (`notebook-secrets serve` on PGlite) that signs people in through oidc-provider on loopback.
// Carol picks "Sign in with Test IdP", signs in on the provider's login page in the browser tab
// the extension opens, and the sign-in comes back the way it does in VS Code for the Web: to
// code-server's own callback page (vscode.env.asExternalUri of the extension's URI), which hands
// it to the extension's URI handler in her window. She is then signed in and sees her team's
// secret.
import { randomUUID } from 'node:crypto';
import { expect, test } from 'vitest';
import { ApiClient } from '../../src/sync/client';
import { Browser, serverEnv, startTestProvider } from '../integration/server/oidcProvider';
import { freePort, startServer } from '../integration/sync/harness';
import { withWorkbench } from './harness';
import { SecretsView } from './secretsView';

test('signs in with the identity provider through its login page, and syncs the team secret', async () => {
  const port = await freePort();
  const idp = await startTestProvider(`http://127.0.0.1:${port}/v1/auth/callback`);
  idp.people.set('carol', { groups: ['data'] });
  idp.people.set('dan', { groups: ['data'] });
  const server = await startServer({
    port,
    // The browser may reach the server through code-server's port proxy: the provider's
    // redirect back names the server's own URL.
    env: { ...serverEnv(idp), NOTEBOOK_SECRETS_PUBLIC_URL: `http://127.0.0.1:${port}` },
  });
  try {
    // Dan, of the same group, signed in before (with the device grant) and made a team secret.
    const anonymous = new ApiClient({ baseUrl: server.url });
    const started = await anonymous.startDeviceSignIn();
    await new Browser('dan').open(started.verification_uri_complete!);
    const dan = await anonymous.redeem({
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: started.device_code,
    });
    const teamValue = `team-canary-${randomUUID()}`;
    await new ApiClient({ baseUrl: server.url, token: dan.access_token }).createSecret({
      name: 'TEAM_WAREHOUSE',
      value: teamValue,
      scope: { kind: 'team', id: 'data' },
    });

    await withWorkbench(
      'sign-in-with-provider',
      async ({ page, context, screenshot, server: editor }) => {
        const opened: string[] = [];
        context.on('request', (request) => opened.push(request.url()));
        const view = new SecretsView(page);
        await view.open();
        await view.runCommand('Sign in to Team Server');
        await view.answer('Sign in to Team Server (1/2)', server.url);
        const tab = context.waitForEvent('page', { timeout: 60_000 });
        await view.pick('Sign in to Team Server (2/2)', 'Sign in with Test IdP');
        // The provider's login page, in the browser tab the extension opened.
        const login = await tab;
        await login
          .locator('input[name="login"]')
          .fill('carol', { timeout: 60_000 })
          .catch(async (error: unknown) => {
            throw new Error(`No login form at ${login.url()}: ${await login.content()}`, {
              cause: error,
            });
          });
        await login.locator('input[name="password"]').fill('any-password');
        await screenshot('sign-in-provider-login');
        await login.locator('button[type="submit"]').click();
        await login
          .locator('button[type="submit"]', { hasText: 'Continue' })
          .click({ timeout: 60_000 });
        // code-server's callback page, which hands the redirect back to this window's extension.
        await login.getByText('You can close this page now').waitFor({ timeout: 60_000 });
        const callback = new URL(login.url());
        expect(callback.origin).toBe(new URL(editor.url).origin);
        expect(callback.pathname).toMatch(/\/callback$/);
        expect(callback.searchParams.get('vscode-authority')).toBe(
          'notebook-secrets.notebook-secrets',
        );
        expect(callback.searchParams.get('vscode-path')).toBe('/signed-in');
        await login.close();
        // The browser opened the sign-in the extension pushed ahead, by its id alone.
        expect(opened.some((url) => /\/v1\/auth\/requests\/[\w-]+$/.test(url))).toBe(true);

        expect(await view.toast(`Signed in to ${server.url} as carol`)).toBeTruthy();
        await view.row('TEAM_WAREHOUSE').waitFor({ timeout: 30_000 });
        expect(await view.revealedValue('TEAM_WAREHOUSE')).toBe(teamValue);
        await screenshot('sign-in-provider-done');
      },
    );
  } finally {
    await server.dispose();
    await idp.close();
  }
});
