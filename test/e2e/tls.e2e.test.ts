// Signing in to a team server over HTTPS from the real VS Code UI: the server runs with a
// certificate made here (openssl, self-signed for 127.0.0.1); in a window without the CA setting
// the sign-in fails and names `notebookSecrets.server.caFile`; in one with it, the sign-in works
// and a secret of the user's arrives in the Secrets view.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { ApiClient } from '../../src/sync/client';
import { makeNodeFetch } from '../../src/sync/nodeFetch';
import { freePort, serve } from '../integration/server/serverProcess';
import { withWorkbench } from './harness';
import { SecretsView } from './secretsView';

test('signs in to an HTTPS team server once the CA file is set', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ns-e2e-tls-'));
  const adminToken = `nsadmin_${randomBytes(24).toString('hex')}`;
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
      .concat(['-days', '1', '-subj', '/CN=localhost'])
      .concat(['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'])
      .concat(['-keyout', 'key.pem', '-out', 'cert.pem']),
    { cwd: dir, stdio: 'pipe' },
  );
  const ca = join(dir, 'cert.pem');
  const server = await serve({
    dataDir: join(dir, 'data'),
    port: await freePort(),
    env: { NOTEBOOK_SECRETS_ADMIN_TOKEN: adminToken },
    args: ['--tls-cert', ca, '--tls-key', join(dir, 'key.pem')],
  });
  try {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const trusted = makeNodeFetch({ ca: readFileSync(ca) });
    const admin = new ApiClient({ baseUrl: server.url, token: adminToken, fetch: trusted });
    await admin.createUser({ id: 'erin' });
    const { token } = await admin.createToken({ user: 'erin' });
    const erin = new ApiClient({ baseUrl: server.url, token, fetch: trusted });
    await erin.createSecret({ name: 'OVER_TLS', value: `tls-canary-${randomUUID()}` });

    const enterServer = async (view: SecretsView) => {
      const status = view.page.locator(
        '.statusbar-item[id="notebook-secrets.notebook-secrets.notebookSecrets.sync"]',
      );
      await status.locator('a', { hasText: 'Secrets: local' }).click();
      await view.answer('Sign in to Team Server (1/2)', server.url);
    };
    const signIn = async (view: SecretsView) => {
      await enterServer(view);
      await view.answer('Sign in to Team Server (2/2)', token);
    };

    // Without the CA setting the server's certificate is not trusted: the first request (which
    // sign-in methods the server offers) fails, before any token is asked for, and the error
    // says what to set.
    await withWorkbench('tls-untrusted', async ({ page }) => {
      const view = new SecretsView(page);
      await view.open();
      await enterServer(view);
      expect(await view.toast('is not trusted by this client')).toContain(
        'notebookSecrets.server.caFile',
      );
    });

    // With it, the sign-in works and erin's secret arrives.
    await withWorkbench(
      'tls-sign-in',
      async ({ page, screenshot }) => {
        const view = new SecretsView(page);
        await view.open();
        await signIn(view);
        await view.toast(`Signed in to ${server.url} as erin`);
        await view.row('OVER_TLS').waitFor({ timeout: 30_000 });
        await screenshot('tls-signed-in');
      },
      { 'notebookSecrets.server.caFile': ca },
    );
  } finally {
    await server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});
