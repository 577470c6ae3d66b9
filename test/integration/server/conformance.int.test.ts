/**
 * The server's conformance suite: one set of tests, run unchanged against PGlite and against a
 * real PostgreSQL. Each backend gets one in-process server (port 0); tests make their own users.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiErrorBody,
  AuditPage,
  ChangesPage,
  Me,
  SecretList,
  SecretValueBody,
  ValueList,
  VersionList,
} from '../../../src/core/api';
import { SecretMetadata } from '../../../src/core/model';
import { buildApp } from '../../../src/server/app';
import { recordChanges } from '../../../src/server/store/feed';
import {
  BACKENDS,
  client,
  expectOk,
  makeWorld,
  sharedSecret,
  startTestServer,
  unique,
  type Backend,
  type Client,
  type Reply,
  type TestServer,
  type World,
} from './harness';

const CANARY = `canary-${unique('')}-value`;

describe.each(BACKENDS.map((make) => [make().name, make] as const))(
  'server on %s',
  (backendName, make) => {
    let backend: Backend;
    let t: TestServer;
    let w: World;

    beforeAll(async () => {
      backend = make();
      t = await startTestServer(backend);
      w = await makeWorld(t);
    });

    afterAll(async () => {
      await t?.server.close();
      await backend?.dispose();
    });

    describe('basics', () => {
      it('answers health without a token', async () => {
        const r = await client(t.url, undefined)('GET', '/v1/health');
        expect(r.status).toBe(200);
        expect(r.body).toEqual({ ok: true, version: expect.any(String) });
      });

      it('serves an OpenAPI document covering every endpoint of the design', async () => {
        const r = await client(t.url, undefined)('GET', '/v1/openapi.json');
        expect(r.status).toBe(200);
        expect(r.body.openapi).toBe('3.1.0');
        for (const path of [
          '/v1/health',
          '/v1/me',
          '/v1/secrets',
          '/v1/secrets/{id}',
          '/v1/secrets/{id}/value',
          '/v1/values',
          '/v1/secrets/{id}/access',
          '/v1/secrets/{id}/versions',
          '/v1/secrets/{id}/versions/{n}/restore',
          '/v1/resolve/{name}',
          '/v1/changes',
          '/v1/audit',
          '/v1/users',
          '/v1/teams',
          '/v1/projects',
          '/v1/teams/{id}/members',
          '/v1/projects/{id}/members',
          '/v1/tokens',
        ]) {
          expect(Object.keys(r.body.paths), path).toContain(path);
        }
        expect(
          r.body.paths['/v1/secrets'].post.requestBody.content['application/json'].schema.required,
        ).toEqual(['name', 'value']);
      });

      it('tells the caller who they are, with teams and projects', async () => {
        const carol = Me.parse((await expectOk(w.carol('GET', '/v1/me'))).body);
        expect(carol.user.id).toBe(w.ids.carol);
        expect(carol.teams.map((x) => x.id)).toEqual([w.ids.team]);
        const dave = Me.parse((await expectOk(w.dave('GET', '/v1/me'))).body);
        expect(dave.projects.map((x) => x.id)).toEqual([w.ids.project]);
      });

      it('creates, reads metadata and value with ETags, and lists without values', async () => {
        const name = unique('API_KEY_');
        const created = await w.alice('POST', '/v1/secrets', {
          body: { name, value: 'v1', type: 'token', description: 'for the tests' },
        });
        expect(created.status).toBe(201);
        const meta = SecretMetadata.parse(created.body);
        expect(meta).toMatchObject({
          name,
          version: 1,
          scope: { kind: 'personal' },
          role: 'owner',
          type: 'token',
        });
        expect(created.headers.get('etag')).toBe('"1"');
        const got = await w.alice('GET', `/v1/secrets/${meta.id}`);
        expect(got.status).toBe(200);
        expect(got.headers.get('etag')).toBe('"1"');
        const value = SecretValueBody.parse(
          (await w.alice('GET', `/v1/secrets/${meta.id}/value`)).body,
        );
        expect(value).toEqual({ value: 'v1', encoding: 'text', version: 1 });
        const list = SecretList.parse(
          (await w.alice('GET', '/v1/secrets?type=token&q=FOR THE')).body,
        );
        expect(list.secrets.map((s) => s.id)).toContain(meta.id);
        expect(JSON.stringify(list)).not.toContain('"value"');
        const none = SecretList.parse((await w.alice('GET', '/v1/secrets?type=password')).body);
        expect(none.secrets.map((s) => s.id)).not.toContain(meta.id);
      });

      it('stores base64 file values and refuses invalid base64', async () => {
        const ok = await w.alice('POST', '/v1/secrets', {
          body: { name: unique('FILE_'), value: 'AAEC/w==', encoding: 'base64', type: 'file' },
        });
        expect(ok.status).toBe(201);
        const bad = await w.alice('POST', '/v1/secrets', {
          body: { name: unique('FILE_'), value: 'not base64!', encoding: 'base64' },
        });
        expect(bad.status).toBe(400);
        expect(bad.body.error.message).toMatch(/base64/);
      });

      it('resolves by precedence: personal > project > team, and honours ?project= and ?scope=', async () => {
        // carol is in the team; add her to the project too, for this test only via a new project.
        const name = unique('DB_URL_');
        const project = unique('p-');
        await expectOk(w.admin('POST', '/v1/projects', { body: { id: project } }));
        await expectOk(
          w.admin('POST', `/v1/projects/${project}/members`, {
            body: { principal: { kind: 'team', id: w.ids.team } },
          }),
        );
        const meC = Me.parse((await w.carol('GET', '/v1/me')).body);
        expect(meC.projects.map((p) => p.id)).toContain(project);
        await expectOk(
          w.carol('POST', '/v1/secrets', {
            body: { name, value: 'team', scope: { kind: 'team', id: w.ids.team } },
          }),
        );
        let r = await w.carol('GET', `/v1/resolve/${name}`);
        expect(r.body).toMatchObject({ value: 'team', scope: { kind: 'team', id: w.ids.team } });
        await expectOk(
          w.carol('POST', '/v1/secrets', {
            body: { name, value: 'project', scope: { kind: 'project', id: project } },
          }),
        );
        r = await w.carol('GET', `/v1/resolve/${name}?project=${project}`);
        expect(r.body.value).toBe('project');
        r = await w.carol('GET', `/v1/resolve/${name}?project=other`);
        expect(r.body.value).toBe('team');
        await expectOk(w.carol('POST', '/v1/secrets', { body: { name, value: 'personal' } }));
        r = await w.carol('GET', `/v1/resolve/${name}?project=${project}`);
        expect(r.body.value).toBe('personal');
        r = await w.carol('GET', `/v1/resolve/${name}?scope=team`);
        expect(r.body.value).toBe('team');
        r = await w.carol('GET', `/v1/resolve/${name}?scope=project:${project}`);
        expect(r.body.value).toBe('project');
        r = await w.carol('GET', `/v1/resolve/NO_SUCH_${name}`);
        expect(r.status).toBe(404);
      });

      it('resolves a secret shared with you under its name, after a rename and after a share', async () => {
        const name = unique('SHARED_');
        const renamed = unique('RENAMED_');
        const created = await expectOk(
          w.alice('POST', '/v1/secrets', { body: { name, value: 'alices' } }),
        );
        const id = created.body.id as string;
        const owner = { principal: { kind: 'user', id: w.ids.alice }, role: 'owner' };
        const reader = { principal: { kind: 'user', id: w.ids.bob }, role: 'reader' };
        expect((await w.bob('GET', `/v1/resolve/${name}`)).status).toBe(404);
        await expectOk(
          w.alice('PUT', `/v1/secrets/${id}/access`, { body: { access: [owner, reader] } }),
        );
        expect((await w.bob('GET', `/v1/resolve/${name}`)).body).toMatchObject({ value: 'alices' });
        await expectOk(
          w.alice('PATCH', `/v1/secrets/${id}`, {
            body: { name: renamed },
            headers: { 'if-match': '"2"' },
          }),
        );
        expect((await w.bob('GET', `/v1/resolve/${name}`)).status).toBe(404);
        expect((await w.bob('GET', `/v1/resolve/${renamed}`)).body).toMatchObject({
          id,
          value: 'alices',
        });
        // Others' secrets of the same name are not yours to resolve.
        await expectOk(
          w.carol('POST', '/v1/secrets', { body: { name: renamed, value: 'carols' } }),
        );
        expect((await w.bob('GET', `/v1/resolve/${renamed}`)).body.value).toBe('alices');
        expect((await w.dave('GET', `/v1/resolve/${renamed}`)).status).toBe(404);
      });

      it('answers many concurrent resolves each as it would alone, and audits each once', async () => {
        const name = unique('MANY_');
        const teamName = unique('MANY_TEAM_');
        const projectName = unique('MANY_PROJECT_');
        for (const who of [w.alice, w.bob]) {
          await expectOk(who('POST', '/v1/secrets', { body: { name, value: unique('v-') } }));
        }
        const scope = (kind: string, id: string) => ({ scope: { kind, id } });
        await expectOk(
          w.carol('POST', '/v1/secrets', {
            body: { name: teamName, value: unique('t-'), ...scope('team', w.ids.team) },
          }),
        );
        await expectOk(
          w.alice('POST', '/v1/secrets', {
            body: { name: projectName, value: unique('p-'), ...scope('project', w.ids.project) },
          }),
        );
        const tokenFor = async (user: string) =>
          (await expectOk(w.admin('POST', '/v1/tokens', { body: { user } }))).body;
        const revoked = await tokenFor(w.ids.bob);
        const expired = await tokenFor(w.ids.carol);
        await t.server.store.db.query(
          `UPDATE tokens SET expires_at = now() - interval '1 second' WHERE id = $1`,
          [expired.id],
        );
        const asks: [string | undefined, string][] = [
          [w.tokens.alice, `/v1/resolve/${name}`],
          [w.tokens.bob, `/v1/resolve/${name}`],
          [w.tokens.alice, `/v1/resolve/${name}?scope=personal`],
          [w.tokens.carol, `/v1/resolve/${teamName}`],
          [w.tokens.carol, `/v1/resolve/${teamName}?scope=team:${w.ids.team}`],
          [w.tokens.dave, `/v1/resolve/${projectName}?project=${w.ids.project}`],
          [w.tokens.alice, `/v1/resolve/${projectName}?scope=project`],
          [w.tokens.eve, `/v1/resolve/${name}`],
          [w.tokens.alice, `/v1/resolve/NO_SUCH_${name}`],
          [w.tokens.carol, `/v1/resolve/${teamName}?scope=personal`],
          [w.tokens.alice, `/v1/resolve/${name}?project=a%00b`],
          [revoked.token, `/v1/resolve/${name}`],
          [expired.token, `/v1/resolve/${name}`],
          ['ns_unknown' + unique(''), `/v1/resolve/${name}`],
          [undefined, `/v1/resolve/${name}`],
        ];
        // Each request alone, one after another, before the revocation.
        const ask = ([token, path]: [string | undefined, string], agent: string) =>
          client(t.url, token)('GET', path, { headers: { 'user-agent': agent } });
        const alone: Reply[] = [];
        for (const one of asks) alone.push(await ask(one, 'alone'));
        expect(alone[11]!.status).toBe(200);
        await expectOk(w.admin('DELETE', `/v1/tokens/${revoked.id}`));
        alone[11] = await ask(asks[11]!, 'alone');
        expect(alone.map((r) => r.status)).toEqual([
          200, 200, 200, 200, 200, 200, 200, 404, 404, 404, 400, 401, 401, 401, 401,
        ]);

        // The same requests, each four times, all at once; on PostgreSQL with the audit table
        // locked until all but the first few wait for a group, so the groups surely form.
        const all = [0, 1, 2, 3].flatMap((round) =>
          asks.map((one, i) => ({ one, i, agent: `many-${round}-${i}-${unique('')}` })),
        );
        const postgres = t.server.backend === 'postgres';
        const lock = postgres
          ? new pg.Client({ connectionString: t.config.databaseUrl })
          : undefined;
        await lock?.connect();
        await lock?.query('BEGIN; LOCK TABLE audit IN EXCLUSIVE MODE');
        const before = t.server.store.resolveGroupStats();
        const replies = Promise.all(all.map(({ one, agent }) => ask(one, agent)));
        if (lock) {
          // A few run (and wait for the lock); the others that reach the store wait for a group.
          try {
            while (t.server.store.resolveGroupStats().waiting < 20) {
              await new Promise((resolve) => setTimeout(resolve, 10));
            }
          } finally {
            await lock.query('COMMIT');
            await lock.end();
          }
        }
        const got = await replies;
        all.forEach(({ i, agent }, k) => {
          expect(got[k]!.status, agent).toBe(alone[i]!.status);
          expect(got[k]!.text, agent).toBe(alone[i]!.text);
        });
        if (postgres) {
          const after = t.server.store.resolveGroupStats();
          expect(after.groups).toBeGreaterThan(before.groups);
          expect(after.grouped - before.grouped).toBeGreaterThanOrEqual(20);
        }

        // One audit row per served request, naming its caller, secret and client; none for the rest.
        const rows = await t.server.store.db.query<{
          actor: string;
          secret_id: string;
          client: string;
        }>(
          `SELECT actor, secret_id, client FROM audit WHERE action = 'resolve' AND client LIKE 'many-%'`,
        );
        const expected = all
          .filter(({ i }) => alone[i]!.status === 200)
          .map(({ one, i, agent }) => ({
            actor: Object.entries(w.tokens).find(([, tok]) => tok === one[0])![0],
            secret_id: alone[i]!.body.id,
            client: agent,
          }));
        const actorName = (id: string) =>
          Object.entries(w.ids).find(([, value]) => value === id)![0];
        const sort = (list: { client: string }[]) =>
          [...list].sort((a, b) => a.client.localeCompare(b.client));
        expect(
          sort(
            rows.map((row) => ({
              ...row,
              actor: actorName(row.actor),
              secret_id: String(row.secret_id),
            })),
          ),
        ).toEqual(sort(expected));
      });
    });

    describe('authorization matrix', () => {
      type Actor = 'owner' | 'reader' | 'team' | 'project' | 'stranger' | 'none' | 'admin';
      const ACTORS: Actor[] = ['reader', 'team', 'project', 'stranger', 'none', 'admin', 'owner'];
      const as = (actor: Actor): Client =>
        ({
          owner: w.alice,
          reader: w.bob,
          team: w.carol,
          project: w.dave,
          stranger: w.eve,
          none: w.anonymous,
          admin: w.admin,
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
          call: (c, s) => c('GET', `/v1/resolve/${s.name}?project=${w.ids.project}`),
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
              body: { access: [{ principal: { kind: 'user', id: w.ids.alice }, role: 'owner' }] },
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
                scope: { kind: 'project', id: w.ids.project },
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
            c('POST', `/v1/teams/${w.ids.team}/members`, { body: { user: w.ids.carol } }),
        },
        {
          endpoint: 'POST /v1/projects/{id}/members',
          expect: { ...adminOnly, admin: 201 },
          call: (c) =>
            c('POST', `/v1/projects/${w.ids.project}/members`, {
              body: { principal: { kind: 'user', id: w.ids.dave } },
            }),
        },
        {
          endpoint: 'POST /v1/tokens',
          expect: { ...adminOnly, admin: 201 },
          call: (c) => c('POST', '/v1/tokens', { body: { user: w.ids.eve, name: 'matrix' } }),
        },
        { endpoint: 'GET /v1/tokens', expect: adminOnly, call: (c) => c('GET', '/v1/tokens') },
      ];

      it.each(rows.map((r) => [r.endpoint, r] as const))('%s', async (_endpoint, row) => {
        const s = await sharedSecret(w, 'matrix-value');
        const seen: Record<string, number> = {};
        // The owner goes last, so a refused call can be checked to have changed nothing.
        for (const actor of ACTORS) {
          const r = await row.call(as(actor), s, actor);
          seen[actor] = r.status;
          if (actor !== 'owner' && r.status >= 400) {
            const after = await w.alice('GET', `/v1/secrets/${s.id}`);
            expect(after.body.version, `${actor} changed the secret`).toBe(s.version);
          }
        }
        expect(seen).toEqual(row.expect);
      });

      it('hides secrets from strangers in lists and the change feed', async () => {
        const s = await sharedSecret(w, 'hidden');
        for (const c of [w.eve, w.admin]) {
          const list = SecretList.parse((await c('GET', '/v1/secrets')).body);
          expect(list.secrets.map((x) => x.id)).not.toContain(s.id);
          const changes = (await c('GET', '/v1/changes?limit=1000')).text;
          expect(changes).not.toContain(s.id);
        }
        for (const c of [w.bob, w.carol, w.dave]) {
          const list = SecretList.parse((await c('GET', '/v1/secrets')).body);
          const mine = list.secrets.find((x) => x.id === s.id);
          expect(mine?.role).toBe('reader');
          // Readers do not see who else has access.
          expect(mine?.access).toEqual([]);
        }
      });

      it('refuses an unknown, an expired and a revoked token with 401', async () => {
        const unknown = client(t.url, 'nst_' + 'x'.repeat(43));
        expect((await unknown('GET', '/v1/me')).status).toBe(401);
        // Resolve checks the token in the same statement as the read: the same answers.
        expect((await unknown('GET', '/v1/resolve/SOME_NAME')).status).toBe(401);
        const created = await expectOk(
          w.admin('POST', '/v1/tokens', { body: { user: w.ids.eve } }),
        );
        const c = client(t.url, created.body.token);
        expect((await c('GET', '/v1/me')).status).toBe(200);
        expect((await c('GET', '/v1/resolve/SOME_NAME')).status).toBe(404);
        const expiring = await expectOk(
          w.admin('POST', '/v1/tokens', { body: { user: w.ids.eve, expires_in_days: 1 } }),
        );
        const e = client(t.url, expiring.body.token);
        expect((await e('GET', '/v1/resolve/SOME_NAME')).status).toBe(404);
        // Through the database: the API sets expiry days ahead. A write that passes through the
        // store's driver, so PGlite's memory of the token is forgotten as it would be.
        await t.server.store.db.query(
          `UPDATE tokens SET expires_at = now() - interval '1 second' WHERE id = $1`,
          [expiring.body.id],
        );
        expect((await e('GET', '/v1/me')).status).toBe(401);
        expect((await e('GET', '/v1/resolve/SOME_NAME')).status).toBe(401);
        expect((await w.admin('DELETE', `/v1/tokens/${created.body.id}`)).status).toBe(204);
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

    describe('values in one request (POST /v1/values)', () => {
      it('gives owner, reader, team and project members the values; strangers get missing', async () => {
        const a = await sharedSecret(w, 'batch-a');
        const b = await sharedSecret(w, 'batch-b');
        const gone = await sharedSecret(w, 'batch-gone');
        await expectOk(w.alice('DELETE', `/v1/secrets/${gone.id}`));
        const nowhere = '00000000-0000-4000-8000-000000000000';
        const ids = [b.id, 'not-a-uuid', a.id, gone.id, nowhere];
        for (const c of [w.alice, w.bob, w.carol, w.dave]) {
          const r = await expectOk(c('POST', '/v1/values', { body: { ids } }));
          expect(ValueList.parse(r.body)).toEqual({
            values: [
              { id: b.id, value: 'batch-b', encoding: 'text', version: b.version },
              { id: a.id, value: 'batch-a', encoding: 'text', version: a.version },
            ],
            missing: ['not-a-uuid', gone.id, nowhere],
          });
        }
        // Invisible and nonexistent look alike.
        for (const c of [w.eve, w.admin]) {
          const r = await expectOk(c('POST', '/v1/values', { body: { ids } }));
          expect(r.body).toEqual({ values: [], missing: ids });
        }
        // Upper-case ids are the same secrets, answered under the id as asked.
        const upper = a.id.toUpperCase();
        const r = await expectOk(w.bob('POST', '/v1/values', { body: { ids: [upper] } }));
        expect(r.body).toEqual({
          values: [{ id: upper, value: 'batch-a', encoding: 'text', version: a.version }],
          missing: [],
        });
        const bin = await expectOk(
          w.alice('POST', '/v1/secrets', {
            body: { name: unique('BIN_'), value: 'AAEC/w==', encoding: 'base64', type: 'file' },
          }),
        );
        const got = await expectOk(w.alice('POST', '/v1/values', { body: { ids: [bin.body.id] } }));
        expect(got.body.values).toEqual([
          { id: bin.body.id, value: 'AAEC/w==', encoding: 'base64', version: 1 },
        ]);
      });

      it('audits each value read as read_value, one row per secret, and nothing for missing ones', async () => {
        const a = await sharedSecret(w, 'audit-a');
        const b = await sharedSecret(w, 'audit-b');
        await expectOk(w.bob('POST', '/v1/values', { body: { ids: [a.id, b.id] } }));
        await expectOk(w.eve('POST', '/v1/values', { body: { ids: [a.id, b.id] } }));
        for (const s of [a, b]) {
          const audit = AuditPage.parse((await w.alice('GET', `/v1/audit?secret=${s.id}`)).body);
          const reads = audit.entries.filter((e) => e.action === 'read_value');
          expect(reads).toHaveLength(1);
          expect(reads[0]).toMatchObject({
            actor: w.ids.bob,
            secret_id: s.id,
            secret_name: s.name,
            version: s.version,
          });
          expect(audit.entries.map((e) => e.actor)).not.toContain(w.ids.eve);
        }
        // The same action the single read writes.
        await expectOk(w.bob('GET', `/v1/secrets/${a.id}/value`));
        const audit = AuditPage.parse((await w.alice('GET', `/v1/audit?secret=${a.id}`)).body);
        expect(audit.entries.filter((e) => e.action === 'read_value')).toHaveLength(2);
      });

      it('needs a token, and refuses bad bodies with 400 that never echo them', async () => {
        const s = await sharedSecret(w, CANARY);
        const none = await w.anonymous('POST', '/v1/values', { body: { ids: [s.id] } });
        expect(none.status).toBe(401);
        expect(none.text).not.toContain(CANARY);
        const tooMany = Array.from({ length: 501 }, (_, i) => `${CANARY}-${i}`);
        const bad: [string, unknown, RegExp][] = [
          ['an empty list', { ids: [] }, /at least one id/],
          ['501 ids', { ids: tooMany }, /at most 500 ids/],
          ['a number among the ids', { ids: [s.id, 7] }, /'ids\.1' must be a string/],
          ['an unknown field', { ids: [s.id], value: CANARY }, /Unknown field 'value'/],
          ['no ids', {}, /needs 'ids'/],
          ['ids twice', { ids: [s.id, s.id] }, /unique/],
          ['an empty id', { ids: [''] }, /empty/],
          ['not an object', [s.id], /must be a JSON object/],
        ];
        for (const [what, body, message] of bad) {
          const r = await w.alice('POST', '/v1/values', { body });
          expect(r.status, what).toBe(400);
          expect(ApiErrorBody.parse(r.body).error.code, what).toBe('invalid_input');
          expect(r.body.error.message, what).toMatch(message);
          expect(r.text, what).not.toContain(CANARY);
        }
        const raw = await w.alice('POST', '/v1/values', { raw: `{"ids": ["${CANARY}"` });
        expect(raw.status).toBe(400);
        expect(raw.text).not.toContain(CANARY);
        // The value itself travels only in the 200 answer, never in a log line.
        const ok = await expectOk(w.bob('POST', '/v1/values', { body: { ids: [s.id] } }));
        expect(ok.text).toContain(CANARY);
        expect(t.logs.text).toContain('"route":"/v1/values"');
        expect(t.logs.text).not.toContain(CANARY);
      });
    });

    describe('versions, sharing and deletion', () => {
      it('requires If-Match on PATCH and answers a stale one with 412 and the current version', async () => {
        const { body } = await expectOk(
          w.alice('POST', '/v1/secrets', { body: { name: unique('V_'), value: 'a' } }),
        );
        const missing = await w.alice('PATCH', `/v1/secrets/${body.id}`, { body: { value: 'b' } });
        expect(missing.status).toBe(400);
        expect(missing.body.error.code).toBe('precondition_required');
        const ok = await w.alice('PATCH', `/v1/secrets/${body.id}`, {
          body: { value: 'b' },
          headers: { 'if-match': '"1"' },
        });
        expect(ok.status).toBe(200);
        expect(ok.headers.get('etag')).toBe('"2"');
        const stale = await w.alice('PATCH', `/v1/secrets/${body.id}`, {
          body: { value: 'c' },
          headers: { 'if-match': '"1"' },
        });
        expect(stale.status).toBe(412);
        expect(stale.body.error).toMatchObject({ code: 'version_conflict', current_version: 2 });
        expect(stale.headers.get('etag')).toBe('"2"');
        expect((await w.alice('GET', `/v1/secrets/${body.id}/value`)).body.value).toBe('b');
      });

      it('takes an id typed in upper case as the same secret for reads, edits and restores', async () => {
        const { body } = await expectOk(
          w.alice('POST', '/v1/secrets', { body: { name: unique('U_'), value: 'first' } }),
        );
        const upper = String(body.id).toUpperCase();
        expect((await expectOk(w.alice('GET', `/v1/secrets/${upper}/value`))).body.value).toBe(
          'first',
        );
        await expectOk(
          w.alice('PATCH', `/v1/secrets/${upper}`, {
            body: { value: 'second' },
            headers: { 'if-match': '"1"' },
          }),
        );
        expect((await expectOk(w.alice('GET', `/v1/secrets/${body.id}/value`))).body.value).toBe(
          'second',
        );
        await expectOk(
          w.alice('POST', `/v1/secrets/${upper}/versions/1/restore`, {
            headers: { 'if-match': '"2"' },
          }),
        );
        expect((await expectOk(w.alice('GET', `/v1/secrets/${body.id}/value`))).body.value).toBe(
          'first',
        );
      });

      it('keeps the last N values, restores one as a new version, and never lists values', async () => {
        const { body } = await expectOk(
          w.alice('POST', '/v1/secrets', { body: { name: unique('R_'), value: 'v1' } }),
        );
        for (let v = 1; v < 5; v++) {
          await expectOk(
            w.alice('PATCH', `/v1/secrets/${body.id}`, {
              body: { value: `v${v + 1}` },
              headers: { 'if-match': `"${v}"` },
            }),
          );
        }
        const versions = VersionList.parse(
          (await w.alice('GET', `/v1/secrets/${body.id}/versions`)).body,
        ).versions;
        expect(versions.map((v) => [v.version, v.kind, v.restorable])).toEqual([
          [5, 'update', true],
          [4, 'update', true],
          [3, 'update', true],
          [2, 'update', false],
          [1, 'create', false],
        ]);
        const gone = await w.alice('POST', `/v1/secrets/${body.id}/versions/1/restore`);
        expect(gone.status).toBe(404);
        expect(gone.body.error.message).toMatch(/destroyed/);
        const restored = await w.alice('POST', `/v1/secrets/${body.id}/versions/3/restore`, {
          headers: { 'if-match': '"5"' },
        });
        expect(restored.status).toBe(200);
        expect(restored.body.version).toBe(6);
        expect((await w.alice('GET', `/v1/secrets/${body.id}/value`)).body).toEqual({
          value: 'v3',
          encoding: 'text',
          version: 6,
        });
        const stale = await w.alice('POST', `/v1/secrets/${body.id}/versions/4/restore`, {
          headers: { 'if-match': '"5"' },
        });
        expect(stale.status).toBe(412);
      });

      it('refuses to remove the last owner with 422, and shares with users and teams', async () => {
        const s = await sharedSecret(w, 'share');
        const noOwner = await w.alice('PUT', `/v1/secrets/${s.id}/access`, {
          body: { access: [{ principal: { kind: 'user', id: w.ids.bob }, role: 'reader' }] },
        });
        expect(noOwner.status).toBe(422);
        expect(noOwner.body.error.code).toBe('last_owner');
        const unknownUser = await w.alice('PUT', `/v1/secrets/${s.id}/access`, {
          body: { access: [{ principal: { kind: 'user', id: 'nobody-here' }, role: 'owner' }] },
        });
        expect(unknownUser.status).toBe(400);
        // Hand ownership to bob: alice loses all access, bob can now edit.
        const handed = await w.alice('PUT', `/v1/secrets/${s.id}/access`, {
          body: { access: [{ principal: { kind: 'user', id: w.ids.bob }, role: 'owner' }] },
          headers: { 'if-match': `"${s.version}"` },
        });
        expect(handed.status).toBe(200);
        // alice is still a project member: she can read, not edit.
        expect((await w.alice('GET', `/v1/secrets/${s.id}`)).body.role).toBe('reader');
        expect((await w.carol('GET', `/v1/secrets/${s.id}`)).status).toBe(404);
        const edit = await w.bob('PATCH', `/v1/secrets/${s.id}`, {
          body: { value: 'bob was here' },
          headers: { 'if-match': `"${handed.body.version}"` },
        });
        expect(edit.status).toBe(200);
      });

      it('renames with PATCH name: same id, versions, values and grants; 409 when the name is taken', async () => {
        const s = await sharedSecret(w, 'before rename');
        const other = await expectOk(
          w.alice('POST', '/v1/secrets', {
            body: {
              name: unique('TAKEN_'),
              value: 'x',
              scope: { kind: 'project', id: w.ids.project },
            },
          }),
        );
        let cursor = ChangesPage.parse((await w.bob('GET', '/v1/changes?limit=1000')).body).next;
        while (true) {
          const page = ChangesPage.parse(
            (await w.bob('GET', `/v1/changes?since=${cursor}&limit=1000`)).body,
          );
          cursor = page.next;
          if (!page.more) break;
        }
        const newName = unique('RENAMED_');
        const noIfMatch = await w.alice('PATCH', `/v1/secrets/${s.id}`, {
          body: { name: newName },
        });
        expect(noIfMatch.status).toBe(400);
        expect(noIfMatch.body.error.code).toBe('precondition_required');
        const taken = await w.alice('PATCH', `/v1/secrets/${s.id}`, {
          body: { name: other.body.name },
          headers: { 'if-match': `"${s.version}"` },
        });
        expect(taken.status).toBe(409);
        expect(taken.body.error).toMatchObject({ code: 'name_taken', field: 'name' });
        const bad = await w.alice('PATCH', `/v1/secrets/${s.id}`, {
          body: { name: '1-not a name' },
          headers: { 'if-match': `"${s.version}"` },
        });
        expect(bad.status).toBe(400);
        expect(bad.body.error).toMatchObject({ code: 'invalid_name', field: 'name' });
        const byReader = await w.bob('PATCH', `/v1/secrets/${s.id}`, {
          body: { name: newName },
          headers: { 'if-match': `"${s.version}"` },
        });
        expect(byReader.status).toBe(403);
        // Nothing of the refused attempts stuck.
        expect((await w.alice('GET', `/v1/secrets/${s.id}`)).body).toMatchObject({
          name: s.name,
          version: s.version,
        });
        const renamed = await w.alice('PATCH', `/v1/secrets/${s.id}`, {
          body: { name: newName },
          headers: { 'if-match': `"${s.version}"` },
        });
        expect(renamed.status).toBe(200);
        const meta = SecretMetadata.parse(renamed.body);
        expect(meta).toMatchObject({
          id: s.id,
          name: newName,
          version: s.version + 1,
          scope: { kind: 'project', id: w.ids.project },
        });
        expect(meta.access).toHaveLength(3);
        expect((await w.bob('GET', `/v1/secrets/${s.id}/value`)).body.value).toBe('before rename');
        const versions = VersionList.parse(
          (await w.alice('GET', `/v1/secrets/${s.id}/versions`)).body,
        ).versions;
        expect(versions.map((v) => v.version)).toEqual([s.version + 1, 2, 1]);
        // The old name is free, the new one resolves.
        expect(
          (await w.bob('GET', `/v1/resolve/${newName}?project=${w.ids.project}`)).body.id,
        ).toBe(s.id);
        expect((await w.bob('GET', `/v1/resolve/${s.name}?project=${w.ids.project}`)).status).toBe(
          404,
        );
        const audit = AuditPage.parse((await w.admin('GET', `/v1/audit?secret=${s.id}`)).body);
        expect(audit.entries).toContainEqual(
          expect.objectContaining({
            action: 'update',
            secret_name: newName,
            version: s.version + 1,
          }),
        );
        const changes = ChangesPage.parse(
          (await w.bob('GET', `/v1/changes?since=${cursor}`)).body,
        ).changes;
        expect(changes).toContainEqual(
          expect.objectContaining({
            kind: 'upsert',
            secret: expect.objectContaining({ id: s.id, name: newName }),
          }),
        );
      });

      it('DELETE destroys the values, frees the name, keeps the audit rows, and leaves a tombstone', async () => {
        const s = await sharedSecret(w, 'to delete');
        const before = ChangesPage.parse((await w.carol('GET', '/v1/changes?limit=1000')).body);
        let cursor = before.next;
        while (true) {
          const page = ChangesPage.parse(
            (await w.carol('GET', `/v1/changes?since=${cursor}&limit=1000`)).body,
          );
          cursor = page.next;
          if (!page.more) break;
        }
        const stale = await w.alice('DELETE', `/v1/secrets/${s.id}`, {
          headers: { 'if-match': '"1"' },
        });
        expect(stale.status).toBe(412);
        expect(
          (
            await w.alice('DELETE', `/v1/secrets/${s.id}`, {
              headers: { 'if-match': `"${s.version}"` },
            })
          ).status,
        ).toBe(204);
        expect((await w.alice('GET', `/v1/secrets/${s.id}`)).status).toBe(404);
        expect((await w.alice('DELETE', `/v1/secrets/${s.id}`)).status).toBe(404);
        const rows = await t.server.store.db.query(
          'SELECT count(*)::int AS n FROM secret_versions WHERE secret_id = $1',
          [s.id],
        );
        expect(rows[0]!.n).toBe(0);
        const again = await w.alice('POST', '/v1/secrets', {
          body: { name: s.name, value: 'again', scope: { kind: 'project', id: w.ids.project } },
        });
        expect(again.status).toBe(201);
        const audit = AuditPage.parse((await w.admin('GET', `/v1/audit?secret=${s.id}`)).body);
        expect(audit.entries.map((e) => e.action)).toEqual(['delete', 'share', 'create']);
        const changes = ChangesPage.parse(
          (await w.carol('GET', `/v1/changes?since=${cursor}`)).body,
        );
        expect(changes.reset).toBe(false);
        expect(changes.changes).toContainEqual({ kind: 'tombstone', id: s.id, reason: 'deleted' });
        // A stranger learns nothing about it.
        const eve = ChangesPage.parse((await w.eve('GET', `/v1/changes?since=${cursor}`)).body);
        expect(JSON.stringify(eve)).not.toContain(s.id);
      });
    });

    describe('change feed', () => {
      it('reads incrementally with a cursor, pages, and reports lost access as a tombstone', async () => {
        const c = await makeWorld(t);
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          const r = await expectOk(
            c.alice('POST', '/v1/secrets', { body: { name: `FEED_${i}`, value: `v${i}` } }),
          );
          ids.push(r.body.id);
        }
        // Full listing, two per page.
        const seen: string[] = [];
        let page = ChangesPage.parse((await c.alice('GET', '/v1/changes?limit=2')).body);
        expect(page.reset).toBe(true);
        seen.push(...page.changes.map((x) => (x.kind === 'upsert' ? x.secret.id : x.id)));
        while (page.more) {
          page = ChangesPage.parse(
            (await c.alice('GET', `/v1/changes?since=${page.next}&limit=2`)).body,
          );
          seen.push(...page.changes.map((x) => (x.kind === 'upsert' ? x.secret.id : x.id)));
        }
        expect(seen.sort()).toEqual([...ids].sort());
        const cursor = page.next;
        const empty = ChangesPage.parse((await c.alice('GET', `/v1/changes?since=${cursor}`)).body);
        expect(empty).toMatchObject({ changes: [], more: false, reset: false, next: cursor });

        // One change: one upsert.
        await expectOk(
          c.alice('PATCH', `/v1/secrets/${ids[2]}`, {
            body: { description: 'x' },
            headers: { 'if-match': '"1"' },
          }),
        );
        const one = ChangesPage.parse((await c.alice('GET', `/v1/changes?since=${cursor}`)).body);
        expect(one.changes).toHaveLength(1);
        expect(one.changes[0]).toMatchObject({
          kind: 'upsert',
          secret: { id: ids[2], version: 2, description: 'x' },
        });

        // bob gets a share, then loses it: upsert, then tombstone access_lost.
        const bobStart = ChangesPage.parse((await c.bob('GET', '/v1/changes')).body).next;
        await expectOk(
          c.alice('PUT', `/v1/secrets/${ids[0]}/access`, {
            body: {
              access: [
                { principal: { kind: 'user', id: c.ids.alice }, role: 'owner' },
                { principal: { kind: 'user', id: c.ids.bob }, role: 'reader' },
              ],
            },
          }),
        );
        const gained = ChangesPage.parse(
          (await c.bob('GET', `/v1/changes?since=${bobStart}`)).body,
        );
        expect(gained.changes).toEqual([expect.objectContaining({ kind: 'upsert' })]);
        await expectOk(
          c.alice('PUT', `/v1/secrets/${ids[0]}/access`, {
            body: { access: [{ principal: { kind: 'user', id: c.ids.alice }, role: 'owner' }] },
          }),
        );
        const lost = ChangesPage.parse(
          (await c.bob('GET', `/v1/changes?since=${gained.next}`)).body,
        );
        expect(lost.changes).toEqual([{ kind: 'tombstone', id: ids[0], reason: 'access_lost' }]);
      });

      it('lists every secret you see, by id, and brings what changed while the listing was read', async () => {
        const c = await makeWorld(t);
        const create = async (who: 'alice' | 'bob' | 'dave', name: string, scope?: object) =>
          (
            await expectOk(
              c[who]('POST', '/v1/secrets', {
                body: { name, value: 'v', ...(scope && { scope }) },
              }),
            )
          ).body.id as string;
        const project = { kind: 'project', id: c.ids.project };
        for (let i = 0; i < 4; i++) await create('alice', `MINE_${i}`);
        const projectIds: string[] = [];
        for (let i = 0; i < 4; i++) projectIds.push(await create('dave', `PROJ_${i}`, project));
        const shared = await create('bob', 'SHARED');
        const bobOwner = { principal: { kind: 'user', id: c.ids.bob }, role: 'owner' };
        await expectOk(
          c.bob('PUT', `/v1/secrets/${shared}/access`, {
            body: {
              access: [bobOwner, { principal: { kind: 'user', id: c.ids.alice }, role: 'reader' }],
            },
          }),
        );
        await create('bob', 'NOT_FOR_ALICE');

        // A listing that fills its page exactly ends on it when nothing followed it.
        const whole = ChangesPage.parse((await c.alice('GET', '/v1/changes?limit=9')).body);
        expect(whole).toMatchObject({ reset: true, more: false });
        expect(whole.changes).toHaveLength(9);
        // What alice holds as she reads the feed: id → version.
        const held = new Map<string, number>();
        const read = (page: ChangesPage) => {
          for (const change of page.changes) {
            if (change.kind === 'upsert') held.set(change.secret.id, change.secret.version);
            else held.delete(change.id);
          }
        };
        let page = ChangesPage.parse((await c.alice('GET', '/v1/changes?limit=3')).body);
        expect(page).toMatchObject({ reset: true, more: true });
        read(page);
        const firstIds = page.changes.map((x) => (x.kind === 'upsert' ? x.secret.id : x.id));
        expect(firstIds).toEqual([...firstIds].sort());
        // While the listing is read: a new secret, an edit, a delete, and lost access.
        await create('alice', 'MINE_NEW');
        await expectOk(
          c.dave('PATCH', `/v1/secrets/${projectIds[0]}`, {
            body: { description: 'edited' },
            headers: { 'if-match': '"1"' },
          }),
        );
        await expectOk(c.dave('DELETE', `/v1/secrets/${projectIds[1]}`));
        await expectOk(
          c.bob('PUT', `/v1/secrets/${shared}/access`, { body: { access: [bobOwner] } }),
        );
        while (page.more) {
          page = ChangesPage.parse(
            (await c.alice('GET', `/v1/changes?since=${page.next}&limit=3`)).body,
          );
          expect(page.reset).toBe(false);
          read(page);
        }
        const listed = SecretList.parse((await c.alice('GET', '/v1/secrets')).body).secrets;
        expect(new Map([...held].sort())).toEqual(
          new Map(listed.map((s) => [s.id, s.version] as const).sort()),
        );
        expect(held.has(shared)).toBe(false);
        expect(held.get(projectIds[0]!)).toBe(2);
      });

      it('brings upserts when a member joins a team and tombstones when they leave', async () => {
        const c = await makeWorld(t);
        const team = await expectOk(
          c.carol('POST', '/v1/secrets', {
            body: { name: 'TEAM_X', value: 'x', scope: { kind: 'team', id: c.ids.team } },
          }),
        );
        const start = ChangesPage.parse((await c.eve('GET', '/v1/changes')).body).next;
        await expectOk(
          c.admin('POST', `/v1/teams/${c.ids.team}/members`, { body: { user: c.ids.eve } }),
        );
        const joined = ChangesPage.parse((await c.eve('GET', `/v1/changes?since=${start}`)).body);
        expect(joined.changes).toEqual([
          expect.objectContaining({
            kind: 'upsert',
            secret: expect.objectContaining({ id: team.body.id }),
          }),
        ]);
        await expectOk(c.admin('DELETE', `/v1/teams/${c.ids.team}/members/${c.ids.eve}`));
        const left = ChangesPage.parse(
          (await c.eve('GET', `/v1/changes?since=${joined.next}`)).body,
        );
        expect(left.changes).toEqual([
          { kind: 'tombstone', id: team.body.id, reason: 'access_lost' },
        ]);
      });

      it('never shows a new team member tombstones of secrets they never could see', async () => {
        const c = await makeWorld(t);
        const start = ChangesPage.parse((await c.eve('GET', '/v1/changes')).body).next;
        // Before eve joins: a team secret created and deleted, a personal one shared with the
        // team and unshared again.
        const gone = await expectOk(
          c.carol('POST', '/v1/secrets', {
            body: { name: unique('GONE_'), value: 'x', scope: { kind: 'team', id: c.ids.team } },
          }),
        );
        await expectOk(c.carol('DELETE', `/v1/secrets/${gone.body.id}`));
        const unshared = await expectOk(
          c.carol('POST', '/v1/secrets', { body: { name: unique('ONCE_'), value: 'y' } }),
        );
        const owner = { principal: { kind: 'user', id: c.ids.carol }, role: 'owner' };
        await expectOk(
          c.carol('PUT', `/v1/secrets/${unshared.body.id}/access`, {
            body: {
              access: [owner, { principal: { kind: 'team', id: c.ids.team }, role: 'reader' }],
            },
          }),
        );
        await expectOk(
          c.carol('PUT', `/v1/secrets/${unshared.body.id}/access`, { body: { access: [owner] } }),
        );
        await expectOk(
          c.admin('POST', `/v1/teams/${c.ids.team}/members`, { body: { user: c.ids.eve } }),
        );
        const fromStart = `${start.split('.')[0]}.0`;
        for (const since of [start, fromStart]) {
          const ids = (await feedAll(c.eve, since)).map((x) =>
            x.kind === 'upsert' ? x.secret.id : x.id,
          );
          expect(ids).not.toContain(gone.body.id);
          expect(ids).not.toContain(unshared.body.id);
        }
      });

      it('shows a user only secrets they can see now or could see before, whatever the history', async () => {
        type Op =
          | { op: 'create'; team: boolean }
          | { op: 'share'; i: number; to: 'team' | 'eve' | 'nobody' }
          | { op: 'delete'; i: number }
          | { op: 'join' }
          | { op: 'leave' };
        const op: fc.Arbitrary<Op> = fc.oneof(
          {
            weight: 3,
            arbitrary: fc.record({ op: fc.constant('create' as const), team: fc.boolean() }),
          },
          {
            weight: 3,
            arbitrary: fc.record({
              op: fc.constant('share' as const),
              i: fc.nat(7),
              to: fc.constantFrom('team' as const, 'eve' as const, 'nobody' as const),
            }),
          },
          {
            weight: 2,
            arbitrary: fc.record({ op: fc.constant('delete' as const), i: fc.nat(7) }),
          },
          { weight: 1, arbitrary: fc.record({ op: fc.constant('join' as const) }) },
          { weight: 1, arbitrary: fc.record({ op: fc.constant('leave' as const) }) },
        );
        await fc.assert(
          fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
            const c = await makeWorld(t);
            const start = ChangesPage.parse((await expectOk(c.eve('GET', '/v1/changes'))).body);
            const created: string[] = [];
            const everSeen = new Set<string>();
            const visible = async () =>
              new Set(
                SecretList.parse((await expectOk(c.eve('GET', '/v1/secrets'))).body).secrets.map(
                  (x) => x.id,
                ),
              );
            const owner = { principal: { kind: 'user', id: c.ids.carol }, role: 'owner' };
            for (const step of ops) {
              const id = created.length > 0 && 'i' in step ? created[step.i % created.length] : '';
              if (step.op === 'create') {
                const r = await expectOk(
                  c.carol('POST', '/v1/secrets', {
                    body: {
                      name: unique('P_'),
                      value: 'v',
                      ...(step.team ? { scope: { kind: 'team', id: c.ids.team } } : {}),
                    },
                  }),
                );
                created.push(r.body.id);
              } else if (step.op === 'share' && id) {
                const extra =
                  step.to === 'nobody'
                    ? []
                    : [
                        {
                          principal: {
                            kind: step.to === 'eve' ? 'user' : 'team',
                            id: c.ids[step.to],
                          },
                          role: 'reader',
                        },
                      ];
                await c.carol('PUT', `/v1/secrets/${id}/access`, {
                  body: { access: [owner, ...extra] },
                });
              } else if (step.op === 'delete' && id) {
                await c.carol('DELETE', `/v1/secrets/${id}`);
              } else if (step.op === 'join') {
                await c.admin('POST', `/v1/teams/${c.ids.team}/members`, {
                  body: { user: c.ids.eve },
                });
              } else if (step.op === 'leave') {
                await c.admin('DELETE', `/v1/teams/${c.ids.team}/members/${c.ids.eve}`);
              }
              for (const seen of await visible()) everSeen.add(seen);
            }
            const now = await visible();
            for (const since of [start.next, `${start.next.split('.')[0]}.0`]) {
              const state = new Set<string>();
              for (const change of await feedAll(c.eve, since)) {
                if (change.kind === 'upsert') {
                  expect(now).toContain(change.secret.id);
                  state.add(change.secret.id);
                } else {
                  expect(everSeen).toContain(change.id);
                  state.delete(change.id);
                }
              }
              // And the feed brings eve to exactly what she can see.
              expect([...state].sort()).toEqual([...now].sort());
            }
          }),
          {
            numRuns: 20,
            // The histories an earlier server got wrong, tried first.
            examples: [
              [[{ op: 'create', team: true }, { op: 'delete', i: 0 }, { op: 'join' }]],
              [
                [
                  { op: 'create', team: false },
                  { op: 'share', i: 0, to: 'team' },
                  { op: 'share', i: 0, to: 'nobody' },
                  { op: 'join' },
                ],
              ],
            ],
          },
        );
      });

      it('answers a foreign or malformed cursor with a full listing (reset)', async () => {
        const r = ChangesPage.parse(
          (await w.alice('GET', `/v1/changes?since=${'0'.repeat(32)}.5`)).body,
        );
        expect(r.reset).toBe(true);
        const bad = ChangesPage.parse((await w.alice('GET', '/v1/changes?since=garbage')).body);
        expect(bad.reset).toBe(true);
        expect((await w.alice('GET', '/v1/changes?limit=0')).status).toBe(400);
      });
    });

    describe('concurrency', () => {
      it('lets exactly one of many PATCHes with the same If-Match win; the rest get 412', async () => {
        const { body } = await expectOk(
          w.alice('POST', '/v1/secrets', { body: { name: unique('RACE_'), value: 'start' } }),
        );
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            w.alice('PATCH', `/v1/secrets/${body.id}`, {
              body: { value: `writer-${i}` },
              headers: { 'if-match': '"1"' },
            }),
          ),
        );
        const statuses = results.map((r) => r.status).sort();
        expect(statuses.filter((s) => s === 200)).toHaveLength(1);
        expect(statuses.filter((s) => s === 412)).toHaveLength(11);
        const winner = results.findIndex((r) => r.status === 200);
        const value = await w.alice('GET', `/v1/secrets/${body.id}/value`);
        expect(value.body).toEqual({ value: `writer-${winner}`, encoding: 'text', version: 2 });
        const versions = VersionList.parse(
          (await w.alice('GET', `/v1/secrets/${body.id}/versions`)).body,
        ).versions;
        expect(versions.map((v) => v.version)).toEqual([2, 1]);
      });

      it('gives one 201 and 409 to the rest when many create the same name at once', async () => {
        const name = unique('SAME_');
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            w.alice('POST', '/v1/secrets', { body: { name, value: `v${i}` } }),
          ),
        );
        const statuses = results.map((r) => r.status);
        expect(statuses.filter((s) => s === 201)).toHaveLength(1);
        expect(statuses.filter((s) => s === 409)).toHaveLength(11);
        expect(results.find((r) => r.status === 409)!.body.error.code).toBe('name_taken');
        const list = SecretList.parse((await w.alice('GET', `/v1/secrets?q=${name}`)).body);
        expect(list.secrets).toHaveLength(1);
      });

      it('lists each of many concurrent changes once in the change feed', async () => {
        const c = await makeWorld(t);
        const start = ChangesPage.parse((await c.alice('GET', '/v1/changes')).body).next;
        const created = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            expectOk(c.alice('POST', '/v1/secrets', { body: { name: `PAR_${i}`, value: 'x' } })),
          ),
        );
        const ids = (await feedAll(c.alice, start)).map((x) =>
          x.kind === 'upsert' ? x.secret.id : x.id,
        );
        expect(ids.sort()).toEqual(created.map((r) => r.body.id as string).sort());
      });

      // PGlite runs one transaction at a time: a write held open there holds every other.
      it.runIf(backendName === 'PostgreSQL')(
        'never skips a change numbered first but committed last, and lets other writers commit meanwhile',
        async () => {
          const c = await makeWorld(t);
          const post = (name: string) =>
            expectOk(c.alice('POST', '/v1/secrets', { body: { name: unique(name), value: 'x' } }));
          const held = (await post('HELD_')).body.id as string;
          const other = (await post('OTHER_')).body.id as string;
          const start = ChangesPage.parse((await c.alice('GET', '/v1/changes')).body).next;

          // A write that takes its change number, then stays open.
          let numbered!: () => void;
          const isNumbered = new Promise<void>((resolve) => (numbered = resolve));
          let release!: () => void;
          const released = new Promise<void>((resolve) => (release = resolve));
          const holder = t.server.store.db.transaction(async (tx) => {
            await tx.query(`UPDATE secrets SET description = 'held' WHERE id = $1`, [held]);
            await recordChanges(tx, [
              { secretIds: [held], kind: 'edit', audience: [`user:${c.ids.alice}`] },
            ]);
            numbered();
            await released;
          });
          await isNumbered;
          let during: { changes: ChangesPage['changes']; next: string };
          try {
            // Another write, numbered after it, commits first; it must not wait for the open one.
            let watching = true;
            const blocked = (async () => {
              while (watching) {
                const [row] = await t.server.store.db.query<{ n: number }>(
                  `SELECT count(*)::int AS n FROM pg_stat_activity
                   WHERE wait_event_type = 'Lock' AND datname = current_database()`,
                );
                if (row!.n > 0) return 'waits for a lock';
                await new Promise((resolve) => setTimeout(resolve, 20));
              }
              return 'stopped';
            })();
            const outcome = await Promise.race([
              c
                .alice('PATCH', `/v1/secrets/${other}`, {
                  body: { description: 'later' },
                  headers: { 'if-match': '"1"' },
                })
                .then((r) => r.status),
              blocked,
            ]);
            watching = false;
            await blocked;
            expect(outcome).toBe(200);
            // A reader pages through the feed while the first write is still open.
            during = await feedPages(c.alice, start);
          } finally {
            release();
            await holder;
          }
          const after = await feedPages(c.alice, during.next);
          const seen = [...during.changes, ...after.changes].flatMap((x) =>
            x.kind === 'upsert' ? [x.secret] : [],
          );
          expect(seen).toContainEqual(expect.objectContaining({ id: held, description: 'held' }));
          expect(seen).toContainEqual(expect.objectContaining({ id: other, description: 'later' }));
        },
      );
    });

    describe('bad input', () => {
      const cases: {
        what: string;
        body?: unknown;
        raw?: string;
        headers?: Record<string, string>;
        status: number;
        code: string;
        message: RegExp;
      }[] = [
        {
          what: 'a name with a space',
          body: { name: 'MY KEY', value: 'x' },
          status: 400,
          code: 'invalid_name',
          message: /cannot contain a space/,
        },
        {
          what: 'a name starting with a digit',
          body: { name: '1KEY', value: 'x' },
          status: 400,
          code: 'invalid_name',
          message: /cannot start with a digit/,
        },
        {
          what: 'an empty name',
          body: { name: '', value: 'x' },
          status: 400,
          code: 'invalid_name',
          message: /name is required/,
        },
        {
          what: 'a 129-character name',
          body: { name: 'A'.repeat(129), value: 'x' },
          status: 400,
          code: 'invalid_name',
          message: /limit is 128/,
        },
        {
          what: 'a missing value',
          body: { name: 'OK_NAME' },
          status: 400,
          code: 'invalid_input',
          message: /needs 'value'/,
        },
        {
          what: 'a number as value',
          body: { name: 'OK_NAME', value: 42 },
          status: 400,
          code: 'invalid_input',
          message: /'value' must be a string/,
        },
        {
          what: 'an unknown type',
          body: { name: 'OK_NAME', value: 'x', type: 'magic' },
          status: 400,
          code: 'invalid_input',
          message: /'type'/,
        },
        {
          what: 'an unknown field',
          body: { name: 'OK_NAME', value: 'x', colour: 'red' },
          status: 400,
          code: 'invalid_input',
          message: /Unknown field 'colour'/,
        },
        {
          what: 'a bad scope',
          body: { name: 'OK_NAME', value: 'x', scope: { kind: 'galaxy' } },
          status: 400,
          code: 'invalid_input',
          message: /scope/,
        },
        {
          what: 'a long description',
          body: { name: 'OK_NAME', value: 'x', description: 'd'.repeat(1025) },
          status: 400,
          code: 'invalid_input',
          message: /at most 1024/,
        },
        {
          what: 'an array body',
          body: [1, 2],
          status: 400,
          code: 'invalid_input',
          message: /JSON object/,
        },
        {
          what: 'a value over 64 KiB',
          body: { name: 'OK_NAME', value: 'é'.repeat(40_000) },
          status: 413,
          code: 'value_too_large',
          message: /limit is 64 KiB/,
        },
        {
          what: 'malformed JSON',
          raw: '{"name": "OK_NAME", "value": x',
          status: 400,
          code: 'malformed_json',
          message: /not valid JSON/,
        },
        {
          what: 'a body that is not JSON',
          raw: 'name=x',
          headers: { 'content-type': 'text/plain' },
          status: 415,
          code: 'unsupported_media_type',
          message: /application\/json/,
        },
        {
          what: 'a huge body',
          raw: JSON.stringify({ name: 'OK_NAME', value: 'x'.repeat(2_000_000) }),
          status: 413,
          code: 'body_too_large',
          message: /larger than/,
        },
        {
          what: 'a __proto__ key',
          raw: '{"name":"OK_NAME","value":"x","__proto__":{"admin":true}}',
          status: 400,
          code: 'invalid_input',
          message: /__proto__/,
        },
      ];

      it.each(cases.map((c) => [c.what, c] as const))('refuses %s', async (_what, c) => {
        const r = await w.alice('POST', '/v1/secrets', {
          ...(c.body !== undefined ? { body: c.body } : {}),
          ...(c.raw !== undefined ? { raw: c.raw } : {}),
          ...(c.headers ? { headers: c.headers } : {}),
        });
        expect(r.status).toBe(c.status);
        const error = ApiErrorBody.parse(r.body).error;
        expect(error.code).toBe(c.code);
        expect(error.message).toMatch(c.message);
      });

      it('refuses bad queries, ids and If-Match values clearly', async () => {
        expect((await w.alice('GET', '/v1/secrets?scope=galaxy')).body.error.field).toBe('scope');
        expect((await w.alice('GET', '/v1/secrets?type=magic')).status).toBe(400);
        expect((await w.alice('GET', '/v1/secrets?colour=red')).body.error.message).toMatch(
          /Unknown field 'colour'/,
        );
        expect((await w.alice('GET', '/v1/secrets/not-a-uuid')).status).toBe(404);
        expect((await w.alice('GET', '/v1/resolve/BAD-NAME')).body.error.code).toBe('invalid_name');
        const { body } = await expectOk(
          w.alice('POST', '/v1/secrets', { body: { name: unique('Q_'), value: 'x' } }),
        );
        const r = await w.alice('PATCH', `/v1/secrets/${body.id}`, {
          body: { value: 'y' },
          headers: { 'if-match': 'yesterday' },
        });
        expect(r.status).toBe(400);
        expect(r.body.error.message).toMatch(/If-Match/);
        const nothing = await w.alice('PATCH', `/v1/secrets/${body.id}`, {
          body: {},
          headers: { 'if-match': '"1"' },
        });
        expect(nothing.body.error.message).toMatch(/changes nothing/);
        expect((await w.alice('GET', '/v1/nowhere')).status).toBe(404);
        expect((await w.admin('POST', '/v1/users', { body: { id: 'Bad Id' } })).status).toBe(400);
        expect((await w.admin('POST', '/v1/users', { body: { id: w.ids.alice } })).status).toBe(
          409,
        );
      });
    });

    describe('tokens in the audit log', () => {
      it('audits creating and revoking a token (who, for whom), shown to that user too', async () => {
        const c = await makeWorld(t);
        const created = await expectOk(
          c.admin('POST', '/v1/tokens', { body: { user: c.ids.bob, name: 'second' } }),
        );
        await expectOk(c.admin('DELETE', `/v1/tokens/${created.body.id}`));
        const events = (page: AuditPage) =>
          page.entries
            .filter((e) => e.token_id === created.body.id)
            .map((e) => ({ action: e.action, actor: e.actor, subject: e.subject }));
        const expected = [
          { action: 'revoke_token', actor: 'admin', subject: c.ids.bob },
          { action: 'create_token', actor: 'admin', subject: c.ids.bob },
        ];
        expect(events(AuditPage.parse((await expectOk(c.admin('GET', '/v1/audit'))).body))).toEqual(
          expected,
        );
        expect(events(AuditPage.parse((await expectOk(c.bob('GET', '/v1/audit'))).body))).toEqual(
          expected,
        );
        expect(events(AuditPage.parse((await expectOk(c.eve('GET', '/v1/audit'))).body))).toEqual(
          [],
        );
      });

      it('marks what is done with a token an admin created for someone else', async () => {
        const c = await makeWorld(t);
        const { body: secret } = await expectOk(
          c.alice('POST', '/v1/secrets', { body: { name: unique('MARK_'), value: 'x' } }),
        );
        await expectOk(c.alice('GET', `/v1/secrets/${secret.id}/value`));
        await expectOk(c.alice('GET', `/v1/resolve/${secret.name}`));
        const page = AuditPage.parse(
          (await expectOk(c.alice('GET', `/v1/audit?secret=${secret.id}`))).body,
        );
        expect(page.entries.map((e) => [e.action, e.token_created_by])).toEqual([
          ['resolve', 'admin'],
          ['read_value', 'admin'],
          ['create', 'admin'],
        ]);
        expect(new Set(page.entries.map((e) => e.token_id)).size).toBe(1);
        // The admin's own token is the admin's: its actions carry no mark.
        const own = await expectOk(
          c.admin('POST', '/v1/secrets', { body: { name: unique('OWN_'), value: 'x' } }),
        );
        const adminPage = AuditPage.parse(
          (await expectOk(c.admin('GET', `/v1/audit?secret=${own.body.id}`))).body,
        );
        expect(adminPage.entries.map((e) => e.token_created_by)).toEqual([null]);
      });
    });

    describe('strings and versions the database cannot hold', () => {
      it('refuses a NUL character with 400 naming the field, wherever a string comes in', async () => {
        const { body: secret } = await expectOk(
          w.alice('POST', '/v1/secrets', { body: { name: unique('NUL_'), value: 'x' } }),
        );
        const owner = { principal: { kind: 'user', id: w.ids.alice }, role: 'owner' };
        const nul = '\u0000';
        const cases: [Client, string, string, { body?: unknown }?][] = [
          [
            w.alice,
            'POST',
            '/v1/secrets',
            { body: { name: unique('N_'), value: 'x', description: `a${nul}b` } },
          ],
          [w.alice, 'GET', '/v1/secrets?q=a%00b'],
          [w.alice, 'GET', '/v1/secrets?scope=team:a%00b'],
          [w.alice, 'GET', '/v1/resolve/SOME_NAME?project=a%00b'],
          [w.alice, 'GET', '/v1/resolve/SOME_NAME?scope=team:a%00b'],
          [w.alice, 'GET', '/v1/audit?secret=a%00b'],
          [w.admin, 'POST', '/v1/teams', { body: { id: unique('t'), name: `a${nul}b` } }],
          [w.admin, 'POST', '/v1/tokens', { body: { user: w.ids.alice, name: `a${nul}b` } }],
          [w.admin, 'DELETE', `/v1/teams/${w.ids.team}/members/a%00b`],
          [
            w.alice,
            'PUT',
            `/v1/secrets/${secret.id}/access`,
            {
              body: {
                access: [owner, { principal: { kind: 'user', id: `b${nul}` }, role: 'reader' }],
              },
            },
          ],
        ];
        for (const [who, method, path, options] of cases) {
          const r = await who(method, path, options);
          expect(r.status, `${method} ${path}`).toBe(400);
          expect(r.body.error.message, `${method} ${path}`).toMatch(/NUL character/);
        }
        expect(t.logs.text).not.toMatch(/request failed/);
        // A value is sealed, not stored as text: NUL is kept as sent.
        const binary = await expectOk(
          w.alice('POST', '/v1/secrets', { body: { name: unique('N_'), value: `a${nul}b` } }),
        );
        const read = await expectOk(w.alice('GET', `/v1/secrets/${binary.body.id}/value`));
        expect(read.body.value).toBe(`a${nul}b`);
      });

      it('refuses a value or description with a lone surrogate with 400', async () => {
        const lone = await w.alice('POST', '/v1/secrets', {
          body: { name: unique('LONE_'), value: 'abc\ud800' },
        });
        expect(lone.status).toBe(400);
        expect(lone.body.error).toMatchObject({ code: 'invalid_input', field: 'value' });
        expect(lone.body.error.message).toMatch(/surrogate/);
        const { body: secret } = await expectOk(
          w.alice('POST', '/v1/secrets', { body: { name: unique('LONE_'), value: 'ok 😀' } }),
        );
        const patch = await w.alice('PATCH', `/v1/secrets/${secret.id}`, {
          body: { description: '\udc00x' },
          headers: { 'if-match': '"1"' },
        });
        expect(patch.status).toBe(400);
        expect(patch.body.error.field).toBe('description');
        const read = await expectOk(w.alice('GET', `/v1/secrets/${secret.id}/value`));
        expect(read.body).toMatchObject({ value: 'ok 😀', version: 1 });
      });

      it('answers an If-Match beyond any version with 400, not a failure', async () => {
        const { body: secret } = await expectOk(
          w.alice('POST', '/v1/secrets', { body: { name: unique('BIG_'), value: 'x' } }),
        );
        const headers = { 'if-match': '"99999999999"' };
        const owner = { principal: { kind: 'user', id: w.ids.alice }, role: 'owner' };
        const replies = [
          await w.alice('PATCH', `/v1/secrets/${secret.id}`, { body: { value: 'y' }, headers }),
          await w.alice('DELETE', `/v1/secrets/${secret.id}`, { headers }),
          await w.alice('PUT', `/v1/secrets/${secret.id}/access`, {
            body: { access: [owner] },
            headers,
          }),
          await w.alice('POST', `/v1/secrets/${secret.id}/versions/1/restore`, { headers }),
        ];
        for (const r of replies) {
          expect(r.status).toBe(400);
          expect(r.body.error.message).toMatch(/If-Match/);
        }
        expect((await w.alice('GET', `/v1/secrets/${secret.id}`)).body.version).toBe(1);
      });
    });

    describe('connections', () => {
      it('refuses a request without a valid token before reading its body', async () => {
        const reply = await rawExchange(
          t.url,
          'POST /v1/secrets HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n' +
            'Content-Length: 400000\r\n\r\n',
        );
        expect(reply).toMatch(/^HTTP\/1\.1 401 /);
        const notAdmin = await rawExchange(
          t.url,
          `POST /v1/users HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer ${w.tokens.eve}\r\n` +
            'Content-Type: application/json\r\nContent-Length: 400000\r\n\r\n',
        );
        expect(notAdmin).toMatch(/^HTTP\/1\.1 403 /);
      });

      it('lets a client still sending an oversize body read the 413', async () => {
        for (const chunked of [false, true]) {
          const reply = await postLarge(t.url, w.tokens.alice, 8 * 1024 * 1024, chunked);
          expect(reply).toMatch(/^HTTP\/1\.1 413 /);
          expect(reply).toContain('"code":"body_too_large"');
        }
      });

      it('stops accepting an old admin token after a restart with a new one', async () => {
        const first = await startTestServer(backend);
        const { dataDir, databaseUrl } = first.config;
        await first.server.close();
        const second = await startTestServer(backend, {
          dataDir,
          ...(databaseUrl ? { databaseUrl } : {}),
          key: first.key,
        });
        try {
          expect((await client(second.url, first.adminToken)('GET', '/v1/me')).status).toBe(401);
          expect((await client(second.url, second.adminToken)('GET', '/v1/users')).status).toBe(
            200,
          );
        } finally {
          await second.server.close();
        }
      });

      it('on stopping, ends a keep-alive connection after the request it was serving', async () => {
        const s = await startTestServer(backend);
        const { hostname, port } = new URL(s.url);
        const socket = connect(Number(port), hostname);
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        const ended = once(socket, 'close');
        const body = JSON.stringify({ name: unique('LAST_'), value: 'x' });
        const seen = once(s.server.app.server, 'request');
        socket.write(
          `POST /v1/secrets HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer ${s.adminToken}\r\n` +
            `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
        );
        await seen;
        const closed = s.server.close();
        socket.write(body);
        await ended;
        await closed;
        expect(text).toMatch(/^HTTP\/1\.1 201 /);
        expect(text).toMatch(/\r\nconnection: close\r\n/i);
      });
    });

    describe('secrecy', () => {
      it('never puts a canary value in logs, audit rows, error bodies or the database in clear text', async () => {
        const c = await makeWorld(t);
        const errors: string[] = [];
        const created = await expectOk(
          c.alice('POST', '/v1/secrets', { body: { name: 'CANARY', value: CANARY } }),
        );
        const id = created.body.id;
        await expectOk(c.alice('GET', `/v1/secrets/${id}/value`));
        await expectOk(c.alice('GET', '/v1/resolve/CANARY'));
        await expectOk(
          c.alice('PATCH', `/v1/secrets/${id}`, {
            body: { value: CANARY + '2' },
            headers: { 'if-match': '"1"' },
          }),
        );
        // Requests that fail while carrying the canary.
        for (const r of [
          await c.alice('PATCH', `/v1/secrets/${id}`, {
            body: { value: CANARY },
            headers: { 'if-match': '"1"' },
          }),
          await c.alice('POST', '/v1/secrets', { raw: `{"name":"CANARY","value":"${CANARY}"` }),
          await c.alice('POST', '/v1/secrets', { body: { name: 'CANARY', value: CANARY } }),
          await c.alice('POST', '/v1/secrets', { body: { name: 'BAD NAME', value: CANARY } }),
          await c.alice('POST', '/v1/secrets', {
            body: { name: 'X', value: CANARY, extra: CANARY },
          }),
          await c.alice('POST', '/v1/secrets', {
            body: { name: 'X', value: CANARY, encoding: 'base64' },
          }),
          await c.alice('POST', '/v1/secrets', {
            body: { name: 'X', value: CANARY, type: CANARY },
          }),
          await c.bob('PATCH', `/v1/secrets/${id}`, {
            body: { value: CANARY },
            headers: { 'if-match': '"2"' },
          }),
        ]) {
          expect(r.status).toBeGreaterThanOrEqual(400);
          errors.push(r.text);
        }
        for (const text of errors) expect(text).not.toContain(CANARY);
        expect(t.logs.text).not.toContain(CANARY);
        expect(t.logs.text).toContain('"route":"/v1/secrets/:id/value"');
        const audit = AuditPage.parse((await c.alice('GET', `/v1/audit?secret=${id}`)).body);
        expect(audit.entries.map((e) => e.action)).toEqual([
          'update',
          'resolve',
          'read_value',
          'create',
        ]);
        expect(JSON.stringify(audit)).not.toContain(CANARY);
        // Every row of every table, as text.
        const tables = await t.server.store.db.query<{ tablename: string }>(
          `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`,
        );
        for (const { tablename } of tables) {
          const rows = await t.server.store.db.query(`SELECT t::text AS row FROM ${tablename} t`);
          const dump = rows.map((r) => String(r.row)).join('\n');
          expect(dump, tablename).not.toContain(CANARY);
          expect(dump, tablename).not.toContain(Buffer.from(CANARY).toString('hex'));
        }
        // And the files on disk (PGlite's data directory).
        if (!t.config.databaseUrl) {
          await t.server.store.db.query('CHECKPOINT');
          expect(filesContaining(t.config.dataDir, CANARY)).toEqual([]);
        }
      });

      it('limits the request rate per token with 429 and Retry-After', async () => {
        const app = await buildApp({
          store: t.server.store,
          maxValueBytes: 65_536,
          rateLimit: { perSecond: 1, burst: 3 },
          logStream: false,
        });
        const headers = { authorization: `Bearer ${w.tokens.eve}` };
        const statuses: number[] = [];
        let last;
        for (let i = 0; i < 5; i++) {
          last = await app.inject({ method: 'GET', url: '/v1/me', headers });
          statuses.push(last.statusCode);
        }
        expect(statuses).toEqual([200, 200, 200, 429, 429]);
        expect(last!.headers['retry-after']).toBe('1');
        expect(JSON.parse(last!.body).error.code).toBe('rate_limited');
        // Another token has its own bucket.
        const other = await app.inject({
          method: 'GET',
          url: '/v1/me',
          headers: { authorization: `Bearer ${w.tokens.bob}` },
        });
        expect(other.statusCode).toBe(200);
        // Guessing with a new token each time does not get a new bucket each time.
        const guesses: number[] = [];
        for (let i = 0; i < 5; i++) {
          const r = await app.inject({
            method: 'GET',
            url: '/v1/me',
            headers: { authorization: `Bearer guess-${i}-${'x'.repeat(30)}` },
          });
          guesses.push(r.statusCode);
        }
        expect(guesses).toEqual([401, 401, 401, 429, 429]);
        await app.close();
      });
    });
  },
);

/**
 * Sends `head` (request line and headers, no body) on a new connection; resolves with the first
 * response, read until its Content-Length, or whatever came before the server closed.
 */
function rawExchange(url: string, head: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(head));
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, end));
      if (end >= 0 && length && Buffer.byteLength(text) >= end + 4 + Number(length[1])) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

/**
 * POSTs a body of `size` bytes as a client that reads the answer only once it has sent the whole
 * request (as many do); resolves with whatever response it then can read.
 */
function postLarge(url: string, token: string, size: number, chunked: boolean): Promise<string> {
  const { hostname, port } = new URL(url);
  const head =
    `POST /v1/secrets HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer ${token}\r\n` +
    'Content-Type: application/json\r\n' +
    (chunked ? 'Transfer-Encoding: chunked\r\n\r\n' : `Content-Length: ${size}\r\n\r\n`);
  const data = Buffer.alloc(size, 'x');
  const body = chunked
    ? Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), data, Buffer.from('\r\n0\r\n\r\n')])
    : data;
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.pause();
    let text = '';
    const read = () => {
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        const end = text.indexOf('\r\n\r\n');
        const length = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, end));
        if (end >= 0 && length && Buffer.byteLength(text) >= end + 4 + Number(length[1])) {
          socket.destroy();
        }
      });
      socket.resume();
    };
    socket.on('error', () => socket.destroy());
    socket.on('close', () => resolve(text));
    socket.write(head);
    socket.write(body, (error) => {
      if (!error) read();
    });
  });
}

/** Every change after `since`, page by page. */
/** Follows the feed from `since` to its end, one change per page. */
async function feedPages(
  c: Client,
  since: string,
): Promise<{ changes: ChangesPage['changes']; next: string }> {
  const all: ChangesPage['changes'] = [];
  let next = since;
  for (;;) {
    const page = ChangesPage.parse(
      (await expectOk(c('GET', `/v1/changes?since=${next}&limit=1`))).body,
    );
    all.push(...page.changes);
    next = page.next;
    if (!page.more) return { changes: all, next };
  }
}

async function feedAll(c: Client, since: string): Promise<ChangesPage['changes']> {
  const all: ChangesPage['changes'] = [];
  let page = ChangesPage.parse((await expectOk(c('GET', `/v1/changes?since=${since}`))).body);
  all.push(...page.changes);
  while (page.more) {
    page = ChangesPage.parse((await expectOk(c('GET', `/v1/changes?since=${page.next}`))).body);
    all.push(...page.changes);
  }
  return all;
}

function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const bytes = Buffer.from(needle);
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const path = join(d, entry);
      const stat = statSync(path);
      if (stat.isDirectory()) walk(path);
      else if (stat.isFile() && readFileSync(path).includes(bytes)) hits.push(path);
    }
  };
  walk(dir);
  return hits;
}
