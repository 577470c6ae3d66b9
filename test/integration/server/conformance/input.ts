/**
 * The server's conformance suite, run unchanged against PGlite and PostgreSQL (../conformance.int.test.ts):
 * Bad input: clear 400s (and 413, 415) that never echo it, strings and versions the database cannot hold.
 */
import { describe, expect, it } from 'vitest';
import { ApiErrorBody } from '../../../../src/core/api';
import { expectOk, unique, type Client } from '../harness';
import { type Conformance } from './fixture';

export function inputTests(ctx: Conformance): void {
  describe('bad input', () => {
    const cases: {
      what: string;
      body?: unknown;
      raw?: string;
      headers?: Record<string, string>;
      status: number;
      code: string;
      message: RegExp;
    }[] = [
      {
        what: 'a name with a space',
        body: { name: 'MY KEY', value: 'x' },
        status: 400,
        code: 'invalid_name',
        message: /cannot contain a space/,
      },
      {
        what: 'a name starting with a digit',
        body: { name: '1KEY', value: 'x' },
        status: 400,
        code: 'invalid_name',
        message: /cannot start with a digit/,
      },
      {
        what: 'an empty name',
        body: { name: '', value: 'x' },
        status: 400,
        code: 'invalid_name',
        message: /name is required/,
      },
      {
        what: 'a 129-character name',
        body: { name: 'A'.repeat(129), value: 'x' },
        status: 400,
        code: 'invalid_name',
        message: /limit is 128/,
      },
      {
        what: 'a missing value',
        body: { name: 'OK_NAME' },
        status: 400,
        code: 'invalid_input',
        message: /needs 'value'/,
      },
      {
        what: 'a number as value',
        body: { name: 'OK_NAME', value: 42 },
        status: 400,
        code: 'invalid_input',
        message: /'value' must be a string/,
      },
      {
        what: 'an unknown type',
        body: { name: 'OK_NAME', value: 'x', type: 'magic' },
        status: 400,
        code: 'invalid_input',
        message: /'type'/,
      },
      {
        what: 'an unknown field',
        body: { name: 'OK_NAME', value: 'x', colour: 'red' },
        status: 400,
        code: 'invalid_input',
        message: /Unknown field 'colour'/,
      },
      {
        what: 'a bad scope',
        body: { name: 'OK_NAME', value: 'x', scope: { kind: 'galaxy' } },
        status: 400,
        code: 'invalid_input',
        message: /scope/,
      },
      {
        what: 'a long description',
        body: { name: 'OK_NAME', value: 'x', description: 'd'.repeat(1025) },
        status: 400,
        code: 'invalid_input',
        message: /at most 1024/,
      },
      {
        what: 'an array body',
        body: [1, 2],
        status: 400,
        code: 'invalid_input',
        message: /JSON object/,
      },
      {
        what: 'a value over 64 KiB',
        body: { name: 'OK_NAME', value: 'é'.repeat(40_000) },
        status: 413,
        code: 'value_too_large',
        message: /limit is 64 KiB/,
      },
      {
        what: 'malformed JSON',
        raw: '{"name": "OK_NAME", "value": x',
        status: 400,
        code: 'malformed_json',
        message: /not valid JSON/,
      },
      {
        what: 'a body that is not JSON',
        raw: 'name=x',
        headers: { 'content-type': 'text/plain' },
        status: 415,
        code: 'unsupported_media_type',
        message: /application\/json/,
      },
      {
        what: 'a huge body',
        raw: JSON.stringify({ name: 'OK_NAME', value: 'x'.repeat(2_000_000) }),
        status: 413,
        code: 'body_too_large',
        message: /larger than/,
      },
      {
        what: 'a __proto__ key',
        raw: '{"name":"OK_NAME","value":"x","__proto__":{"admin":true}}',
        status: 400,
        code: 'invalid_input',
        message: /__proto__/,
      },
    ];

    it.each(cases.map((c) => [c.what, c] as const))('refuses %s', async (_what, c) => {
      const r = await ctx.w.alice('POST', '/v1/secrets', {
        ...(c.body !== undefined ? { body: c.body } : {}),
        ...(c.raw !== undefined ? { raw: c.raw } : {}),
        ...(c.headers ? { headers: c.headers } : {}),
      });
      expect(r.status).toBe(c.status);
      const error = ApiErrorBody.parse(r.body).error;
      expect(error.code).toBe(c.code);
      expect(error.message).toMatch(c.message);
    });

    it('refuses bad queries, ids and If-Match values clearly', async () => {
      expect((await ctx.w.alice('GET', '/v1/secrets?scope=galaxy')).body.error.field).toBe('scope');
      expect((await ctx.w.alice('GET', '/v1/secrets?type=magic')).status).toBe(400);
      expect((await ctx.w.alice('GET', '/v1/secrets?colour=red')).body.error.message).toMatch(
        /Unknown field 'colour'/,
      );
      expect((await ctx.w.alice('GET', '/v1/secrets/not-a-uuid')).status).toBe(404);
      expect((await ctx.w.alice('GET', '/v1/resolve/BAD-NAME')).body.error.code).toBe(
        'invalid_name',
      );
      const { body } = await expectOk(
        ctx.w.alice('POST', '/v1/secrets', { body: { name: unique('Q_'), value: 'x' } }),
      );
      const r = await ctx.w.alice('PATCH', `/v1/secrets/${body.id}`, {
        body: { value: 'y' },
        headers: { 'if-match': 'yesterday' },
      });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toMatch(/If-Match/);
      const nothing = await ctx.w.alice('PATCH', `/v1/secrets/${body.id}`, {
        body: {},
        headers: { 'if-match': '"1"' },
      });
      expect(nothing.body.error.message).toMatch(/changes nothing/);
      expect((await ctx.w.alice('GET', '/v1/nowhere')).status).toBe(404);
      expect((await ctx.w.admin('POST', '/v1/users', { body: { id: 'Bad Id' } })).status).toBe(400);
      expect(
        (await ctx.w.admin('POST', '/v1/users', { body: { id: ctx.w.ids.alice } })).status,
      ).toBe(409);
    });
  });

  describe('strings and versions the database cannot hold', () => {
    it('refuses a NUL character with 400 naming the field, wherever a string comes in', async () => {
      const { body: secret } = await expectOk(
        ctx.w.alice('POST', '/v1/secrets', { body: { name: unique('NUL_'), value: 'x' } }),
      );
      const owner = { principal: { kind: 'user', id: ctx.w.ids.alice }, role: 'owner' };
      const nul = '\u0000';
      const cases: [Client, string, string, { body?: unknown }?][] = [
        [
          ctx.w.alice,
          'POST',
          '/v1/secrets',
          { body: { name: unique('N_'), value: 'x', description: `a${nul}b` } },
        ],
        [ctx.w.alice, 'GET', '/v1/secrets?q=a%00b'],
        [ctx.w.alice, 'GET', '/v1/secrets?scope=team:a%00b'],
        [ctx.w.alice, 'GET', '/v1/resolve/SOME_NAME?project=a%00b'],
        [ctx.w.alice, 'GET', '/v1/resolve/SOME_NAME?scope=team:a%00b'],
        [ctx.w.alice, 'GET', '/v1/audit?secret=a%00b'],
        [ctx.w.admin, 'POST', '/v1/teams', { body: { id: unique('t'), name: `a${nul}b` } }],
        [ctx.w.admin, 'POST', '/v1/tokens', { body: { user: ctx.w.ids.alice, name: `a${nul}b` } }],
        [ctx.w.admin, 'DELETE', `/v1/teams/${ctx.w.ids.team}/members/a%00b`],
        [
          ctx.w.alice,
          'PUT',
          `/v1/secrets/${secret.id}/access`,
          {
            body: {
              access: [owner, { principal: { kind: 'user', id: `b${nul}` }, role: 'reader' }],
            },
          },
        ],
      ];
      for (const [who, method, path, options] of cases) {
        const r = await who(method, path, options);
        expect(r.status, `${method} ${path}`).toBe(400);
        expect(r.body.error.message, `${method} ${path}`).toMatch(/NUL character/);
      }
      expect(ctx.t.logs.text).not.toMatch(/request failed/);
      // A value is sealed, not stored as text: NUL is kept as sent.
      const binary = await expectOk(
        ctx.w.alice('POST', '/v1/secrets', { body: { name: unique('N_'), value: `a${nul}b` } }),
      );
      const read = await expectOk(ctx.w.alice('GET', `/v1/secrets/${binary.body.id}/value`));
      expect(read.body.value).toBe(`a${nul}b`);
    });

    it('refuses a value or description with a lone surrogate with 400', async () => {
      const lone = await ctx.w.alice('POST', '/v1/secrets', {
        body: { name: unique('LONE_'), value: 'abc\ud800' },
      });
      expect(lone.status).toBe(400);
      expect(lone.body.error).toMatchObject({ code: 'invalid_input', field: 'value' });
      expect(lone.body.error.message).toMatch(/surrogate/);
      const { body: secret } = await expectOk(
        ctx.w.alice('POST', '/v1/secrets', { body: { name: unique('LONE_'), value: 'ok 😀' } }),
      );
      const patch = await ctx.w.alice('PATCH', `/v1/secrets/${secret.id}`, {
        body: { description: '\udc00x' },
        headers: { 'if-match': '"1"' },
      });
      expect(patch.status).toBe(400);
      expect(patch.body.error.field).toBe('description');
      const read = await expectOk(ctx.w.alice('GET', `/v1/secrets/${secret.id}/value`));
      expect(read.body).toMatchObject({ value: 'ok 😀', version: 1 });
    });

    it('answers an If-Match beyond any version with 400, not a failure', async () => {
      const { body: secret } = await expectOk(
        ctx.w.alice('POST', '/v1/secrets', { body: { name: unique('BIG_'), value: 'x' } }),
      );
      const headers = { 'if-match': '"99999999999"' };
      const owner = { principal: { kind: 'user', id: ctx.w.ids.alice }, role: 'owner' };
      const replies = [
        await ctx.w.alice('PATCH', `/v1/secrets/${secret.id}`, { body: { value: 'y' }, headers }),
        await ctx.w.alice('DELETE', `/v1/secrets/${secret.id}`, { headers }),
        await ctx.w.alice('PUT', `/v1/secrets/${secret.id}/access`, {
          body: { access: [owner] },
          headers,
        }),
        await ctx.w.alice('POST', `/v1/secrets/${secret.id}/versions/1/restore`, { headers }),
      ];
      for (const r of replies) {
        expect(r.status).toBe(400);
        expect(r.body.error.message).toMatch(/If-Match/);
      }
      expect((await ctx.w.alice('GET', `/v1/secrets/${secret.id}`)).body.version).toBe(1);
    });
  });
}
