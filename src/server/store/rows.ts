/** Rows as the database returns them, turned into the API's shapes; ids and principals. */
import type { Principal, Scope, SecretMetadata } from '../../core/model';
import { notFound } from '../httpError';

/**
 * A JSON object built in SQL, written as JSON.stringify writes it (no spaces, keys in this order):
 * each field is a key and an SQL expression giving that key's JSON text. NULL if any is NULL.
 */
function jsonObject(fields: readonly (readonly [key: string, json: string])[]): string {
  const parts = fields.map(([key, json], i) => `'${i === 0 ? '{' : ','}"${key}":' || ${json}`);
  return `${parts.join(' || ')} || '}'`;
}

/** The JSON text of an SQL text value (escaped as JSON.stringify escapes it). */
const jsonString = (sql: string) => `to_json(${sql}::text)::text`;

/** A timestamp as JSON text, in the form Date.prototype.toISOString gives. */
const jsonTime = (sql: string) =>
  `'"' || to_char(${sql} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"'`;

/** A grant `g` as the API writes it: `{"principal":{"kind":…,"id":…},"role":…}`. */
const GRANT_JSON = jsonObject([
  [
    'principal',
    jsonObject([
      ['kind', jsonString("split_part(g.principal, ':', 1)")],
      ['id', jsonString("substr(g.principal, strpos(g.principal, ':') + 1)")],
    ]),
  ],
  ['role', jsonString('g.role')],
]);

/**
 * The API's SecretMetadata of secret `s`, seen with role `r.role` (see access.ts), as JSON text
 * built by the database: the one place that writes the metadata of a stored secret. A page of the
 * change feed is sent as the database wrote it; other reads parse it (parseMetadata). Only an
 * owner sees the access list. NULL when `r.role` is NULL.
 */
export const METADATA_JSON = jsonObject([
  ['id', jsonString('s.id')],
  ['name', jsonString('s.name')],
  ['encoding', jsonString('s.encoding')],
  ['type', jsonString('s.type')],
  ['description', jsonString('s.description')],
  [
    'scope',
    `CASE WHEN s.scope_kind = 'personal' THEN '{"kind":"personal"}' ELSE ${jsonObject([
      ['kind', jsonString('s.scope_kind')],
      ['id', jsonString('s.scope_id')],
    ])} END`,
  ],
  ['version', 's.version::text'],
  ['created_at', jsonTime('s.created_at')],
  ['updated_at', jsonTime('s.updated_at')],
  ['created_by', jsonString('s.created_by')],
  [
    'access',
    `CASE WHEN r.role = 'owner' THEN COALESCE((
       SELECT '[' || string_agg(${GRANT_JSON}, ',' ORDER BY g.principal) || ']'
       FROM grants g WHERE g.secret_id = s.id), '[]') ELSE '[]' END`,
  ],
  ['role', jsonString('r.role')],
]);

/**
 * An answer as JSON text, written (in part) by the database: the server sends it as it is, with
 * no parse and no stringify on the way. `T` is what the text holds.
 */
export class JsonText<T> {
  declare readonly holds: T;
  constructor(readonly text: string) {}

  /** The answer as an object, for callers other than the HTTP layer. */
  parse(): T {
    return JSON.parse(this.text) as T;
  }
}

/** The metadata METADATA_JSON wrote (`meta`), as an object. */
export function parseMetadata(row: { meta: unknown }): SecretMetadata {
  if (typeof row.meta !== 'string') throw new Error('A secret row came without its metadata.');
  return JSON.parse(row.meta) as SecretMetadata;
}

export function iso(value: unknown): string {
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
}

export function parsePrincipal(key: string): Principal {
  const at = key.indexOf(':');
  return { kind: key.slice(0, at) as Principal['kind'], id: key.slice(at + 1) };
}

export function principalKey(principal: Principal): string {
  return `${principal.kind}:${principal.id}`;
}

export function scopeOf(row: { scope_kind: string; scope_id: string }): Scope {
  return row.scope_kind === 'personal'
    ? { kind: 'personal' }
    : { kind: row.scope_kind as 'project' | 'team', id: row.scope_id };
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A secret id from a request, in the form values are sealed with (lower case): an id typed in
 * upper case must neither fail to decrypt nor seal a value that its own id cannot open later.
 */
export function secretId(id: string): string {
  if (!UUID.test(id)) throw notFound();
  return id.toLowerCase();
}
