/**
 * The server's conformance suite, run unchanged against PGlite and PostgreSQL (../conformance.int.test.ts):
 * The change feed: cursors, pages, and what each user is told of.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChangesPage, SecretList } from '../../../../src/core/api';
import type { SecretMetadata } from '../../../../src/core/model';
import { expectOk, makeWorld, unique } from '../harness';
import { feedAll, type Conformance } from './fixture';

export function feedTests(ctx: Conformance): void {
  describe('change feed', () => {
    it('reads incrementally with a cursor, pages, and reports lost access as a tombstone', async () => {
      const c = await makeWorld(ctx.t);
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
      const gained = ChangesPage.parse((await c.bob('GET', `/v1/changes?since=${bobStart}`)).body);
      expect(gained.changes).toEqual([expect.objectContaining({ kind: 'upsert' })]);
      await expectOk(
        c.alice('PUT', `/v1/secrets/${ids[0]}/access`, {
          body: { access: [{ principal: { kind: 'user', id: c.ids.alice }, role: 'owner' }] },
        }),
      );
      const lost = ChangesPage.parse((await c.bob('GET', `/v1/changes?since=${gained.next}`)).body);
      expect(lost.changes).toEqual([{ kind: 'tombstone', id: ids[0], reason: 'access_lost' }]);
    });

    it('writes each secret of a page as JSON.stringify does, and as every other read has it', async () => {
      const c = await makeWorld(ctx.t);
      const descriptions = [
        'plain',
        'quote " backslash \\ slash /',
        'new\nline\ttab\r\u0001\u001f',
        'ünïcödé 🔑 \u2028 </script>',
      ];
      const made: SecretMetadata[] = [];
      for (const [i, description] of descriptions.entries()) {
        const scope = i % 2 === 1 ? { scope: { kind: 'project', id: c.ids.project } } : {};
        const body = { name: `JSON_${i}`, value: 'v', description, ...scope };
        made.push((await expectOk(c.alice('POST', '/v1/secrets', { body }))).body);
      }
      // An access list of three, which pages write in the order of the principals.
      const access = [
        { principal: { kind: 'team', id: c.ids.team }, role: 'reader' },
        { principal: { kind: 'user', id: c.ids.alice }, role: 'owner' },
        { principal: { kind: 'user', id: c.ids.bob }, role: 'reader' },
      ];
      const body = { access: [access[2], access[1], access[0]] };
      await expectOk(c.alice('PUT', `/v1/secrets/${made[0]!.id}/access`, { body }));
      const upserts = (page: ChangesPage) =>
        new Map(
          page.changes.flatMap((x) => (x.kind === 'upsert' ? [[x.secret.id, x.secret]] : [])),
        );

      const listing = await c.alice('GET', '/v1/changes');
      expect(listing.text).toBe(JSON.stringify(listing.body));
      const listed = upserts(ChangesPage.parse(listing.body));
      // As the create answered (written without the database), and as read one by one.
      for (const m of made.slice(1)) expect(listed.get(m.id)).toEqual(m);
      expect(listed.get(made[0]!.id)).toMatchObject({ access, version: 2 });
      for (const m of made) {
        const one = await expectOk(c.alice('GET', `/v1/secrets/${m.id}`));
        expect(listed.get(m.id)).toEqual(one.body);
      }
      // The feed from its start, and a tombstone.
      const start = `${String(listing.body.next).split('.')[0]}.0`;
      const fed = await c.alice('GET', `/v1/changes?since=${start}`);
      expect(fed.text).toBe(JSON.stringify(fed.body));
      expect(upserts(ChangesPage.parse(fed.body))).toEqual(listed);
      await expectOk(
        c.alice('DELETE', `/v1/secrets/${made[3]!.id}`, { headers: { 'if-match': '"1"' } }),
      );
      const gone = await c.alice('GET', `/v1/changes?since=${listing.body.next}`);
      expect(gone.text).toBe(
        JSON.stringify({
          changes: [{ kind: 'tombstone', id: made[3]!.id, reason: 'deleted' }],
          next: gone.body.next,
          more: false,
          reset: false,
        }),
      );
    });

    it('reads a full listing in parts side by side, each secret once, then the feed', async () => {
      const c = await makeWorld(ctx.t);
      const made: string[] = [];
      // 40: the first page of 2 then reaches a few hundredths into the ids, and the server,
      // which splits no more than the pages it expects, splits into the 3 asked for.
      for (let i = 0; i < 40; i++) {
        const scope = i % 3 === 0 ? { scope: { kind: 'project', id: c.ids.project } } : {};
        const body = { name: `PART_${i}`, value: 'v', ...scope };
        made.push((await expectOk(c.alice('POST', '/v1/secrets', { body }))).body.id);
      }
      // A listing that fits its first page is not split.
      const whole = ChangesPage.parse((await c.alice('GET', '/v1/changes?parts=3')).body);
      expect(whole).toMatchObject({ reset: true, more: false });
      expect(whole.parts).toBeUndefined();
      expect(whole.changes).toHaveLength(40);

      const first = ChangesPage.parse((await c.alice('GET', '/v1/changes?limit=2&parts=3')).body);
      expect(first).toMatchObject({ reset: true, more: true });
      expect(first.parts).toHaveLength(2);
      // Written while the parts are read: it comes from the feed once they are all through.
      const during = await expectOk(
        c.alice('POST', '/v1/secrets', { body: { name: 'DURING', value: 'v' } }),
      );
      const listed = first.changes.map((x) => (x.kind === 'upsert' ? x.secret.id : x.id));
      const ends: string[] = [];
      for (const start of [first.next, ...first.parts!]) {
        let page = ChangesPage.parse(
          (await c.alice('GET', `/v1/changes?since=${start}&limit=2`)).body,
        );
        for (;;) {
          expect(page.reset).toBe(false);
          listed.push(...page.changes.map((x) => (x.kind === 'upsert' ? x.secret.id : x.id)));
          if (!page.more) break;
          page = ChangesPage.parse(
            (await c.alice('GET', `/v1/changes?since=${page.next}&limit=2`)).body,
          );
        }
        ends.push(page.next);
      }
      expect(new Set(ends).size).toBe(1);
      // Each secret once; the one written meanwhile may already be in its range or not.
      const once = listed.filter((id) => id !== during.body.id);
      expect(once.sort()).toEqual([...made].sort());
      expect(listed.length - once.length).toBeLessThanOrEqual(1);
      const fed = await feedAll(c.alice, ends[0]!);
      expect(fed.map((x) => (x.kind === 'upsert' ? x.secret.id : x.id))).toEqual([during.body.id]);
    });

    it('lists every secret you see, by id, and brings what changed while the listing was read', async () => {
      const c = await makeWorld(ctx.t);
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
      const c = await makeWorld(ctx.t);
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
      const left = ChangesPage.parse((await c.eve('GET', `/v1/changes?since=${joined.next}`)).body);
      expect(left.changes).toEqual([
        { kind: 'tombstone', id: team.body.id, reason: 'access_lost' },
      ]);
    });

    it('never shows a new team member tombstones of secrets they never could see', async () => {
      const c = await makeWorld(ctx.t);
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
          const c = await makeWorld(ctx.t);
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
        (await ctx.w.alice('GET', `/v1/changes?since=${'0'.repeat(32)}.5`)).body,
      );
      expect(r.reset).toBe(true);
      const bad = ChangesPage.parse((await ctx.w.alice('GET', '/v1/changes?since=garbage')).body);
      expect(bad.reset).toBe(true);
      expect((await ctx.w.alice('GET', '/v1/changes?limit=0')).status).toBe(400);
      for (const parts of ['0', '17', 'two']) {
        expect((await ctx.w.alice('GET', `/v1/changes?parts=${parts}`)).status).toBe(400);
      }
    });
  });
}
