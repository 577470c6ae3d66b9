/**
 * The server's conformance suite, run unchanged against PGlite and PostgreSQL (../conformance.int.test.ts):
 * every route of the route table (src/core/routes.ts) is served, documented and guarded as the
 * table says.
 */
import { describe, expect, it } from 'vitest';
import { ROUTES, routePath, type RouteId, type RouteSpec } from '../../../../src/core/routes';
import { client, expectOk } from '../harness';
import { type Conformance } from './fixture';

/** Path parameters that name nothing: each route gets past its token check and no further. */
const NOWHERE: Record<string, string> = {
  id: '00000000-0000-4000-8000-000000000000',
  n: '1',
  name: 'NO_SUCH_NAME',
  user: 'nobody-here',
  kind: 'user',
  member: 'nobody-here',
};

const routes = Object.entries(ROUTES) as [RouteId, RouteSpec][];
const label = (spec: RouteSpec) => `${spec.method} ${spec.path}`;
const pathOf = (spec: RouteSpec) => routePath(spec, NOWHERE as never);

export function routeTableTests(ctx: Conformance): void {
  describe('the route table', () => {
    it('is served as the OpenAPI document: every documented route, and nothing else', async () => {
      const r = await client(ctx.t.url, undefined)('GET', '/v1/openapi.json');
      expect(r.status).toBe(200);
      expect(r.body.openapi).toBe('3.1.0');
      const served = Object.entries(r.body.paths as Record<string, object>).flatMap(
        ([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
      );
      const documented = routes.filter(([, spec]) => !spec.undocumented).map(([, s]) => label(s));
      expect(served).toEqual(documented);
      expect(
        r.body.paths['/v1/secrets'].post.requestBody.content['application/json'].schema.required,
      ).toEqual(['name', 'value']);
    });

    it.each(routes.map(([id, spec]) => [label(spec), id, spec] as const))(
      '%s is registered and guarded as the table says',
      async (_label, id, spec) => {
        const url = spec.path.replace(/\{(\w+)\}/g, ':$1');
        expect(ctx.t.server.app.hasRoute({ method: spec.method, url }), id).toBe(true);
        const anonymous = await ctx.w.anonymous(spec.method, pathOf(spec));
        if (spec.auth === 'none') {
          // Open routes answer without a token (sign-in routes then name what else is missing).
          expect([401, 403]).not.toContain(anonymous.status);
          return;
        }
        expect(anonymous.status).toBe(401);
        expect(anonymous.body.error.code).toBe('unauthorized');
        // A token of its own: a route may sign its caller out.
        const user = ctx.w.ids.eve;
        const { token } = (
          await expectOk(ctx.w.admin('POST', '/v1/tokens', { body: { user, name: id } }))
        ).body;
        const asUser = await client(ctx.t.url, token)(spec.method, pathOf(spec));
        if (spec.auth === 'admin') {
          expect(asUser.status).toBe(403);
          expect(asUser.body.error.code).toBe('access_denied');
          const asAdmin = await ctx.w.admin(spec.method, pathOf(spec));
          expect([401, 403]).not.toContain(asAdmin.status);
        } else {
          expect([401, 403]).not.toContain(asUser.status);
        }
      },
    );
  });
}
