/** The change feed and the audit log. */
import type { RouteHandlers } from '../http/register';

export const feedRoutes = {
  changes: async (call, { store }) => {
    const query = call.query();
    return store.changes(call.caller, query.since, query.limit ?? 500, query.parts ?? 1);
  },

  audit: async (call, { store }) => {
    const query = call.query();
    return store.auditLog(call.caller, {
      ...(query.secret !== undefined ? { secret: query.secret } : {}),
      ...(query.before !== undefined ? { before: query.before } : {}),
      limit: query.limit ?? 100,
    });
  },
} satisfies RouteHandlers;
