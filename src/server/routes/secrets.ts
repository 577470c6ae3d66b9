/** Secrets: create, list, read metadata and values, edit (value, metadata, rename), delete. */
import { versionTag } from '../../core/api';
import { HttpError } from '../httpError';
import type { RouteHandlers } from '../http/register';
import { checkValue, parseScopeFilter } from '../validation';

export const secretRoutes = {
  // The token is checked by the write's statement where the store can (one round trip).
  createSecret: {
    check: 'write',
    handle: async (call, { store, maxValueBytes }) => {
      const body = call.body();
      checkValue(body.value, body.encoding, maxValueBytes);
      const meta = await call.write((who) => store.create(who, body));
      call.reply
        .header('ETag', versionTag(meta.version))
        .header('Location', `/v1/secrets/${meta.id}`);
      return meta;
    },
  },

  listSecrets: async (call, { store }) => {
    const query = call.query();
    const secrets = await store.list(call.caller, {
      ...(query.scope !== undefined ? { scope: parseScopeFilter(query.scope) } : {}),
      ...(query.type !== undefined ? { type: query.type } : {}),
      ...(query.q !== undefined ? { q: query.q } : {}),
    });
    return { secrets };
  },

  getSecret: async (call, { store }) => {
    const meta = await store.get(call.caller, call.params.id);
    if (!meta) throw new HttpError(404, 'not_found', 'No secret with this id is available to you.');
    call.reply.header('ETag', versionTag(meta.version));
    return meta;
  },

  getValue: async (call, { store }) => {
    const value = await store.readValue(call.caller, call.params.id);
    call.reply.header('ETag', versionTag(value.version));
    return value;
  },

  // Many values in one request (the sync client's first pull); POST: ids do not go in a URL.
  getValues: async (call, { store }) => store.readValues(call.caller, call.body().ids),

  updateSecret: {
    check: 'write',
    handle: async (call, { store, maxValueBytes }) => {
      const version = call.ifMatch();
      const body = call.body(call.request.body ?? {});
      if (Object.values(body).every((v) => v === undefined)) {
        throw new HttpError(
          400,
          'invalid_input',
          'The body changes nothing: send name, value, encoding, description or type.',
        );
      }
      if (body.value !== undefined) checkValue(body.value, body.encoding ?? 'text', maxValueBytes);
      if (body.encoding === 'base64' && body.value === undefined) {
        throw new HttpError(
          400,
          'invalid_input',
          "Changing the encoding to 'base64' needs the new value in the same request.",
          {
            field: 'value',
          },
        );
      }
      // Keep the stored encoding; a base64 secret's new value must be base64 too (the update
      // checks the stored encoding in its own statement).
      let notBase64: HttpError | undefined;
      if (body.value !== undefined && body.encoding === undefined) {
        try {
          checkValue(body.value, 'base64', maxValueBytes);
        } catch (error) {
          if (!(error instanceof HttpError)) throw error;
          notBase64 = error;
        }
      }
      const meta = await call.write((who) =>
        store.update(who, call.params.id, version, body, notBase64),
      );
      call.reply.header('ETag', versionTag(meta.version));
      return meta;
    },
  },

  deleteSecret: async (call, { store }) => {
    await store.remove(call.caller, call.params.id, call.ifMatch());
  },
} satisfies RouteHandlers;
