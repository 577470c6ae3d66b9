import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVER_VERSION } from '../../../src/server/app';
import { openApiDocument } from '../../../src/server/openapi';

// The document as the server sent it before it was generated from the route table
// (src/core/routes.ts), compared as the compact JSON the server sends, key order included.
type Document = {
  paths: Record<string, Record<string, Record<string, unknown>>>;
};
const snapshot = (): Document =>
  JSON.parse(
    readFileSync(new URL('./snapshots/openapi.json', import.meta.url), 'utf8'),
  ) as Document;

/**
 * Each difference from the snapshot, and why. Anything else that differs fails the test.
 */
const explained: { why: string; apply: (doc: Document) => void }[] = [
  {
    why:
      'GET /v1/tokens lists its `user` query, which the server always accepted: the route ' +
      'table holds the query the server parses with, where the old list of operations missed it',
    apply: (doc) => {
      const { responses, ...head } = doc.paths['/v1/tokens']!.get!;
      const user = { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' };
      doc.paths['/v1/tokens']!.get = {
        ...head,
        parameters: [{ name: 'user', in: 'query', required: false, schema: user }],
        responses,
      };
    },
  },
  {
    why:
      "PUT /v1/secrets/{id}/access takes a principal id of an id's form (the pattern of user and " +
      'team ids): sharing no longer looks principals up, so that an owner cannot probe which ids ' +
      'exist, and refuses only malformed ids',
    apply: (doc) => {
      const body = doc.paths['/v1/secrets/{id}/access']!.put!.requestBody as {
        content: Record<string, { schema: unknown }>;
      };
      const schema = body.content['application/json']!.schema as {
        properties: {
          access: { items: { properties: { principal: { properties: { id: unknown } } } } };
        };
      };
      schema.properties.access.items.properties.principal.properties.id = {
        type: 'string',
        pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$',
      };
    },
  },
  {
    why:
      'sign-in with an identity provider adds five operations under /v1/auth/ (config, ' +
      'authorize, callback, device, token), after the others; nothing else changes',
    apply: (doc) => {
      const generated = openApiDocument(SERVER_VERSION) as Document;
      for (const path of [
        '/v1/auth/config',
        '/v1/auth/authorize',
        '/v1/auth/callback',
        '/v1/auth/device',
        '/v1/auth/token',
      ]) {
        doc.paths[path] = generated.paths[path]!;
      }
    },
  },
  {
    why:
      'a client may push a browser sign-in ahead (POST /v1/auth/requests, the body of the ' +
      'authorize query) and have the browser open it by id (GET /v1/auth/requests/{id}): a URL ' +
      'without a redirect URI in it, which an editor that forwards or re-encodes the URLs it ' +
      'opens (VS Code for the Web, a remote window) cannot garble; two operations after the ' +
      'others, nothing else changes',
    apply: (doc) => {
      const generated = openApiDocument(SERVER_VERSION) as Document;
      for (const path of ['/v1/auth/requests', '/v1/auth/requests/{id}']) {
        doc.paths[path] = generated.paths[path]!;
      }
    },
  },
  {
    why:
      'GET /v1/audit also lists sign-ins with the identity provider: the actions sign_in, ' +
      'refresh, sign_in_failed and refresh_failed, and each entry has `detail` (how the person ' +
      'signed in or why it failed; null for other events); nothing else of the operation changes',
    apply: (doc) => {
      type Schema = { properties: Record<string, unknown>; required: string[] };
      const entry = (d: Document) => {
        const ok = d.paths['/v1/audit']!.get!.responses as Record<
          string,
          { content: Record<string, { schema: { properties: { entries: { items: Schema } } } }> }
        >;
        return ok['200']!.content['application/json']!.schema.properties.entries.items;
      };
      const generated = entry(openApiDocument(SERVER_VERSION) as Document);
      const expected = entry(doc);
      expected.properties.action = generated.properties.action;
      expected.properties.detail = generated.properties.detail;
      expected.required.push('detail');
    },
  },
  {
    why:
      'GET /v1/changes takes `parts` and answers `parts` on the first page of a long full ' +
      'listing: the cursors of the ranges of ids read alongside `next`; nothing else changes',
    apply: (doc) => {
      const get = doc.paths['/v1/changes']!.get! as {
        parameters: unknown[];
        responses: Record<
          string,
          { content: Record<string, { schema: { properties: Record<string, unknown> } }> }
        >;
      };
      const parts = { type: 'integer', minimum: 1, maximum: 16 };
      get.parameters.push({ name: 'parts', in: 'query', required: false, schema: parts });
      const page = get.responses['200']!.content['application/json']!.schema;
      page.properties.parts = { type: 'array', items: { type: 'string' } };
    },
  },
];

describe('the OpenAPI document', () => {
  it('is the committed snapshot with only the explained differences, byte for byte as served', () => {
    const expected = snapshot();
    for (const change of explained) change.apply(expected);
    expect(JSON.stringify(openApiDocument(SERVER_VERSION))).toBe(JSON.stringify(expected));
  });
});
