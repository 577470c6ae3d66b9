/** Rows as the database returns them, turned into the API's shapes; ids and principals. */
import type { Grant, Principal, Role, Scope, SecretMetadata } from '../../core/model';
import type { Row } from '../db/driver';
import { notFound } from '../httpError';

/** The metadata columns of secret `s` with the caller's role `r.role` (see access.ts). */
export const METADATA_COLUMNS = `s.id, s.name, s.scope_kind, s.scope_id, s.encoding, s.type, s.description,
  s.version, s.created_at, s.updated_at, s.created_by, r.role,
  CASE WHEN r.role = 'owner' THEN (
    SELECT json_agg(json_build_object('principal', g.principal, 'role', g.role) ORDER BY g.principal)
    FROM grants g WHERE g.secret_id = s.id) END AS access`;

export interface SecretRow extends Row {
  id: string;
  name: string;
  scope_kind: 'personal' | 'project' | 'team';
  scope_id: string;
  encoding: 'text' | 'base64';
  type: string;
  description: string;
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
  created_by: string;
  role: Role | null;
  access: { principal: string; role: Role }[] | string | null;
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

export function toMetadata(row: SecretRow): SecretMetadata {
  const raw = typeof row.access === 'string' ? (JSON.parse(row.access) as unknown) : row.access;
  const access: Grant[] = ((raw as { principal: string; role: Role }[] | null) ?? []).map((g) => ({
    principal: parsePrincipal(g.principal),
    role: g.role,
  }));
  return {
    id: row.id,
    name: row.name,
    encoding: row.encoding,
    type: row.type as SecretMetadata['type'],
    description: row.description,
    scope: scopeOf(row),
    version: Number(row.version),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    created_by: row.created_by,
    access,
    ...(row.role ? { role: row.role } : {}),
  };
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
