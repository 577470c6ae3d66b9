/**
 * The server's conformance suite, run unchanged against PGlite and PostgreSQL (../conformance.int.test.ts):
 * Health, identity, creating and reading secrets, and resolving by precedence.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { Me, SecretList, SecretValueBody } from '../../../../src/core/api';
import { SecretMetadata } from '../../../../src/core/model';
import { client, expectOk, unique, type Reply } from '../harness';
import { type Conformance } from './fixture';

export function basicsTests(ctx: Conformance): void {
  describe('basics', () => {
    it('answers health without a token', async () => {
      const r = await client(ctx.t.url, undefined)('GET', '/v1/health');
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ ok: true, version: expect.any(String) });
    });

    it('tells the caller who they are, with teams and projects', async () => {
      const carol = Me.parse((await expectOk(ctx.w.carol('GET', '/v1/me'))).body);
      expect(carol.user.id).toBe(ctx.w.ids.carol);
      expect(carol.teams.map((x) => x.id)).toEqual([ctx.w.ids.team]);
      const dave = Me.parse((await expectOk(ctx.w.dave('GET', '/v1/me'))).body);
      expect(dave.projects.map((x) => x.id)).toEqual([ctx.w.ids.project]);
    });

    it('creates, reads metadata and value with ETags, and lists without values', async () => {
      const name = unique('API_KEY_');
      const created = await ctx.w.alice('POST', '/v1/secrets', {
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
      const got = await ctx.w.alice('GET', `/v1/secrets/${meta.id}`);
      expect(got.status).toBe(200);
      expect(got.headers.get('etag')).toBe('"1"');
      const value = SecretValueBody.parse(
        (await ctx.w.alice('GET', `/v1/secrets/${meta.id}/value`)).body,
      );
      expect(value).toEqual({ value: 'v1', encoding: 'text', version: 1 });
      const list = SecretList.parse(
        (await ctx.w.alice('GET', '/v1/secrets?type=token&q=FOR THE')).body,
      );
      expect(list.secrets.map((s) => s.id)).toContain(meta.id);
      expect(JSON.stringify(list)).not.toContain('"value"');
      const none = SecretList.parse((await ctx.w.alice('GET', '/v1/secrets?type=password')).body);
      expect(none.secrets.map((s) => s.id)).not.toContain(meta.id);
    });

    it('stores base64 file values and refuses invalid base64', async () => {
      const ok = await ctx.w.alice('POST', '/v1/secrets', {
        body: { name: unique('FILE_'), value: 'AAEC/w==', encoding: 'base64', type: 'file' },
      });
      expect(ok.status).toBe(201);
      const bad = await ctx.w.alice('POST', '/v1/secrets', {
        body: { name: unique('FILE_'), value: 'not base64!', encoding: 'base64' },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toMatch(/base64/);
    });

    it('resolves by precedence: personal > project > team, and honours ?project= and ?scope=', async () => {
      // carol is in the team; add her to the project too, for this test only via a new project.
      const name = unique('DB_URL_');
      const project = unique('p-');
      await expectOk(ctx.w.admin('POST', '/v1/projects', { body: { id: project } }));
      await expectOk(
        ctx.w.admin('POST', `/v1/projects/${project}/members`, {
          body: { principal: { kind: 'team', id: ctx.w.ids.team } },
        }),
      );
      const meC = Me.parse((await ctx.w.carol('GET', '/v1/me')).body);
      expect(meC.projects.map((p) => p.id)).toContain(project);
      await expectOk(
        ctx.w.carol('POST', '/v1/secrets', {
          body: { name, value: 'team', scope: { kind: 'team', id: ctx.w.ids.team } },
        }),
      );
      let r = await ctx.w.carol('GET', `/v1/resolve/${name}`);
      expect(r.body).toMatchObject({ value: 'team', scope: { kind: 'team', id: ctx.w.ids.team } });
      await expectOk(
        ctx.w.carol('POST', '/v1/secrets', {
          body: { name, value: 'project', scope: { kind: 'project', id: project } },
        }),
      );
      r = await ctx.w.carol('GET', `/v1/resolve/${name}?project=${project}`);
      expect(r.body.value).toBe('project');
      r = await ctx.w.carol('GET', `/v1/resolve/${name}?project=other`);
      expect(r.body.value).toBe('team');
      await expectOk(ctx.w.carol('POST', '/v1/secrets', { body: { name, value: 'personal' } }));
      r = await ctx.w.carol('GET', `/v1/resolve/${name}?project=${project}`);
      expect(r.body.value).toBe('personal');
      r = await ctx.w.carol('GET', `/v1/resolve/${name}?scope=team`);
      expect(r.body.value).toBe('team');
      r = await ctx.w.carol('GET', `/v1/resolve/${name}?scope=project:${project}`);
      expect(r.body.value).toBe('project');
      r = await ctx.w.carol('GET', `/v1/resolve/NO_SUCH_${name}`);
      expect(r.status).toBe(404);
    });

    it('resolves a secret shared with you under its name, after a rename and after a share', async () => {
      const name = unique('SHARED_');
      const renamed = unique('RENAMED_');
      const created = await expectOk(
        ctx.w.alice('POST', '/v1/secrets', { body: { name, value: 'alices' } }),
      );
      const id = created.body.id as string;
      const owner = { principal: { kind: 'user', id: ctx.w.ids.alice }, role: 'owner' };
      const reader = { principal: { kind: 'user', id: ctx.w.ids.bob }, role: 'reader' };
      expect((await ctx.w.bob('GET', `/v1/resolve/${name}`)).status).toBe(404);
      await expectOk(
        ctx.w.alice('PUT', `/v1/secrets/${id}/access`, { body: { access: [owner, reader] } }),
      );
      expect((await ctx.w.bob('GET', `/v1/resolve/${name}`)).body).toMatchObject({
        value: 'alices',
      });
      await expectOk(
        ctx.w.alice('PATCH', `/v1/secrets/${id}`, {
          body: { name: renamed },
          headers: { 'if-match': '"2"' },
        }),
      );
      expect((await ctx.w.bob('GET', `/v1/resolve/${name}`)).status).toBe(404);
      expect((await ctx.w.bob('GET', `/v1/resolve/${renamed}`)).body).toMatchObject({
        id,
        value: 'alices',
      });
      // Others' secrets of the same name are not yours to resolve.
      await expectOk(
        ctx.w.carol('POST', '/v1/secrets', { body: { name: renamed, value: 'carols' } }),
      );
      expect((await ctx.w.bob('GET', `/v1/resolve/${renamed}`)).body.value).toBe('alices');
      expect((await ctx.w.dave('GET', `/v1/resolve/${renamed}`)).status).toBe(404);
    });

    it('answers many concurrent resolves each as it would alone, and audits each once', async () => {
      const name = unique('MANY_');
      const teamName = unique('MANY_TEAM_');
      const projectName = unique('MANY_PROJECT_');
      for (const who of [ctx.w.alice, ctx.w.bob]) {
        await expectOk(who('POST', '/v1/secrets', { body: { name, value: unique('v-') } }));
      }
      const scope = (kind: string, id: string) => ({ scope: { kind, id } });
      await expectOk(
        ctx.w.carol('POST', '/v1/secrets', {
          body: { name: teamName, value: unique('t-'), ...scope('team', ctx.w.ids.team) },
        }),
      );
      await expectOk(
        ctx.w.alice('POST', '/v1/secrets', {
          body: { name: projectName, value: unique('p-'), ...scope('project', ctx.w.ids.project) },
        }),
      );
      const tokenFor = async (user: string) =>
        (await expectOk(ctx.w.admin('POST', '/v1/tokens', { body: { user } }))).body;
      const revoked = await tokenFor(ctx.w.ids.bob);
      const expired = await tokenFor(ctx.w.ids.carol);
      await ctx.t.server.store.db.query(
        `UPDATE tokens SET expires_at = now() - interval '1 second' WHERE id = $1`,
        [expired.id],
      );
      const asks: [string | undefined, string][] = [
        [ctx.w.tokens.alice, `/v1/resolve/${name}`],
        [ctx.w.tokens.bob, `/v1/resolve/${name}`],
        [ctx.w.tokens.alice, `/v1/resolve/${name}?scope=personal`],
        [ctx.w.tokens.carol, `/v1/resolve/${teamName}`],
        [ctx.w.tokens.carol, `/v1/resolve/${teamName}?scope=team:${ctx.w.ids.team}`],
        [ctx.w.tokens.dave, `/v1/resolve/${projectName}?project=${ctx.w.ids.project}`],
        [ctx.w.tokens.alice, `/v1/resolve/${projectName}?scope=project`],
        [ctx.w.tokens.eve, `/v1/resolve/${name}`],
        [ctx.w.tokens.alice, `/v1/resolve/NO_SUCH_${name}`],
        [ctx.w.tokens.carol, `/v1/resolve/${teamName}?scope=personal`],
        [ctx.w.tokens.alice, `/v1/resolve/${name}?project=a%00b`],
        [revoked.token, `/v1/resolve/${name}`],
        [expired.token, `/v1/resolve/${name}`],
        ['ns_unknown' + unique(''), `/v1/resolve/${name}`],
        [undefined, `/v1/resolve/${name}`],
      ];
      // Each request alone, one after another, before the revocation.
      const ask = ([token, path]: [string | undefined, string], agent: string) =>
        client(ctx.t.url, token)('GET', path, { headers: { 'user-agent': agent } });
      const alone: Reply[] = [];
      for (const one of asks) alone.push(await ask(one, 'alone'));
      expect(alone[11]!.status).toBe(200);
      await expectOk(ctx.w.admin('DELETE', `/v1/tokens/${revoked.id}`));
      alone[11] = await ask(asks[11]!, 'alone');
      expect(alone.map((r) => r.status)).toEqual([
        200, 200, 200, 200, 200, 200, 200, 404, 404, 404, 400, 401, 401, 401, 401,
      ]);

      // The same requests, each four times, all at once; on PostgreSQL with the audit table
      // locked until all but the first few wait for a group, so the groups surely form.
      const all = [0, 1, 2, 3].flatMap((round) =>
        asks.map((one, i) => ({ one, i, agent: `many-${round}-${i}-${unique('')}` })),
      );
      const postgres = ctx.t.server.backend === 'postgres';
      const lock = postgres
        ? new pg.Client({ connectionString: ctx.t.config.databaseUrl })
        : undefined;
      await lock?.connect();
      await lock?.query('BEGIN; LOCK TABLE audit IN EXCLUSIVE MODE');
      const before = ctx.t.server.store.resolveGroupStats();
      const replies = Promise.all(all.map(({ one, agent }) => ask(one, agent)));
      if (lock) {
        // A few run (and wait for the lock); the others that reach the store wait for a group.
        try {
          while (ctx.t.server.store.resolveGroupStats().waiting < 20) {
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
        const after = ctx.t.server.store.resolveGroupStats();
        expect(after.groups).toBeGreaterThan(before.groups);
        expect(after.grouped - before.grouped).toBeGreaterThanOrEqual(20);
      }

      // One audit row per served request, naming its caller, secret and client; none for the rest.
      const rows = await ctx.t.server.store.db.query<{
        actor: string;
        secret_id: string;
        client: string;
      }>(
        `SELECT actor, secret_id, client FROM audit WHERE action = 'resolve' AND client LIKE 'many-%'`,
      );
      const expected = all
        .filter(({ i }) => alone[i]!.status === 200)
        .map(({ one, i, agent }) => ({
          actor: Object.entries(ctx.w.tokens).find(([, tok]) => tok === one[0])![0],
          secret_id: alone[i]!.body.id,
          client: agent,
        }));
      const actorName = (id: string) =>
        Object.entries(ctx.w.ids).find(([, value]) => value === id)![0];
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
}
