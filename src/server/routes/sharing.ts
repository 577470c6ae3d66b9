/** A secret's access list and its versions: history and restore. */
import * as z from 'zod';
import { versionTag } from '../../core/api';
import { HttpError } from '../httpError';
import type { RouteHandlers } from '../http/register';
import { parseOr400 } from '../validation';

// Built once: a zod schema compiles its parser on first use, which per request costs more than
// the parse itself.
const NO_BODY = z.union([z.undefined(), z.null(), z.strictObject({})]);

export const sharingRoutes = {
  getAccess: async (call, { store }) => {
    const access = await store.getAccess(call.caller, call.params.id);
    call.reply.header('ETag', versionTag(access.version));
    return access;
  },

  putAccess: async (call, { store }) => {
    const version = call.ifMatch();
    const body = call.body();
    const access = await store.putAccess(call.caller, call.params.id, body.access, version);
    call.reply.header('ETag', versionTag(access.version));
    return access;
  },

  versions: async (call, { store }) => ({
    versions: await store.versions(call.caller, call.params.id),
  }),

  restore: async (call, { store }) => {
    const { id, n } = call.params;
    if (!/^[1-9]\d{0,8}$/.test(n)) {
      throw new HttpError(
        400,
        'invalid_input',
        'The version to restore must be a positive integer.',
        { field: 'n' },
      );
    }
    parseOr400(NO_BODY, call.request.body, 'body');
    const meta = await store.restore(call.caller, id, Number(n), call.ifMatch());
    call.reply.header('ETag', versionTag(meta.version));
    return meta;
  },
} satisfies RouteHandlers;
