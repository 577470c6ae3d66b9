/**
 * Reading values: by id, by ids, and by name with precedence. Each is one statement that reads
 * the current version's value and writes its audit row (auditedRead), built by readCurrentValues.
 */
import type { IdentifiedValue, ResolvedSecret } from '../../core/api';
import type { SecretValue } from '../../core/model';
import type { Row } from '../db/driver';
import { notFound } from '../httpError';
import { callerParams, FROM_VISIBLE } from './access';
import { auditedRead } from './audit';
import type { Caller, StoreContext } from './context';
import { open } from './keys';
import { scopeOf, secretId, UUID } from './rows';

/** What a value read returns of each secret: enough to open its value and audit the read. */
interface ValueRow extends Row {
  id: string;
  name: string;
  version: number;
  encoding: 'text' | 'base64';
  key_id: string;
  nonce: Buffer;
  ciphertext: Buffer;
}

/**
 * The current value of each visible secret that `where` picks, audited as `action` in the same
 * statement. `params` starts with callerParams ($1–$3); `more` names further columns of `s`, and
 * `tail` follows the WHERE clause (ORDER BY, LIMIT).
 */
function readCurrentValues<T extends ValueRow>(
  ctx: StoreContext,
  caller: Caller,
  action: 'read_value' | 'resolve',
  query: { where: string[]; params: unknown[]; more?: string; tail?: string },
): Promise<T[]> {
  return auditedRead<T>(
    ctx,
    `SELECT s.id, s.name, s.version, v.encoding, v.key_id, v.nonce, v.ciphertext${query.more ?? ''}
     ${FROM_VISIBLE}
     JOIN secret_versions v ON v.secret_id = s.id AND v.version = s.version
     WHERE ${[...query.where, 'r.role IS NOT NULL'].join(' AND ')}
     ${query.tail ?? ''}`,
    query.params,
    caller,
    action,
  );
}

function openValue(ctx: StoreContext, row: ValueRow): string {
  return open(ctx, String(row.id), row.key_id, row.nonce, row.ciphertext);
}

export async function readValue(
  ctx: StoreContext,
  caller: Caller,
  id: string,
): Promise<SecretValue> {
  id = secretId(id);
  const [row] = await readCurrentValues(ctx, caller, 'read_value', {
    where: ['s.id = $4'],
    params: [...callerParams(caller), id],
  });
  if (!row) throw notFound();
  return { value: openValue(ctx, row), encoding: row.encoding, version: Number(row.version) };
}

/**
 * The current values of the secrets `ids` the caller can see, in the order asked, audited
 * `read_value` one row per secret in the same statement as the read (as readValue). The others
 * (invisible or nonexistent: they look alike) are `missing`.
 */
export async function readValues(
  ctx: StoreContext,
  caller: Caller,
  ids: string[],
): Promise<{ values: IdentifiedValue[]; missing: string[] }> {
  const wanted = ids.filter((id) => UUID.test(id));
  const rows =
    wanted.length === 0
      ? []
      : await readCurrentValues(ctx, caller, 'read_value', {
          where: ['s.id = ANY($4::uuid[])'],
          params: [...callerParams(caller), wanted],
        });
  const byId = new Map(rows.map((row) => [String(row.id).toLowerCase(), row]));
  const values: IdentifiedValue[] = [];
  const missing: string[] = [];
  for (const id of ids) {
    const row = UUID.test(id) ? byId.get(id.toLowerCase()) : undefined;
    if (!row) {
      missing.push(id);
      continue;
    }
    values.push({
      id,
      value: openValue(ctx, row),
      encoding: row.encoding,
      version: Number(row.version),
    });
  }
  return { values, missing };
}

export async function resolve(
  ctx: StoreContext,
  caller: Caller,
  name: string,
  options: { project?: string; scope?: { kind: string; id?: string } },
): Promise<ResolvedSecret | undefined> {
  const params: unknown[] = [...callerParams(caller), name, caller.userId];
  const where = ['s.name = $4'];
  if (options.project !== undefined) {
    params.push(options.project);
    where.push(`(s.scope_kind <> 'project' OR s.scope_id = $${params.length})`);
  }
  if (options.scope) {
    params.push(options.scope.kind);
    where.push(`s.scope_kind = $${params.length}`);
    if (options.scope.kind === 'personal') where.push('s.scope_id = $5');
    else if (options.scope.id !== undefined) {
      params.push(options.scope.id);
      where.push(`s.scope_id = $${params.length}`);
    }
  }
  // Own personal > project > team > someone else's personal secret shared with the caller.
  const [row] = await readCurrentValues<
    ValueRow & { scope_kind: string; scope_id: string; type: string }
  >(ctx, caller, 'resolve', {
    where,
    params,
    more: ', s.scope_kind, s.scope_id, s.type',
    tail: `ORDER BY CASE WHEN s.scope_kind = 'personal' AND s.scope_id = $5 THEN 0
                     WHEN s.scope_kind = 'project' THEN 1
                     WHEN s.scope_kind = 'team' THEN 2 ELSE 3 END, s.scope_id
       LIMIT 1`,
  });
  if (!row) return undefined;
  return {
    id: row.id,
    name: row.name,
    scope: scopeOf(row),
    type: row.type as ResolvedSecret['type'],
    value: openValue(ctx, row),
    encoding: row.encoding,
    version: Number(row.version),
  };
}
