/** Sign-in with the identity provider (/v1/auth/…); see ../oidc/signIn.ts. */
import type { FastifyRequest } from 'fastify';
import { clientOf } from '../http/auth';
import { HttpError } from '../httpError';
import type { SignInOrigin } from '../store/audit';
import type { RouteContext, RouteHandlers } from '../http/register';
import type { SignIn } from '../oidc/signIn';

function signInOf(ctx: RouteContext): SignIn {
  if (!ctx.signIn) {
    throw new HttpError(
      404,
      'not_found',
      'This server has no identity provider set up: sign in with a token from your administrator.',
    );
  }
  return ctx.signIn;
}

/** Who signs in, for the audit log: the client as it names itself, and its address. */
function originOf(request: FastifyRequest): SignInOrigin {
  return { client: clientOf(request), ip: request.ip };
}

/** This server's URL as the browser reached it (NOTEBOOK_SECRETS_PUBLIC_URL overrides it). */
function serverUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

// Each is rate-limited by address: no token to count against.
export const signInRoutes = {
  signInConfig: {
    check: 'open',
    handle: async (_call, ctx) => ({ oidc: ctx.signIn ? await ctx.signIn.options() : null }),
  },

  authorize: {
    check: 'open',
    handle: async (call, ctx) => {
      const signIn = signInOf(ctx);
      const url = await signIn.authorize(call.query(), serverUrl(call.request));
      return call.reply.redirect(url.href, 302);
    },
  },

  signInCallback: {
    check: 'open',
    handle: async (call, ctx) => {
      const signIn = signInOf(ctx);
      const search = call.request.url.split('?')[1] ?? '';
      const back = await signIn.callback(search, serverUrl(call.request), originOf(call.request));
      return call.reply.redirect(back.href, 302);
    },
  },

  pushSignIn: { check: 'open', handle: async (call, ctx) => signInOf(ctx).push(call.body()) },

  openSignIn: {
    check: 'open',
    handle: async (call, ctx) => {
      const signIn = signInOf(ctx);
      const url = await signIn.authorizePushed(call.params.id, serverUrl(call.request));
      return call.reply.redirect(url.href, 302);
    },
  },

  deviceSignIn: { check: 'open', handle: async (_call, ctx) => signInOf(ctx).device() },

  token: {
    check: 'open',
    handle: async (call, ctx) => signInOf(ctx).token(call.body(), originOf(call.request)),
  },
} satisfies RouteHandlers;
