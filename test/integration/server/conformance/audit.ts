/**
 * The server's conformance suite, run unchanged against PGlite and PostgreSQL (../conformance.int.test.ts):
 * Tokens in the audit log.
 */
import { describe, expect, it } from 'vitest';
import { AuditPage } from '../../../../src/core/api';
import { expectOk, makeWorld, unique } from '../harness';
import { type Conformance } from './fixture';

export function auditTests(ctx: Conformance): void {
  describe('tokens in the audit log', () => {
    it('audits creating and revoking a token (who, for whom), shown to that user too', async () => {
      const c = await makeWorld(ctx.t);
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
      expect(events(AuditPage.parse((await expectOk(c.eve('GET', '/v1/audit'))).body))).toEqual([]);
    });

    it('marks what is done with a token an admin created for someone else', async () => {
      const c = await makeWorld(ctx.t);
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
}
