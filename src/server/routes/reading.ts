/** Reading a value by name, by precedence (`GET /v1/resolve/{name}`). */
import { versionTag } from '../../core/api';
import { SecretName } from '../../core/model';
import { nameProblem } from '../../core/validation';
import { clientOf } from '../http/auth';
import { HttpError } from '../httpError';
import type { RouteHandlers } from '../http/register';
import { isWellFormedToken } from '../tokens';
import { parseScopeFilter } from '../validation';

export const readingRoutes = {
  // The token is checked with the read, in one statement where the backend allows (a bad token
  // still gets its 401 before anything else is said about the request).
  resolve: {
    check: 'admit',
    handle: async (call, { store }) => {
      const { request, reply } = call;
      const auth = request.server.auth;
      const token = request.uncheckedToken!;
      const { name } = call.params;
      // An error before the statement checks the token: the handler's wrapper checks it first.
      if (!SecretName.safeParse(name).success) {
        throw new HttpError(400, 'invalid_name', nameProblem(name) ?? 'Invalid name.', {
          field: 'name',
        });
      }
      const query = call.query();
      const scope = parseScopeFilter(query.scope);
      const options = {
        ...(query.project ? { project: query.project } : {}),
        ...(scope ? { scope } : {}),
      };
      const found = isWellFormedToken(token)
        ? await store.resolveForToken(token, clientOf(request), request.ip, name, options)
        : undefined;
      request.uncheckedToken = null;
      if (!found) throw auth.refuseToken(request, reply);
      request.caller = found.caller;
      const { resolved } = found;
      if (!resolved)
        throw new HttpError(404, 'not_found', `No secret named '${name}' is available to you.`);
      reply.header('ETag', versionTag(resolved.version));
      return resolved;
    },
  },
} satisfies RouteHandlers;
