/** Health, the OpenAPI document, the caller and their own sign-out. */
import { openApiDocument } from '../openapi';
import type { RouteHandlers } from '../http/register';

export const identityRoutes = {
  health: async (_call, ctx) => ({ ok: true, version: ctx.version }),

  openApi: async (_call, ctx) => openApiDocument(ctx.version),

  me: async ({ caller }, { store }) => store.me(caller),

  // Sign out: the caller's own token stops working (admins revoke others' with /v1/tokens/{id}).
  revokeOwnToken: async ({ caller }, { store }) => {
    await store.revokeToken(caller, caller.tokenId);
  },
} satisfies RouteHandlers;
