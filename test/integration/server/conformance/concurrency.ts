/**
 * The server's conformance suite, run unchanged against PGlite and PostgreSQL (../conformance.int.test.ts):
 * Concurrent writers and readers: one winner, nothing skipped.
 */
import { describe, expect, it } from 'vitest';
import { ChangesPage, SecretList, VersionList } from '../../../../src/core/api';
import { recordChanges } from '../../../../src/server/store/feed';
import { expectOk, makeWorld, unique } from '../harness';
import { feedAll, feedPages, type Conformance } from './fixture';

export function concurrencyTests(ctx: Conformance): void {
  describe('concurrency', () => {
    it('lets exactly one of many PATCHes with the same If-Match win; the rest get 412', async () => {
      const { body } = await expectOk(
        ctx.w.alice('POST', '/v1/secrets', { body: { name: unique('RACE_'), value: 'start' } }),
      );
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          ctx.w.alice('PATCH', `/v1/secrets/${body.id}`, {
            body: { value: `writer-${i}` },
            headers: { 'if-match': '"1"' },
          }),
        ),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 412)).toHaveLength(11);
      const winner = results.findIndex((r) => r.status === 200);
      const value = await ctx.w.alice('GET', `/v1/secrets/${body.id}/value`);
      expect(value.body).toEqual({ value: `writer-${winner}`, encoding: 'text', version: 2 });
      const versions = VersionList.parse(
        (await ctx.w.alice('GET', `/v1/secrets/${body.id}/versions`)).body,
      ).versions;
      expect(versions.map((v) => v.version)).toEqual([2, 1]);
    });

    it('gives one 201 and 409 to the rest when many create the same name at once', async () => {
      const name = unique('SAME_');
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          ctx.w.alice('POST', '/v1/secrets', { body: { name, value: `v${i}` } }),
        ),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(11);
      expect(results.find((r) => r.status === 409)!.body.error.code).toBe('name_taken');
      const list = SecretList.parse((await ctx.w.alice('GET', `/v1/secrets?q=${name}`)).body);
      expect(list.secrets).toHaveLength(1);
    });

    it('lists each of many concurrent changes once in the change feed', async () => {
      const c = await makeWorld(ctx.t);
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
    it.runIf(ctx.backendName === 'PostgreSQL')(
      'never skips a change numbered first but committed last, and lets other writers commit meanwhile',
      async () => {
        const c = await makeWorld(ctx.t);
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
        const holder = ctx.t.server.store.db.transaction(async (tx) => {
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
              const [row] = await ctx.t.server.store.db.query<{ n: number }>(
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
}
