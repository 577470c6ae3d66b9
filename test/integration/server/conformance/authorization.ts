/**
 * The server's conformance suite, run unchanged against PGlite and PostgreSQL (../conformance.int.test.ts):
 * Who may call what: the matrix of roles by endpoint, and refused tokens.
 */
import { describe, expect, it } from 'vitest';
import { ApiErrorBody, SecretList } from '../../../../src/core/api';
import { client, expectOk, sharedSecret, unique, type Client } from '../harness';
import { type Conformance } from './fixture';

export function authorizationTests(ctx: Conformance): void {
  describe('authorization matrix', () => {
    type Actor = 'owner' | 'reader' | 'team' | 'project' | 'stranger' | 'none' | 'admin';
    const ACTORS: Actor[] = ['reader', 'team', 'project', 'stranger', 'none', 'admin', 'owner'];
    const as = (actor: Actor): Client =>
      ({
        owner: ctx.w.alice,
        reader: ctx.w.bob,
        team: ctx.w.carol,
        project: ctx.w.dave,
        stranger: ctx.w.eve,
        none: ctx.w.anonymous,
        admin: ctx.w.admin,
      })[actor];

    const read = {
      owner: 200,
      reader: 200,
      team: 200,
      project: 200,
      stranger: 404,
      none: 401,
      admin: 404,
    };
    const ownerOnly = {
      owner: 200,
      reader: 403,
      team: 403,
      project: 403,
      stranger: 404,
      none: 401,
      admin: 404,
    };
    const adminOnly = {
      owner: 403,
      reader: 403,
      team: 403,
      project: 403,
      stranger: 403,
      none: 401,
      admin: 200,
    };

    interface Row {
      endpoint: string;
      expect: Record<Actor, number>;
      /** Runs the request; `s` is a fresh shared secret per row. */
      call: (
        c: Client,
        s: { id: string; name: string; version: number },
        actor: Actor,
      ) => Promise<{ status: number }>;
    }

    const rows: Row[] = [
      {
        endpoint: 'GET /v1/secrets/{id}',
        expect: read,
        call: (c, s) => c('GET', `/v1/secrets/${s.id}`),
      },
      {
        endpoint: 'GET /v1/secrets/{id}/value',
        expect: read,
        call: (c, s) => c('GET', `/v1/secrets/${s.id}/value`),
      },
      {
        endpoint: 'GET /v1/secrets/{id}/versions',
        expect: read,
        call: (c, s) => c('GET', `/v1/secrets/${s.id}/versions`),
      },
      {
        endpoint: 'GET /v1/resolve/{name}',
        expect: read,
        call: (c, s) => c('GET', `/v1/resolve/${s.name}?project=${ctx.w.ids.project}`),
      },
      {
        endpoint: 'PATCH /v1/secrets/{id}',
        expect: ownerOnly,
        call: (c, s) =>
          c('PATCH', `/v1/secrets/${s.id}`, {
            body: { description: 'changed' },
            headers: { 'if-match': `"${s.version}"` },
          }),
      },
      {
        endpoint: 'DELETE /v1/secrets/{id}',
        expect: { ...ownerOnly, owner: 204 },
        call: (c, s) => c('DELETE', `/v1/secrets/${s.id}`),
      },
      {
        endpoint: 'GET /v1/secrets/{id}/access',
        expect: ownerOnly,
        call: (c, s) => c('GET', `/v1/secrets/${s.id}/access`),
      },
      {
        endpoint: 'PUT /v1/secrets/{id}/access',
        expect: ownerOnly,
        call: (c, s) =>
          c('PUT', `/v1/secrets/${s.id}/access`, {
            body: { access: [{ principal: { kind: 'user', id: ctx.w.ids.alice }, role: 'owner' }] },
          }),
      },
      {
        endpoint: 'POST /v1/secrets/{id}/versions/{n}/restore',
        expect: ownerOnly,
        call: (c, s) => c('POST', `/v1/secrets/${s.id}/versions/1/restore`),
      },
      {
        endpoint: 'GET /v1/audit?secret={id}',
        expect: { ...ownerOnly, admin: 200 },
        call: (c, s) => c('GET', `/v1/audit?secret=${s.id}`),
      },
      {
        endpoint: 'POST /v1/secrets (project scope)',
        expect: {
          owner: 201,
          reader: 403,
          team: 403,
          project: 201,
          stranger: 403,
          none: 401,
          admin: 403,
        },
        call: (c) =>
          c('POST', '/v1/secrets', {
            body: {
              name: unique('NEW_'),
              value: 'x',
              scope: { kind: 'project', id: ctx.w.ids.project },
            },
          }),
      },
      {
        endpoint: 'GET /v1/secrets',
        expect: {
          owner: 200,
          reader: 200,
          team: 200,
          project: 200,
          stranger: 200,
          none: 401,
          admin: 200,
        },
        call: (c) => c('GET', '/v1/secrets'),
      },
      {
        endpoint: 'GET /v1/changes',
        expect: {
          owner: 200,
          reader: 200,
          team: 200,
          project: 200,
          stranger: 200,
          none: 401,
          admin: 200,
        },
        call: (c) => c('GET', '/v1/changes?limit=5'),
      },
      {
        endpoint: 'GET /v1/me',
        expect: {
          owner: 200,
          reader: 200,
          team: 200,
          project: 200,
          stranger: 200,
          none: 401,
          admin: 200,
        },
        call: (c) => c('GET', '/v1/me'),
      },
      { endpoint: 'GET /v1/users', expect: adminOnly, call: (c) => c('GET', '/v1/users') },
      {
        endpoint: 'POST /v1/users',
        expect: { ...adminOnly, admin: 201 },
        call: (c) => c('POST', '/v1/users', { body: { id: unique('u-') } }),
      },
      {
        endpoint: 'POST /v1/teams',
        expect: { ...adminOnly, admin: 201 },
        call: (c) => c('POST', '/v1/teams', { body: { id: unique('t-') } }),
      },
      {
        endpoint: 'POST /v1/projects',
        expect: { ...adminOnly, admin: 201 },
        call: (c) => c('POST', '/v1/projects', { body: { id: unique('p-') } }),
      },
      {
        endpoint: 'POST /v1/teams/{id}/members',
        expect: { ...adminOnly, admin: 201 },
        call: (c) =>
          c('POST', `/v1/teams/${ctx.w.ids.team}/members`, { body: { user: ctx.w.ids.carol } }),
      },
      {
        endpoint: 'POST /v1/projects/{id}/members',
        expect: { ...adminOnly, admin: 201 },
        call: (c) =>
          c('POST', `/v1/projects/${ctx.w.ids.project}/members`, {
            body: { principal: { kind: 'user', id: ctx.w.ids.dave } },
          }),
      },
      {
        endpoint: 'POST /v1/tokens',
        expect: { ...adminOnly, admin: 201 },
        call: (c) => c('POST', '/v1/tokens', { body: { user: ctx.w.ids.eve, name: 'matrix' } }),
      },
      { endpoint: 'GET /v1/tokens', expect: adminOnly, call: (c) => c('GET', '/v1/tokens') },
    ];

    it.each(rows.map((r) => [r.endpoint, r] as const))('%s', async (_endpoint, row) => {
      const s = await sharedSecret(ctx.w, 'matrix-value');
      const seen: Record<string, number> = {};
      // The owner goes last, so a refused call can be checked to have changed nothing.
      for (const actor of ACTORS) {
        const r = await row.call(as(actor), s, actor);
        seen[actor] = r.status;
        if (actor !== 'owner' && r.status >= 400) {
          const after = await ctx.w.alice('GET', `/v1/secrets/${s.id}`);
          expect(after.body.version, `${actor} changed the secret`).toBe(s.version);
        }
      }
      expect(seen).toEqual(row.expect);
    });

    it('hides secrets from strangers in lists and the change feed', async () => {
      const s = await sharedSecret(ctx.w, 'hidden');
      for (const c of [ctx.w.eve, ctx.w.admin]) {
        const list = SecretList.parse((await c('GET', '/v1/secrets')).body);
        expect(list.secrets.map((x) => x.id)).not.toContain(s.id);
        const changes = (await c('GET', '/v1/changes?limit=1000')).text;
        expect(changes).not.toContain(s.id);
      }
      for (const c of [ctx.w.bob, ctx.w.carol, ctx.w.dave]) {
        const list = SecretList.parse((await c('GET', '/v1/secrets')).body);
        const mine = list.secrets.find((x) => x.id === s.id);
        expect(mine?.role).toBe('reader');
        // Readers do not see who else has access.
        expect(mine?.access).toEqual([]);
      }
    });

    it('refuses an unknown, an expired and a revoked token with 401', async () => {
      const unknown = client(ctx.t.url, 'nst_' + 'x'.repeat(43));
      expect((await unknown('GET', '/v1/me')).status).toBe(401);
      // Resolve checks the token in the same statement as the read: the same answers.
      expect((await unknown('GET', '/v1/resolve/SOME_NAME')).status).toBe(401);
      // A bad token is refused before a bad name or query is named.
      expect((await unknown('GET', '/v1/resolve/no%20spaces')).status).toBe(401);
      expect((await unknown('GET', '/v1/resolve/SOME_NAME?scope=nowhere')).status).toBe(401);
      const created = await expectOk(
        ctx.w.admin('POST', '/v1/tokens', { body: { user: ctx.w.ids.eve } }),
      );
      const c = client(ctx.t.url, created.body.token);
      expect((await c('GET', '/v1/me')).status).toBe(200);
      expect((await c('GET', '/v1/resolve/SOME_NAME')).status).toBe(404);
      const expiring = await expectOk(
        ctx.w.admin('POST', '/v1/tokens', { body: { user: ctx.w.ids.eve, expires_in_days: 1 } }),
      );
      const e = client(ctx.t.url, expiring.body.token);
      expect((await e('GET', '/v1/resolve/SOME_NAME')).status).toBe(404);
      // Through the database: the API sets expiry days ahead. A write that passes through the
      // store's driver, so PGlite's memory of the token is forgotten as it would be.
      await ctx.t.server.store.db.query(
        `UPDATE tokens SET expires_at = now() - interval '1 second' WHERE id = $1`,
        [expiring.body.id],
      );
      expect((await e('GET', '/v1/me')).status).toBe(401);
      expect((await e('GET', '/v1/resolve/SOME_NAME')).status).toBe(401);
      expect((await ctx.w.admin('DELETE', `/v1/tokens/${created.body.id}`)).status).toBe(204);
      const r = await c('GET', '/v1/me');
      expect(r.status).toBe(401);
      expect(ApiErrorBody.parse(r.body).error.code).toBe('unauthorized');
      // A revoked token is refused before the request's own faults are named.
      for (const path of [
        '/v1/resolve/SOME_NAME',
        '/v1/resolve/BAD-NAME',
        '/v1/resolve/SOME_NAME?project=a%00b',
        '/v1/resolve/SOME_NAME?unknown=1',
      ]) {
        const refused = await c('GET', path);
        expect(refused.status, path).toBe(401);
        expect(ApiErrorBody.parse(refused.body).error.code).toBe('unauthorized');
      }
    });
  });
}
