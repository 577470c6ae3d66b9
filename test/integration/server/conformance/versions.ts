/**
 * The server's conformance suite, run unchanged against PGlite and PostgreSQL (../conformance.int.test.ts):
 * Versions, sharing, renames and deletion.
 */
import { describe, expect, it } from 'vitest';
import { AuditPage, ChangesPage, VersionList } from '../../../../src/core/api';
import { SecretMetadata } from '../../../../src/core/model';
import { client, expectOk, sharedSecret, unique } from '../harness';
import { type Conformance } from './fixture';

export function versionsTests(ctx: Conformance): void {
  describe('versions, sharing and deletion', () => {
    it('requires If-Match on PATCH and answers a stale one with 412 and the current version', async () => {
      const { body } = await expectOk(
        ctx.w.alice('POST', '/v1/secrets', { body: { name: unique('V_'), value: 'a' } }),
      );
      const missing = await ctx.w.alice('PATCH', `/v1/secrets/${body.id}`, {
        body: { value: 'b' },
      });
      expect(missing.status).toBe(400);
      expect(missing.body.error.code).toBe('precondition_required');
      const ok = await ctx.w.alice('PATCH', `/v1/secrets/${body.id}`, {
        body: { value: 'b' },
        headers: { 'if-match': '"1"' },
      });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('etag')).toBe('"2"');
      const stale = await ctx.w.alice('PATCH', `/v1/secrets/${body.id}`, {
        body: { value: 'c' },
        headers: { 'if-match': '"1"' },
      });
      expect(stale.status).toBe(412);
      expect(stale.body.error).toMatchObject({ code: 'version_conflict', current_version: 2 });
      expect(stale.headers.get('etag')).toBe('"2"');
      expect((await ctx.w.alice('GET', `/v1/secrets/${body.id}/value`)).body.value).toBe('b');
    });

    it('takes an id typed in upper case as the same secret for reads, edits and restores', async () => {
      const { body } = await expectOk(
        ctx.w.alice('POST', '/v1/secrets', { body: { name: unique('U_'), value: 'first' } }),
      );
      const upper = String(body.id).toUpperCase();
      expect((await expectOk(ctx.w.alice('GET', `/v1/secrets/${upper}/value`))).body.value).toBe(
        'first',
      );
      await expectOk(
        ctx.w.alice('PATCH', `/v1/secrets/${upper}`, {
          body: { value: 'second' },
          headers: { 'if-match': '"1"' },
        }),
      );
      expect((await expectOk(ctx.w.alice('GET', `/v1/secrets/${body.id}/value`))).body.value).toBe(
        'second',
      );
      await expectOk(
        ctx.w.alice('POST', `/v1/secrets/${upper}/versions/1/restore`, {
          headers: { 'if-match': '"2"' },
        }),
      );
      expect((await expectOk(ctx.w.alice('GET', `/v1/secrets/${body.id}/value`))).body.value).toBe(
        'first',
      );
    });

    it('keeps the last N values, restores one as a new version, and never lists values', async () => {
      const { body } = await expectOk(
        ctx.w.alice('POST', '/v1/secrets', { body: { name: unique('R_'), value: 'v1' } }),
      );
      for (let v = 1; v < 5; v++) {
        await expectOk(
          ctx.w.alice('PATCH', `/v1/secrets/${body.id}`, {
            body: { value: `v${v + 1}` },
            headers: { 'if-match': `"${v}"` },
          }),
        );
      }
      const versions = VersionList.parse(
        (await ctx.w.alice('GET', `/v1/secrets/${body.id}/versions`)).body,
      ).versions;
      expect(versions.map((v) => [v.version, v.kind, v.restorable])).toEqual([
        [5, 'update', true],
        [4, 'update', true],
        [3, 'update', true],
        [2, 'update', false],
        [1, 'create', false],
      ]);
      const gone = await ctx.w.alice('POST', `/v1/secrets/${body.id}/versions/1/restore`);
      expect(gone.status).toBe(404);
      expect(gone.body.error.message).toMatch(/destroyed/);
      const restored = await ctx.w.alice('POST', `/v1/secrets/${body.id}/versions/3/restore`, {
        headers: { 'if-match': '"5"' },
      });
      expect(restored.status).toBe(200);
      expect(restored.body.version).toBe(6);
      expect((await ctx.w.alice('GET', `/v1/secrets/${body.id}/value`)).body).toEqual({
        value: 'v3',
        encoding: 'text',
        version: 6,
      });
      const stale = await ctx.w.alice('POST', `/v1/secrets/${body.id}/versions/4/restore`, {
        headers: { 'if-match': '"5"' },
      });
      expect(stale.status).toBe(412);
    });

    it('refuses to remove the last owner with 422, and shares with users and teams', async () => {
      const s = await sharedSecret(ctx.w, 'share');
      const noOwner = await ctx.w.alice('PUT', `/v1/secrets/${s.id}/access`, {
        body: { access: [{ principal: { kind: 'user', id: ctx.w.ids.bob }, role: 'reader' }] },
      });
      expect(noOwner.status).toBe(422);
      expect(noOwner.body.error.code).toBe('last_owner');
      // Hand ownership to bob: alice loses all access, bob can now edit.
      const handed = await ctx.w.alice('PUT', `/v1/secrets/${s.id}/access`, {
        body: { access: [{ principal: { kind: 'user', id: ctx.w.ids.bob }, role: 'owner' }] },
        headers: { 'if-match': `"${s.version}"` },
      });
      expect(handed.status).toBe(200);
      // alice is still a project member: she can read, not edit.
      expect((await ctx.w.alice('GET', `/v1/secrets/${s.id}`)).body.role).toBe('reader');
      expect((await ctx.w.carol('GET', `/v1/secrets/${s.id}`)).status).toBe(404);
      const edit = await ctx.w.bob('PATCH', `/v1/secrets/${s.id}`, {
        body: { value: 'bob was here' },
        headers: { 'if-match': `"${handed.body.version}"` },
      });
      expect(edit.status).toBe(200);
    });

    it('answers a grant to an id that does not exist as one to a user or team that does', async () => {
      // Listing users and teams is for admins: sharing must not tell an owner which ids exist.
      const { w } = ctx;
      const ghost = { user: unique('ghost-'), team: unique('ghost-team-') };
      const answers = [];
      for (const [kind, id] of [
        ['user', w.ids.eve],
        ['user', ghost.user],
        ['team', w.ids.team],
        ['team', ghost.team],
      ] as const) {
        const s = await sharedSecret(w, `probe ${id}`);
        const owner = { principal: { kind: 'user', id: w.ids.alice }, role: 'owner' };
        const reply = await w.alice('PUT', `/v1/secrets/${s.id}/access`, {
          body: { access: [owner, { principal: { kind, id }, role: 'reader' }] },
          headers: { 'if-match': `"${s.version}"` },
        });
        const id_ = new RegExp(id.replace(/[.]/g, '\\.'), 'g');
        answers.push({
          kind,
          status: reply.status,
          body: reply.text.replace(id_, 'ID').replace(/"version":\d+/, '"version":N'),
        });
      }
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
      expect(answers[1]!.body).toBe(answers[0]!.body);
      expect(answers[3]!.body).toBe(answers[2]!.body);
      // Malformed ids are still refused for their form, which says nothing about existence.
      const s = await sharedSecret(w, 'malformed');
      const malformed = await w.alice('PUT', `/v1/secrets/${s.id}/access`, {
        body: { access: [{ principal: { kind: 'user', id: 'Not An Id' }, role: 'owner' }] },
      });
      expect(malformed.status).toBe(400);
      // A grant to an id nobody had never applies: a user or team created later with that id
      // does not inherit it (a misspelt id must not become a share with a future colleague).
      const later = await sharedSecret(w, 'for a user created later');
      await expectOk(
        w.alice('PUT', `/v1/secrets/${later.id}/access`, {
          body: {
            access: [
              { principal: { kind: 'user', id: w.ids.alice }, role: 'owner' },
              { principal: { kind: 'user', id: ghost.user }, role: 'reader' },
              { principal: { kind: 'team', id: ghost.team }, role: 'reader' },
            ],
          },
        }),
      );
      await expectOk(w.admin('POST', '/v1/users', { body: { id: ghost.user } }));
      await expectOk(w.admin('POST', '/v1/teams', { body: { id: ghost.team } }));
      const token = (await expectOk(w.admin('POST', '/v1/tokens', { body: { user: ghost.user } })))
        .body.token as string;
      const read = await client(ctx.t.url, token)('GET', `/v1/secrets/${later.id}/value`);
      expect(read.status).toBe(404);
      const access = await expectOk(w.alice('GET', `/v1/secrets/${later.id}/access`));
      expect(JSON.stringify(access.body)).not.toContain(ghost.user);
      expect(JSON.stringify(access.body)).not.toContain(ghost.team);
    });

    it('renames with PATCH name: same id, versions, values and grants; 409 when the name is taken', async () => {
      const s = await sharedSecret(ctx.w, 'before rename');
      const other = await expectOk(
        ctx.w.alice('POST', '/v1/secrets', {
          body: {
            name: unique('TAKEN_'),
            value: 'x',
            scope: { kind: 'project', id: ctx.w.ids.project },
          },
        }),
      );
      let cursor = ChangesPage.parse((await ctx.w.bob('GET', '/v1/changes?limit=1000')).body).next;
      while (true) {
        const page = ChangesPage.parse(
          (await ctx.w.bob('GET', `/v1/changes?since=${cursor}&limit=1000`)).body,
        );
        cursor = page.next;
        if (!page.more) break;
      }
      const newName = unique('RENAMED_');
      const noIfMatch = await ctx.w.alice('PATCH', `/v1/secrets/${s.id}`, {
        body: { name: newName },
      });
      expect(noIfMatch.status).toBe(400);
      expect(noIfMatch.body.error.code).toBe('precondition_required');
      const taken = await ctx.w.alice('PATCH', `/v1/secrets/${s.id}`, {
        body: { name: other.body.name },
        headers: { 'if-match': `"${s.version}"` },
      });
      expect(taken.status).toBe(409);
      expect(taken.body.error).toMatchObject({ code: 'name_taken', field: 'name' });
      const bad = await ctx.w.alice('PATCH', `/v1/secrets/${s.id}`, {
        body: { name: '1-not a name' },
        headers: { 'if-match': `"${s.version}"` },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ code: 'invalid_name', field: 'name' });
      const byReader = await ctx.w.bob('PATCH', `/v1/secrets/${s.id}`, {
        body: { name: newName },
        headers: { 'if-match': `"${s.version}"` },
      });
      expect(byReader.status).toBe(403);
      // Nothing of the refused attempts stuck.
      expect((await ctx.w.alice('GET', `/v1/secrets/${s.id}`)).body).toMatchObject({
        name: s.name,
        version: s.version,
      });
      const renamed = await ctx.w.alice('PATCH', `/v1/secrets/${s.id}`, {
        body: { name: newName },
        headers: { 'if-match': `"${s.version}"` },
      });
      expect(renamed.status).toBe(200);
      const meta = SecretMetadata.parse(renamed.body);
      expect(meta).toMatchObject({
        id: s.id,
        name: newName,
        version: s.version + 1,
        scope: { kind: 'project', id: ctx.w.ids.project },
      });
      expect(meta.access).toHaveLength(3);
      expect((await ctx.w.bob('GET', `/v1/secrets/${s.id}/value`)).body.value).toBe(
        'before rename',
      );
      const versions = VersionList.parse(
        (await ctx.w.alice('GET', `/v1/secrets/${s.id}/versions`)).body,
      ).versions;
      expect(versions.map((v) => v.version)).toEqual([s.version + 1, 2, 1]);
      // The old name is free, the new one resolves.
      expect(
        (await ctx.w.bob('GET', `/v1/resolve/${newName}?project=${ctx.w.ids.project}`)).body.id,
      ).toBe(s.id);
      expect(
        (await ctx.w.bob('GET', `/v1/resolve/${s.name}?project=${ctx.w.ids.project}`)).status,
      ).toBe(404);
      const audit = AuditPage.parse((await ctx.w.admin('GET', `/v1/audit?secret=${s.id}`)).body);
      expect(audit.entries).toContainEqual(
        expect.objectContaining({
          action: 'update',
          secret_name: newName,
          version: s.version + 1,
        }),
      );
      const changes = ChangesPage.parse(
        (await ctx.w.bob('GET', `/v1/changes?since=${cursor}`)).body,
      ).changes;
      expect(changes).toContainEqual(
        expect.objectContaining({
          kind: 'upsert',
          secret: expect.objectContaining({ id: s.id, name: newName }),
        }),
      );
    });

    it('DELETE destroys the values, frees the name, keeps the audit rows, and leaves a tombstone', async () => {
      const s = await sharedSecret(ctx.w, 'to delete');
      const before = ChangesPage.parse((await ctx.w.carol('GET', '/v1/changes?limit=1000')).body);
      let cursor = before.next;
      while (true) {
        const page = ChangesPage.parse(
          (await ctx.w.carol('GET', `/v1/changes?since=${cursor}&limit=1000`)).body,
        );
        cursor = page.next;
        if (!page.more) break;
      }
      const stale = await ctx.w.alice('DELETE', `/v1/secrets/${s.id}`, {
        headers: { 'if-match': '"1"' },
      });
      expect(stale.status).toBe(412);
      expect(
        (
          await ctx.w.alice('DELETE', `/v1/secrets/${s.id}`, {
            headers: { 'if-match': `"${s.version}"` },
          })
        ).status,
      ).toBe(204);
      expect((await ctx.w.alice('GET', `/v1/secrets/${s.id}`)).status).toBe(404);
      expect((await ctx.w.alice('DELETE', `/v1/secrets/${s.id}`)).status).toBe(404);
      const rows = await ctx.t.server.store.db.query(
        'SELECT count(*)::int AS n FROM secret_versions WHERE secret_id = $1',
        [s.id],
      );
      expect(rows[0]!.n).toBe(0);
      const again = await ctx.w.alice('POST', '/v1/secrets', {
        body: { name: s.name, value: 'again', scope: { kind: 'project', id: ctx.w.ids.project } },
      });
      expect(again.status).toBe(201);
      const audit = AuditPage.parse((await ctx.w.admin('GET', `/v1/audit?secret=${s.id}`)).body);
      expect(audit.entries.map((e) => e.action)).toEqual(['delete', 'share', 'create']);
      const changes = ChangesPage.parse(
        (await ctx.w.carol('GET', `/v1/changes?since=${cursor}`)).body,
      );
      expect(changes.reset).toBe(false);
      expect(changes.changes).toContainEqual({ kind: 'tombstone', id: s.id, reason: 'deleted' });
      // A stranger learns nothing about it.
      const eve = ChangesPage.parse((await ctx.w.eve('GET', `/v1/changes?since=${cursor}`)).body);
      expect(JSON.stringify(eve)).not.toContain(s.id);
    });
  });
}
