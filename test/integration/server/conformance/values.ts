/**
 * The server's conformance suite, run unchanged against PGlite and PostgreSQL (../conformance.int.test.ts):
 * Many values in one request (POST /v1/values): who gets what, audit, bad bodies.
 */
import { describe, expect, it } from 'vitest';
import { ApiErrorBody, AuditPage, ValueList } from '../../../../src/core/api';
import { expectOk, sharedSecret, unique } from '../harness';
import { CANARY, type Conformance } from './fixture';

export function valuesTests(ctx: Conformance): void {
  describe('values in one request (POST /v1/values)', () => {
    it('gives owner, reader, team and project members the values; strangers get missing', async () => {
      const a = await sharedSecret(ctx.w, 'batch-a');
      const b = await sharedSecret(ctx.w, 'batch-b');
      const gone = await sharedSecret(ctx.w, 'batch-gone');
      await expectOk(ctx.w.alice('DELETE', `/v1/secrets/${gone.id}`));
      const nowhere = '00000000-0000-4000-8000-000000000000';
      const ids = [b.id, 'not-a-uuid', a.id, gone.id, nowhere];
      for (const c of [ctx.w.alice, ctx.w.bob, ctx.w.carol, ctx.w.dave]) {
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
      for (const c of [ctx.w.eve, ctx.w.admin]) {
        const r = await expectOk(c('POST', '/v1/values', { body: { ids } }));
        expect(r.body).toEqual({ values: [], missing: ids });
      }
      // Upper-case ids are the same secrets, answered under the id as asked.
      const upper = a.id.toUpperCase();
      const r = await expectOk(ctx.w.bob('POST', '/v1/values', { body: { ids: [upper] } }));
      expect(r.body).toEqual({
        values: [{ id: upper, value: 'batch-a', encoding: 'text', version: a.version }],
        missing: [],
      });
      const bin = await expectOk(
        ctx.w.alice('POST', '/v1/secrets', {
          body: { name: unique('BIN_'), value: 'AAEC/w==', encoding: 'base64', type: 'file' },
        }),
      );
      const got = await expectOk(
        ctx.w.alice('POST', '/v1/values', { body: { ids: [bin.body.id] } }),
      );
      expect(got.body.values).toEqual([
        { id: bin.body.id, value: 'AAEC/w==', encoding: 'base64', version: 1 },
      ]);
    });

    it('audits each value read as read_value, one row per secret, and nothing for missing ones', async () => {
      const a = await sharedSecret(ctx.w, 'audit-a');
      const b = await sharedSecret(ctx.w, 'audit-b');
      await expectOk(ctx.w.bob('POST', '/v1/values', { body: { ids: [a.id, b.id] } }));
      await expectOk(ctx.w.eve('POST', '/v1/values', { body: { ids: [a.id, b.id] } }));
      for (const s of [a, b]) {
        const audit = AuditPage.parse((await ctx.w.alice('GET', `/v1/audit?secret=${s.id}`)).body);
        const reads = audit.entries.filter((e) => e.action === 'read_value');
        expect(reads).toHaveLength(1);
        expect(reads[0]).toMatchObject({
          actor: ctx.w.ids.bob,
          secret_id: s.id,
          secret_name: s.name,
          version: s.version,
        });
        expect(audit.entries.map((e) => e.actor)).not.toContain(ctx.w.ids.eve);
      }
      // The same action the single read writes.
      await expectOk(ctx.w.bob('GET', `/v1/secrets/${a.id}/value`));
      const audit = AuditPage.parse((await ctx.w.alice('GET', `/v1/audit?secret=${a.id}`)).body);
      expect(audit.entries.filter((e) => e.action === 'read_value')).toHaveLength(2);
    });

    it('needs a token, and refuses bad bodies with 400 that never echo them', async () => {
      const s = await sharedSecret(ctx.w, CANARY);
      const none = await ctx.w.anonymous('POST', '/v1/values', { body: { ids: [s.id] } });
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
        const r = await ctx.w.alice('POST', '/v1/values', { body });
        expect(r.status, what).toBe(400);
        expect(ApiErrorBody.parse(r.body).error.code, what).toBe('invalid_input');
        expect(r.body.error.message, what).toMatch(message);
        expect(r.text, what).not.toContain(CANARY);
      }
      const raw = await ctx.w.alice('POST', '/v1/values', { raw: `{"ids": ["${CANARY}"` });
      expect(raw.status).toBe(400);
      expect(raw.text).not.toContain(CANARY);
      // The value itself travels only in the 200 answer, never in a log line.
      const ok = await expectOk(ctx.w.bob('POST', '/v1/values', { body: { ids: [s.id] } }));
      expect(ok.text).toContain(CANARY);
      expect(ctx.t.logs.text).toContain('"route":"/v1/values"');
      expect(ctx.t.logs.text).not.toContain(CANARY);
    });
  });
}
