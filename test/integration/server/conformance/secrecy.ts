/**
 * The server's conformance suite, run unchanged against PGlite and PostgreSQL (../conformance.int.test.ts):
 * Secrecy: a canary value in no log, audit row, error body or database file; rate limits.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditPage } from '../../../../src/core/api';
import { buildApp } from '../../../../src/server/app';
import { expectOk, makeWorld } from '../harness';
import { CANARY, type Conformance } from './fixture';

export function secrecyTests(ctx: Conformance): void {
  describe('secrecy', () => {
    it('never puts a canary value in logs, audit rows, error bodies or the database in clear text', async () => {
      const c = await makeWorld(ctx.t);
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
      expect(ctx.t.logs.text).not.toContain(CANARY);
      expect(ctx.t.logs.text).toContain('"route":"/v1/secrets/:id/value"');
      const audit = AuditPage.parse((await c.alice('GET', `/v1/audit?secret=${id}`)).body);
      expect(audit.entries.map((e) => e.action)).toEqual([
        'update',
        'resolve',
        'read_value',
        'create',
      ]);
      expect(JSON.stringify(audit)).not.toContain(CANARY);
      // Every row of every table, as text.
      const tables = await ctx.t.server.store.db.query<{ tablename: string }>(
        `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`,
      );
      for (const { tablename } of tables) {
        const rows = await ctx.t.server.store.db.query(`SELECT t::text AS row FROM ${tablename} t`);
        const dump = rows.map((r) => String(r.row)).join('\n');
        expect(dump, tablename).not.toContain(CANARY);
        expect(dump, tablename).not.toContain(Buffer.from(CANARY).toString('hex'));
      }
      // And the files on disk (PGlite's data directory).
      if (!ctx.t.config.databaseUrl) {
        await ctx.t.server.store.db.query('CHECKPOINT');
        expect(filesContaining(ctx.t.config.dataDir, CANARY)).toEqual([]);
      }
    });

    it('limits the request rate per token with 429 and Retry-After', async () => {
      const app = await buildApp({
        store: ctx.t.server.store,
        maxValueBytes: 65_536,
        rateLimit: { perSecond: 1, burst: 3 },
        logStream: false,
      });
      const headers = { authorization: `Bearer ${ctx.w.tokens.eve}` };
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
        headers: { authorization: `Bearer ${ctx.w.tokens.bob}` },
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
