/** Secrets: create, list, edit (value, metadata, rename) and delete. */
import { randomUUID } from 'node:crypto';
import type { SecretMetadata } from '../../core/model';
import { isUniqueViolation, type Row } from '../db/driver';
import { HttpError } from '../httpError';
import {
  audienceOf,
  audienceSql,
  callerParams,
  FROM_VISIBLE,
  ROLE,
  roleOf,
  visibleSecret,
  whyNot,
} from './access';
import { audit, auditRow } from './audit';
import type { Caller, NewSecret, SecretPatch, StoreContext } from './context';
import { seal } from './keys';
import { METADATA_JSON, parseMetadata, secretId } from './rows';
import { changeRow } from './feed';
import { write } from './transaction';
import { type Writer, writerOf, writerRow, type Written } from './writer';

/**
 * Creates a secret in one statement (one round trip, its own transaction): the secret, its owner
 * grant, its first version, its audit row and its change-feed row commit together or not at all,
 * and only when the writer may create in the scope (a member of its team or project).
 */
export async function create(
  ctx: StoreContext,
  who: Writer,
  input: NewSecret,
): Promise<Written<SecretMetadata>> {
  const id = randomUUID();
  const now = new Date();
  const sealed = seal(ctx, id, input.value);
  const scopeId = input.scope.kind === 'personal' ? null : input.scope.id;
  const me = writerRow(who, 12);
  let row: (Row & { written: boolean }) | undefined;
  try {
    [row] = await ctx.db.query<Row & { written: boolean }>(
      `WITH me AS (${me.sql}),
       s AS (
         INSERT INTO secrets (id, name, scope_kind, scope_id, encoding, type, description, version,
           created_at, updated_at, created_by)
         SELECT $1::uuid, $2::text, $3::text, COALESCE($4::text, me.user_id), $5::text, $6::text,
           $7::text, 1, $8::timestamptz, $8::timestamptz, me.user_id
         FROM me
         WHERE $4::text IS NULL
            OR $4::text = ANY(CASE WHEN $3::text = 'team' THEN me.team_ids ELSE me.project_ids END)
         RETURNING id, name, encoding, created_at, created_by),
       g AS (INSERT INTO grants (secret_id, principal, role, name)
         SELECT s.id, 'user:' || s.created_by, 'owner', s.name FROM s),
       v AS (
         INSERT INTO secret_versions (secret_id, version, kind, encoding, author, at, key_id,
           nonce, ciphertext)
         SELECT s.id, 1, 'create', s.encoding, s.created_by, s.created_at, $9::text, $10::bytea,
           $11::bytea FROM s),
       a AS (${auditRow('create', { from: 's', id: 's.id', name: 's.name', version: '1' })}),
       c AS (${changeRow('create', {
         from: 's',
         id: 's.id',
         audience: `ARRAY['user:' || s.created_by]
           || CASE WHEN $4::text IS NULL THEN '{}'::text[] ELSE ARRAY[$3::text || ':' || $4::text] END`,
       })})
       SELECT me.*, EXISTS (SELECT 1 FROM s) AS written FROM me`,
      [
        id,
        input.name,
        input.scope.kind,
        scopeId,
        input.encoding,
        input.type,
        input.description,
        now,
        sealed.keyId,
        sealed.nonce,
        sealed.ciphertext,
        ...me.params,
      ],
      // Inserts plan alike for any values.
      { reusePlan: true },
    );
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new HttpError(
        409,
        'name_taken',
        `A secret named '${input.name}' already exists in this scope; pick another name or update that one.`,
        { field: 'name' },
      );
    }
    throw error;
  }
  const caller = writerOf(who, row);
  if (!row?.written) {
    throw new HttpError(
      403,
      'access_denied',
      `You can create secrets only in your own scope, or a team or project you are a member of; you are not a member of ${input.scope.kind} '${scopeId}'.`,
      { field: 'scope.id' },
    );
  }
  return { caller, result: created(id, input, now, caller.userId) };
}

/** The metadata of a secret just created by `userId`, its owner. */
function created(id: string, input: NewSecret, now: Date, userId: string): SecretMetadata {
  return {
    id,
    name: input.name,
    encoding: input.encoding,
    type: input.type as SecretMetadata['type'],
    description: input.description,
    scope: input.scope.kind === 'personal' ? { kind: 'personal' } : input.scope,
    version: 1,
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
    created_by: userId,
    access: [{ principal: { kind: 'user', id: userId }, role: 'owner' }],
    role: 'owner',
  };
}

export async function list(
  ctx: StoreContext,
  caller: Caller,
  filter: { scope?: { kind: string; id?: string }; type?: string; q?: string },
): Promise<SecretMetadata[]> {
  const params = callerParams(caller);
  const where: string[] = ['r.role IS NOT NULL'];
  if (filter.scope) {
    params.push(filter.scope.kind);
    where.push(`s.scope_kind = $${params.length}`);
    if (filter.scope.kind === 'personal') {
      params.push(caller.userId);
      where.push(`s.scope_id = $${params.length}`);
    } else if (filter.scope.id !== undefined) {
      params.push(filter.scope.id);
      where.push(`s.scope_id = $${params.length}`);
    }
  }
  if (filter.type) {
    params.push(filter.type);
    where.push(`s.type = $${params.length}`);
  }
  if (filter.q) {
    params.push(`%${filter.q.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c)}%`);
    where.push(
      `(lower(s.name) LIKE $${params.length} OR lower(s.description) LIKE $${params.length})`,
    );
  }
  const rows = await ctx.db.query<{ meta: string }>(
    `SELECT ${METADATA_JSON} AS meta ${FROM_VISIBLE} WHERE ${where.join(' AND ')}
     ORDER BY s.name, s.scope_kind, s.scope_id`,
    params,
  );
  return rows.map(parseMetadata);
}

/**
 * Edits a secret in one statement (one round trip, its own transaction): the guarded update of
 * its row, its version row (the new value, or the current one kept), the values past those kept
 * for restore destroyed, its audit row and its change-feed row. `notBase64` is the refusal of
 * `patch.value` when the stored encoding turns out to be base64 and the value is not valid base64.
 */
export async function update(
  ctx: StoreContext,
  who: Writer,
  id: string,
  ifMatch: number,
  patch: SecretPatch,
  notBase64?: HttpError,
): Promise<Written<SecretMetadata>> {
  id = secretId(id);
  const now = new Date();
  const sealed = patch.value !== undefined ? seal(ctx, id, patch.value) : undefined;
  // Without a new value the version keeps the current one, which must still be there.
  const keepsValue =
    sealed === undefined
      ? `AND EXISTS (SELECT 1 FROM secret_versions pv
           WHERE pv.secret_id = s.id AND pv.version = s.version AND pv.ciphertext IS NOT NULL)`
      : '';
  const role = roleOf('me.principals', 'me.team_ids', 'me.project_ids');
  const me = writerRow(who, 13);
  const [row] = await ctx.db
    .query<Row & { meta: string | null }>(
      `WITH me AS (${me.sql}),
       s AS (
         UPDATE secrets s SET version = s.version + 1, updated_at = $3,
           description = COALESCE($4, s.description), type = COALESCE($5, s.type),
           encoding = COALESCE($6, s.encoding), name = COALESCE($7, s.name)
         FROM me
         WHERE s.id = $1 AND s.version = $2 AND ${role} = 'owner'
           AND ($11::boolean OR s.encoding <> 'base64') ${keepsValue}
         RETURNING s.*),
       v AS (
         INSERT INTO secret_versions (secret_id, version, kind, encoding, author, at, key_id,
           nonce, ciphertext)
         SELECT s.id, s.version, 'update', s.encoding, me.user_id, s.updated_at,
           COALESCE($8, pv.key_id), COALESCE($9::bytea, pv.nonce),
           COALESCE($10::bytea, pv.ciphertext)
         FROM s CROSS JOIN me
         LEFT JOIN secret_versions pv ON pv.secret_id = s.id AND pv.version = s.version - 1),
       d AS (
         UPDATE secret_versions o SET key_id = NULL, nonce = NULL, ciphertext = NULL FROM s
         WHERE o.secret_id = s.id AND o.version <= s.version - $12::integer
           AND o.ciphertext IS NOT NULL),
       a AS (${auditRow('update', { from: 's', id: 's.id', name: 's.name', version: 's.version' })}),
       c AS (${changeRow('update', { from: 's', id: 's.id', audience: audienceSql('s') })})
       SELECT me.*, (
           -- The guard matches only for an owner: the role is not read again.
           SELECT ${METADATA_JSON} FROM s CROSS JOIN (SELECT 'owner' AS role) r
         ) AS meta
       FROM me`,
      [
        id,
        ifMatch,
        now,
        patch.description ?? null,
        patch.type ?? null,
        patch.encoding ?? null,
        patch.name ?? null,
        sealed?.keyId ?? null,
        sealed?.nonce ?? null,
        sealed?.ciphertext ?? null,
        notBase64 === undefined,
        ctx.options.keepValues,
        ...me.params,
      ],
      // Lookups by id: the same plan serves every caller and secret.
      { reusePlan: true },
    )
    .catch((error: unknown) => {
      if (isUniqueViolation(error)) {
        throw new HttpError(
          409,
          'name_taken',
          `A secret named '${patch.name}' already exists in this scope; pick another name or delete that one first.`,
          { field: 'name' },
        );
      }
      throw error;
    });
  const caller = writerOf(who, row);
  if (row?.meta) return { caller, result: parseMetadata(row) };
  throw await whyUnchanged(ctx, caller, id, ifMatch, sealed !== undefined, notBase64);
}

/** Why an update changed nothing, in the order of its checks. */
async function whyUnchanged(
  ctx: StoreContext,
  caller: Caller,
  id: string,
  ifMatch: number,
  newValue: boolean,
  notBase64: HttpError | undefined,
): Promise<HttpError> {
  const meta = await visibleSecret(ctx, caller, id);
  if (meta?.encoding === 'base64' && notBase64) return notBase64;
  if (!newValue && meta?.role === 'owner' && meta.version === ifMatch) {
    return new HttpError(500, 'internal', 'The current value of this secret is missing.');
  }
  return whyNot(ctx, ctx.db, caller, id, 'edit it');
}

export async function remove(
  ctx: StoreContext,
  caller: Caller,
  id: string,
  ifMatch: number | undefined,
): Promise<void> {
  id = secretId(id);
  await write(ctx, async (tx) => {
    // Lock the row first so the audience read below cannot race a concurrent share.
    await tx.query('SELECT 1 FROM secrets WHERE id = $1 FOR UPDATE', [id]);
    const audience = await audienceOf(tx, id);
    const [row] = await tx.query<{ version: number; name: string }>(
      `DELETE FROM secrets s WHERE s.id = $4 AND ($5::integer IS NULL OR s.version = $5)
         AND ${ROLE} = 'owner'
       RETURNING s.version, s.name`,
      [...callerParams(caller), id, ifMatch ?? null],
    );
    if (!row) throw await whyNot(ctx, tx, caller, id, 'delete it', ifMatch !== undefined);
    // Versions and grants went with the row (ON DELETE CASCADE): every value is destroyed.
    await audit(tx, caller, 'delete', id, row.name, Number(row.version));
    return { result: undefined, changes: [{ secretIds: [id], kind: 'delete', audience }] };
  });
}
