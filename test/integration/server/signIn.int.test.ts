/**
 * Sign-in with a real OpenID provider (oidc-provider on loopback), on PGlite and PostgreSQL: the
 * browser's code + PKCE sign-in driven over HTTP, the device grant, every ID token check, replays,
 * refresh keeping teams in step with groups, a disabled person, and no token in logs or errors.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditPage, ChangesPage, TokenSet } from '../../../src/core/api';
import {
  BACKENDS,
  client,
  expectOk,
  LogCollector,
  startTestServer,
  type Backend,
  type TestServer,
} from './harness';
import { Browser, startTestProvider, type TestProvider } from './oidcProvider';
import { freePort } from './serverProcess';

const CLIENT_REDIRECT = 'http://127.0.0.1:9/signed-in';

describe.each(BACKENDS.map((make) => [make().name, make] as const))(
  'sign-in with an identity provider, server on %s',
  (name, make) => {
    let backend: Backend;
    let t: TestServer;
    let idp: TestProvider;

    beforeAll(async () => {
      backend = make();
      const port = await freePort();
      idp = await startTestProvider(`http://127.0.0.1:${port}/v1/auth/callback`);
      t = await startTestServer(backend, {
        port,
        oidc: {
          issuer: idp.issuer,
          clientId: idp.clientId,
          clientSecret: idp.clientSecret,
          name: 'Test IdP',
          scopes: 'openid profile email groups offline_access',
          userClaim: 'preferred_username',
          nameClaim: 'name',
          groupsClaim: 'groups',
          users: 'create',
          clientRedirects: ['https://code.example.test/alice'],
          accessTokenMinutes: 15,
          sessionDays: 30,
        },
      });
    });

    afterAll(async () => {
      await t?.server.close();
      await idp?.close();
      await backend?.dispose();
    });

    /** A browser sign-in as `login`, up to the redirect back to the client. */
    async function browserSignIn(login: string, redirect = CLIENT_REDIRECT) {
      const verifier = randomBytes(32).toString('base64url');
      const state = randomBytes(16).toString('base64url');
      const query = new URLSearchParams({
        redirect_uri: redirect,
        state,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      });
      const { stoppedAt } = await new Browser(login).open(
        `${t.url}/v1/auth/authorize?${query}`,
        redirect.replace(/\?.*$/, ''),
      );
      const back = new URL(stoppedAt!);
      expect(back.searchParams.get('state')).toBe(state);
      return { back, verifier };
    }

    /** Redeems a sign-in code, by default for CLIENT_REDIRECT on this server. */
    async function redeem(
      code: string,
      verifier: string,
      options: { redirect?: string; base?: string; headers?: Record<string, string> } = {},
    ) {
      return client(options.base ?? t.url, undefined)('POST', '/v1/auth/token', {
        ...(options.headers && { headers: options.headers }),
        body: {
          grant_type: 'authorization_code',
          code,
          code_verifier: verifier,
          redirect_uri: options.redirect ?? CLIENT_REDIRECT,
        },
      });
    }

    async function signIn(login: string): Promise<TokenSet> {
      const { back, verifier } = await browserSignIn(login);
      expect(back.searchParams.get('error_description')).toBeNull();
      return TokenSet.parse(
        (await expectOk(redeem(back.searchParams.get('code')!, verifier))).body,
      );
    }

    const refresh = (token: string) =>
      client(t.url, undefined)('POST', '/v1/auth/token', {
        body: { grant_type: 'refresh_token', refresh_token: token },
      });

    it('says how to sign in', async () => {
      const r = await expectOk(client(t.url, undefined)('GET', '/v1/auth/config'));
      expect(r.body).toEqual({ oidc: { name: 'Test IdP', device: true } });
    });

    it('signs in through the browser with code + PKCE, creating the user and their teams', async () => {
      idp.people.set('alice', { groups: ['data', 'ml'] });
      const tokens = await signIn('alice');
      expect(tokens).toMatchObject({ token_type: 'Bearer', user: 'alice', expires_in: 900 });
      const me = await expectOk(client(t.url, tokens.access_token)('GET', '/v1/me'));
      expect(me.body.user).toMatchObject({ id: 'alice', name: 'Person alice', admin: false });
      expect(me.body.teams.map((x: { id: string }) => x.id)).toEqual(['data', 'ml']);
      // Admin tokens work as before.
      expect((await client(t.url, t.adminToken)('GET', '/v1/users')).status).toBe(200);
    });

    it("sends a sign-in back only to loopback, the extension's editor URI or an allowed prefix", async () => {
      const authorize = (redirect: string) =>
        fetch(
          `${t.url}/v1/auth/authorize?${new URLSearchParams({
            redirect_uri: redirect,
            state: 'state-' + randomBytes(8).toString('hex'),
            code_challenge: createHash('sha256').update('v').digest('base64url'),
            code_challenge_method: 'S256',
          })}`,
          { redirect: 'manual' },
        );
      for (const redirect of [
        'http://127.0.0.1:9/callback',
        'vscode://notebook-secrets.notebook-secrets/signed-in?windowId=1',
        'https://code.example.test/alice/callback?vscode-reqid=1&vscode-scheme=code-oss',
      ]) {
        const r = await authorize(redirect);
        expect(r.status, redirect).toBe(302);
        expect(r.headers.get('location'), redirect).toMatch(new RegExp(`^${idp.issuer}/`));
      }
      for (const redirect of [
        'vscode://another.extension/signed-in',
        'https://code.example.test.evil.test/alice/callback',
        'https://code.example.test/mallory/callback',
        'https://code.example.test/alicebad/callback',
        'https://attacker.test/callback',
        'http://10.0.0.5/callback',
      ]) {
        const r = await authorize(redirect);
        expect(r.status, redirect).toBe(400);
        const body = (await r.json()) as { error: { code: string; field: string } };
        expect(body.error).toMatchObject({ code: 'invalid_input', field: 'redirect_uri' });
      }
    });

    it('signs in with a request pushed ahead, opened once by its id', async () => {
      idp.people.set('bob', { groups: [] });
      const anonymous = client(t.url, undefined);
      const verifier = randomBytes(32).toString('base64url');
      const state = 'state-' + randomBytes(8).toString('hex');
      // A VS Code for the Web callback URL: a query of its own inside redirect_uri.
      const redirect =
        'https://code.example.test/alice/callback?vscode-reqid=1&vscode-scheme=code-oss&vscode-authority=notebook-secrets.notebook-secrets&vscode-path=%2Fsigned-in';
      const pushed = await expectOk(
        anonymous('POST', '/v1/auth/requests', {
          body: {
            redirect_uri: redirect,
            state,
            code_challenge: createHash('sha256').update(verifier).digest('base64url'),
            code_challenge_method: 'S256',
          },
        }),
      );
      expect(pushed.status).toBe(201);
      expect(pushed.body).toEqual({ id: expect.stringMatching(/^[\w-]{32}$/), expires_in: 600 });
      const link = `${t.url}/v1/auth/requests/${pushed.body.id}`;
      const { stoppedAt } = await new Browser('bob').open(link, 'https://code.example.test/');
      const back = new URL(stoppedAt!);
      expect(back.searchParams.get('vscode-path')).toBe('/signed-in');
      expect(back.searchParams.get('state')).toBe(state);
      const tokens = await expectOk(redeem(back.searchParams.get('code')!, verifier, { redirect }));
      expect(TokenSet.parse(tokens.body).user).toBe('bob');
      // A link is opened once.
      const again = await fetch(link, { redirect: 'manual' });
      expect(again.status).toBe(400);
      expect(((await again.json()) as { error: { message: string } }).error.message).toMatch(
        /unknown, used or expired/,
      );
    });

    it('refuses to keep a pushed sign-in that would end elsewhere, or is malformed', async () => {
      const push = (body: Record<string, string>) =>
        client(t.url, undefined)('POST', '/v1/auth/requests', { body });
      const good = {
        redirect_uri: 'http://127.0.0.1:9/callback',
        state: 'state-12345678',
        code_challenge: createHash('sha256').update('v').digest('base64url'),
        code_challenge_method: 'S256',
      };
      const elsewhere = await push({ ...good, redirect_uri: 'https://attacker.test/callback' });
      expect(elsewhere.status).toBe(400);
      expect(elsewhere.body.error).toMatchObject({ code: 'invalid_input', field: 'redirect_uri' });
      const extra = await push({ ...good, scope: 'admin' });
      expect(extra.status).toBe(400);
      expect(extra.body.error.code).toBe('invalid_input');
      const plain = await push({ ...good, code_challenge_method: 'plain' });
      expect(plain.status).toBe(400);
      const unknown = await fetch(`${t.url}/v1/auth/requests/no-such-request`, {
        redirect: 'manual',
      });
      expect(unknown.status).toBe(400);
    });

    it("comes back to the extension's editor URI with the code, keeping the URI's own query", async () => {
      idp.people.set('bob', { groups: [] });
      const redirect = 'vscode://notebook-secrets.notebook-secrets/signed-in?windowId=7';
      const { back, verifier } = await browserSignIn('bob', redirect);
      expect(back.protocol).toBe('vscode:');
      expect(back.searchParams.get('windowId')).toBe('7');
      const tokens = await expectOk(redeem(back.searchParams.get('code')!, verifier, { redirect }));
      expect(TokenSet.parse(tokens.body).user).toBe('bob');
    });

    it('redeems a sign-in code once, only with its verifier', async () => {
      idp.people.set('bob', { groups: [] });
      const { back, verifier } = await browserSignIn('bob');
      const code = back.searchParams.get('code')!;
      const wrong = await redeem(code, randomBytes(32).toString('base64url'));
      expect(wrong.status).toBe(400);
      expect(wrong.body.error.code).toBe('invalid_grant');
      // The failed attempt used it up.
      expect((await redeem(code, verifier)).body.error.code).toBe('invalid_grant');
      const again = await browserSignIn('bob');
      const code2 = again.back.searchParams.get('code')!;
      await expectOk(redeem(code2, again.verifier));
      const replay = await redeem(code2, again.verifier);
      expect(replay.status).toBe(400);
      expect(replay.body.error.code).toBe('invalid_grant');
    });

    it.skipIf(name !== 'PostgreSQL')(
      'finishes a sign-in on another server process of the same database, once',
      async () => {
        // A second process behind the same public URL, as behind a load balancer.
        const other = await startTestServer(backend, {
          ...t.config,
          port: 0,
          logStream: new LogCollector(),
          oidc: { ...t.config.oidc!, publicUrl: t.url },
        });
        try {
          idp.people.set('olga', { groups: ['data'] });
          const verifier = randomBytes(32).toString('base64url');
          const state = 'state-' + randomBytes(8).toString('hex');
          const query = new URLSearchParams({
            redirect_uri: CLIENT_REDIRECT,
            state,
            code_challenge: createHash('sha256').update(verifier).digest('base64url'),
            code_challenge_method: 'S256',
          });
          // Started on this process; the provider's redirect back reaches the other one.
          const { stoppedAt } = await new Browser('olga').open(
            `${t.url}/v1/auth/authorize?${query}`,
            `${t.url}/v1/auth/callback`,
          );
          const atOther = stoppedAt!.replace(t.url, other.url);
          const callback = await fetch(atOther, { redirect: 'manual' });
          expect(callback.status).toBe(302);
          const back = new URL(callback.headers.get('location')!);
          expect(back.searchParams.get('state')).toBe(state);
          const code = back.searchParams.get('code')!;
          // What the database keeps names no usable code or state, and holds no verifier.
          const rows = await t.server.store.db.query<{ row: string }>(
            `SELECT t::text AS row FROM sign_in_requests t`,
          );
          const held = rows.map((r) => r.row).join('\n');
          expect(rows.length).toBeGreaterThan(0);
          for (const clear of [code, state, new URL(stoppedAt!).searchParams.get('state')!]) {
            expect(held).not.toContain(clear);
          }
          // Redeemed on the first process, then refused on either.
          const redeemAt = (base: string) => redeem(code, verifier, { base });
          const tokens = TokenSet.parse((await expectOk(redeemAt(t.url))).body);
          expect(tokens.user).toBe('olga');
          expect((await redeemAt(other.url)).body.error.code).toBe('invalid_grant');
          expect((await redeemAt(t.url)).body.error.code).toBe('invalid_grant');
          // The provider's redirect back, replayed on the first process, is refused too.
          expect((await fetch(stoppedAt!, { redirect: 'manual' })).status).toBe(400);
        } finally {
          await other.server.close();
        }
      },
    );

    it('keeps a sign-in request for its time, gives it out once, and clears expired ones', async () => {
      const store = t.server.store;
      const handle = 'handle-' + randomBytes(8).toString('hex');
      await store.putSignInRequest('code', handle, { user: 'x' }, 60);
      expect(await store.takeSignInRequest('pending', handle)).toBeUndefined();
      expect(await store.takeSignInRequest('code', handle)).toEqual({ user: 'x' });
      expect(await store.takeSignInRequest('code', handle)).toBeUndefined();
      await store.putSignInRequest('code', handle, { user: 'x' }, -1);
      expect(await store.takeSignInRequest('code', handle)).toBeUndefined();
      await store.putSignInRequest('code', handle + '-old', {}, -1);
      await store.putSignInRequest('code', handle + '-new', {}, 60);
      const left = await store.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM sign_in_requests WHERE expires_at < now()`,
      );
      expect(left[0]!.n).toBe(0);
    });

    it('refuses a replayed redirect back from the provider', async () => {
      idp.people.set('bob', { groups: [] });
      const verifier = randomBytes(32).toString('base64url');
      const query = new URLSearchParams({
        redirect_uri: CLIENT_REDIRECT,
        state: 'state-' + randomBytes(8).toString('hex'),
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      });
      const { stoppedAt } = await new Browser('bob').open(
        `${t.url}/v1/auth/authorize?${query}`,
        `${t.url}/v1/auth/callback`,
      );
      const first = await fetch(stoppedAt!, { redirect: 'manual' });
      expect(first.status).toBe(302);
      expect(new URL(first.headers.get('location')!).searchParams.get('code')).toBeTruthy();
      const second = await fetch(stoppedAt!, { redirect: 'manual' });
      expect(second.status).toBe(400);
      expect(((await second.json()) as { error: { message: string } }).error.message).toMatch(
        /unknown or expired/,
      );
    });

    it.each(['forged', 'expired', 'audience', 'issuer'] as const)(
      'refuses a %s ID token',
      async (how) => {
        idp.people.set('mallory', { groups: ['data'] });
        idp.tamper = how;
        try {
          const { back } = await browserSignIn('mallory');
          expect(back.searchParams.get('code')).toBeNull();
          expect(back.searchParams.get('error')).toBe('access_denied');
          expect(back.searchParams.get('error_description')).toMatch(/check/);
        } finally {
          idp.tamper = 'none';
        }
        const users = await expectOk(client(t.url, t.adminToken)('GET', '/v1/users'));
        expect(users.body.users.map((u: { id: string }) => u.id)).not.toContain('mallory');
      },
    );

    it('signs in with the device grant, without a browser on this machine', async () => {
      idp.people.set('dora', { groups: ['ml'] });
      const anonymous = client(t.url, undefined);
      const started = await expectOk(anonymous('POST', '/v1/auth/device'));
      const poll = () =>
        anonymous('POST', '/v1/auth/token', {
          body: {
            grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
            device_code: started.body.device_code,
          },
        });
      const early = await poll();
      expect(early.status).toBe(400);
      expect(early.body.error.code).toBe('authorization_pending');
      // Another device: the person opens the link, signs in and confirms.
      const { page } = await new Browser('dora').open(started.body.verification_uri_complete);
      expect(page).toMatch(/Sign-in Success|success/i);
      const tokens = TokenSet.parse((await expectOk(poll())).body);
      expect(tokens.user).toBe('dora');
      const me = await expectOk(client(t.url, tokens.access_token)('GET', '/v1/me'));
      expect(me.body.teams.map((x: { id: string }) => x.id)).toEqual(['ml']);
      // Audited as a sign-in with a code; the polls before it are no failures.
      const audit = AuditPage.parse(
        (await expectOk(client(t.url, tokens.access_token)('GET', '/v1/audit'))).body,
      );
      expect(audit.entries.map((e) => [e.action, e.detail])).toEqual([['sign_in', 'device']]);
    });

    it('takes a team away at the next refresh when its group is gone, through the change feed', async () => {
      idp.people.set('erin', { groups: ['data'] });
      idp.people.set('frank', { groups: ['data'] });
      const erin = await signIn('erin');
      const frank = await signIn('frank');
      const secret = await expectOk(
        client(t.url, erin.access_token)('POST', '/v1/secrets', {
          body: { name: 'TEAM_KEY', value: 'team value', scope: { kind: 'team', id: 'data' } },
        }),
      );
      const asFrank = client(t.url, frank.access_token);
      const start = ChangesPage.parse((await expectOk(asFrank('GET', '/v1/changes'))).body);
      expect(JSON.stringify(start.changes)).toContain(secret.body.id);
      idp.people.set('frank', { groups: [] });
      const renewed = TokenSet.parse((await expectOk(refresh(frank.refresh_token))).body);
      const after = client(t.url, renewed.access_token);
      const page = ChangesPage.parse(
        (await expectOk(after('GET', `/v1/changes?since=${start.next}`))).body,
      );
      expect(page.changes).toContainEqual({
        kind: 'tombstone',
        id: secret.body.id,
        reason: 'access_lost',
      });
      expect((await after('GET', `/v1/secrets/${secret.body.id}`)).status).toBe(404);
      // The refresh token was replaced; the old one and the old access token no longer work.
      expect((await refresh(frank.refresh_token)).body.error.code).toBe('invalid_grant');
      expect((await asFrank('GET', '/v1/me')).status).toBe(401);
      // Joining again brings it back.
      idp.people.set('frank', { groups: ['data'] });
      const back = TokenSet.parse((await expectOk(refresh(renewed.refresh_token))).body);
      await expectOk(client(t.url, back.access_token)('GET', `/v1/secrets/${secret.body.id}`));
    });

    it.each(['down', 'error'] as const)(
      'keeps a sign-in when the provider is %s at refresh, and refreshes once it is back',
      async (outage) => {
        idp.people.set('kim', { groups: ['data'] });
        const kim = await signIn('kim');
        idp.outage = outage;
        try {
          const refused = await refresh(kim.refresh_token);
          expect(refused.status).toBe(503);
          expect(refused.body.error.code).toBe('unavailable');
        } finally {
          idp.outage = 'none';
        }
        // The access token still works until it expires, and the refresh token still renews.
        await expectOk(client(t.url, kim.access_token)('GET', '/v1/me'));
        const renewed = TokenSet.parse((await expectOk(refresh(kim.refresh_token))).body);
        expect(renewed.user).toBe('kim');
      },
    );

    it("refuses a disabled person's refresh, and a signed-out one's", async () => {
      idp.people.set('gina', { groups: [] });
      const gina = await signIn('gina');
      idp.people.set('gina', { groups: [], disabled: true });
      const refused = await refresh(gina.refresh_token);
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('invalid_grant');
      expect((await client(t.url, gina.access_token)('GET', '/v1/me')).status).toBe(401);

      idp.people.set('hugo', { groups: [] });
      const hugo = await signIn('hugo');
      await expectOk(client(t.url, hugo.access_token)('DELETE', '/v1/me/token'));
      expect((await refresh(hugo.refresh_token)).body.error.code).toBe('invalid_grant');
    });

    it('audits sign-ins, refreshes and their failures: who, how, from which client, no token', async () => {
      const since =
        AuditPage.parse(
          (await expectOk(client(t.url, t.adminToken)('GET', '/v1/audit?limit=1'))).body,
        ).entries[0]?.id ?? '0';
      const asCli = { 'user-agent': 'notebook-secrets-cli/test' };
      idp.people.set('lena', { groups: [] });
      // A browser sign-in redeemed by the CLI, a refresh, and the used refresh token replayed.
      const { back, verifier } = await browserSignIn('lena');
      const lena = TokenSet.parse(
        (await expectOk(redeem(back.searchParams.get('code')!, verifier, { headers: asCli }))).body,
      );
      const renewed = TokenSet.parse((await expectOk(refresh(lena.refresh_token))).body);
      expect((await refresh(lena.refresh_token)).status).toBe(400);
      // Her code redeemed with another verifier; a forged ID token; then she is disabled.
      const again = await browserSignIn('lena');
      await redeem(again.back.searchParams.get('code')!, randomBytes(32).toString('base64url'));
      idp.tamper = 'forged';
      try {
        await browserSignIn('lena');
      } finally {
        idp.tamper = 'none';
      }
      idp.people.set('lena', { groups: [], disabled: true });
      expect((await refresh(renewed.refresh_token)).status).toBe(400);

      const page = AuditPage.parse(
        (await expectOk(client(t.url, t.adminToken)('GET', '/v1/audit?limit=50'))).body,
      );
      const events = page.entries
        .filter((e) => BigInt(e.id) > BigInt(since))
        .filter((e) => /sign_in|refresh/.test(e.action))
        .reverse()
        .map((e) => ({ action: e.action, actor: e.actor, subject: e.subject, detail: e.detail }));
      expect(events).toEqual([
        { action: 'sign_in', actor: 'lena', subject: 'lena', detail: 'browser' },
        { action: 'refresh', actor: 'lena', subject: 'lena', detail: 'refresh' },
        {
          action: 'refresh_failed',
          actor: '(unknown)',
          subject: null,
          detail: expect.stringMatching(/refresh token is unknown, used/),
        },
        {
          action: 'sign_in_failed',
          actor: 'lena',
          subject: 'lena',
          detail: expect.stringMatching(/not for this verifier/),
        },
        {
          action: 'sign_in_failed',
          actor: '(unknown)',
          subject: null,
          detail: expect.stringMatching(/failed a check/),
        },
        {
          action: 'refresh_failed',
          actor: 'lena',
          subject: 'lena',
          detail: expect.stringMatching(/no longer signs you in/),
        },
      ]);
      const signedIn = page.entries.find((e) => e.action === 'sign_in' && e.actor === 'lena')!;
      expect(signedIn.client).toBe('notebook-secrets-cli/test');
      expect(signedIn.token_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(signedIn.secret_id).toBeNull();
      for (const token of [lena.access_token, lena.refresh_token, renewed.refresh_token]) {
        expect(JSON.stringify(page)).not.toContain(token);
      }
    });

    it("shows a person their own sign-ins, not others' failures", async () => {
      idp.people.set('mona', { groups: [] });
      const mona = await signIn('mona');
      const own = AuditPage.parse(
        (await expectOk(client(t.url, mona.access_token)('GET', '/v1/audit'))).body,
      );
      expect(own.entries.map((e) => [e.action, e.actor])).toEqual([['sign_in', 'mona']]);
    });

    it('puts no ID, refresh or access token in logs, error bodies or the database', async () => {
      idp.people.set('ivy', { groups: ['data'] });
      const ivy = await signIn('ivy');
      const renewed = TokenSet.parse((await expectOk(refresh(ivy.refresh_token))).body);
      const errors = [
        (await refresh(ivy.refresh_token)).text,
        (await redeem(ivy.access_token, ivy.refresh_token)).text,
        (await client(t.url, ivy.access_token)('GET', '/v1/me')).text,
      ];
      const ours = [
        ivy.access_token,
        ivy.refresh_token,
        renewed.access_token,
        renewed.refresh_token,
      ];
      const tokens = [...idp.sent, ...ours];
      expect(idp.sent.length).toBeGreaterThan(0);
      const tables = await t.server.store.db.query<{ tablename: string }>(
        `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`,
      );
      let dump = '';
      for (const { tablename } of tables) {
        const rows = await t.server.store.db.query(`SELECT t::text AS row FROM ${tablename} t`);
        dump += rows.map((r) => String(r.row)).join('\n');
      }
      for (const token of tokens) {
        expect(t.logs.text).not.toContain(token);
        for (const text of errors) expect(text).not.toContain(token);
        expect(dump).not.toContain(token);
      }
    });
  },
);
