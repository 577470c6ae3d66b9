/**
 * The fixture of the server's conformance suite: each file runs its tests once per backend
 * (PGlite in a temp directory, and a throwaway PostgreSQL cluster), on one in-process server
 * (port 0) with a world of five users; tests make their own users and names besides.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { ChangesPage } from '../../../../src/core/api';
import {
  BACKENDS,
  expectOk,
  makeWorld,
  startTestServer,
  unique,
  type Backend,
  type Client,
  type TestServer,
  type World,
} from '../harness';

/** A value made unique for the run, which must show nowhere but where the user asked. */
export const CANARY = `canary-${unique('')}-value`;

/** What the tests of one backend share, set before the first test. */
export interface Conformance {
  backendName: Backend['name'];
  backend: Backend;
  t: TestServer;
  w: World;
}

/** Declares `tests` once for each backend, as `server on <backend>`. */
export function onEveryBackend(tests: (ctx: Conformance) => void): void {
  describe.each(BACKENDS.map((make) => [make().name, make] as const))(
    'server on %s',
    (backendName, make) => {
      const ctx = { backendName } as Conformance;

      beforeAll(async () => {
        ctx.backend = make();
        ctx.t = await startTestServer(ctx.backend);
        ctx.w = await makeWorld(ctx.t);
      });

      afterAll(async () => {
        await ctx.t?.server.close();
        await ctx.backend?.dispose();
      });

      tests(ctx);
    },
  );
}

/** Follows the feed from `since` to its end, one change per page. */
export async function feedPages(
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

/** Every change after `since`, a page of up to 500 at a time. */
export async function feedAll(c: Client, since: string): Promise<ChangesPage['changes']> {
  const all: ChangesPage['changes'] = [];
  let page = ChangesPage.parse((await expectOk(c('GET', `/v1/changes?since=${since}`))).body);
  all.push(...page.changes);
  while (page.more) {
    page = ChangesPage.parse((await expectOk(c('GET', `/v1/changes?since=${page.next}`))).body);
    all.push(...page.changes);
  }
  return all;
}
