/** Secrets: create, list, edit (value, metadata, rename) and delete. */
import { randomUUID } from 'node:crypto';
import type { SecretMetadata } from '../../core/model';
import { isUniqueViolation } from '../db/driver';
import { HttpError } from '../httpError';
import { audienceOf, callerParams, FROM_VISIBLE, ROLE, whyNot } from './access';
import { audit } from './audit';
import type { Caller, NewSecret, SecretPatch, StoreContext } from './context';
import { seal } from './keys';
import { METADATA_COLUMNS, type SecretRow, secretId, toMetadata } from './rows';
import { write } from './transaction';
import { addVersion, changedSecret, copyValue, insertVersion } from './versions';

export async function create(
  ctx: StoreContext,
  caller: Caller,
  input: NewSecret,
): Promise<SecretMetadata> {
  let scopeId: string;
  if (input.scope.kind === 'personal') scopeId = caller.userId;
  else {
    const mine = input.scope.kind === 'team' ? caller.teams : caller.projects;
    if (!mine.includes(input.scope.id)) {
      throw new HttpError(
        403,
        'access_denied',
        `You can create secrets only in your own scope, or a team or project you are a member of; you are not a member of ${input.scope.kind} '${input.scope.id}'.`,
        { field: 'scope.id' },
      );
    }
    scopeId = input.scope.id;
  }
  const id = randomUUID();
  const now = new Date();
  const owner = `user:${caller.userId}`;
  const audience =
    input.scope.kind === 'personal' ? [owner] : [owner, `${input.scope.kind}:${scopeId}`];
  try {
    await write(ctx, async (tx) => {
      await tx.query(
        `INSERT INTO secrets (id, name, scope_kind, scope_id, encoding, type, description, version,
           created_at, updated_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8, $9)`,
        [
          id,
          input.name,
          input.scope.kind,
          scopeId,
          input.encoding,
          input.type,
          input.description,
          now,
          caller.userId,
        ],
      );
      await tx.query(`INSERT INTO grants (secret_id, principal, role) VALUES ($1, $2, 'owner')`, [
        id,
        owner,
      ]);
      await insertVersion(
        tx,
        id,
        1,
        'create',
        input.encoding,
        caller,
        now,
        seal(ctx, id, input.value),
      );
      await audit(tx, caller, 'create', id, input.name, 1);
      return { result: undefined, changes: [{ secretIds: [id], kind: 'create', audience }] };
    });
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
    created_by: caller.userId,
    access: [{ principal: { kind: 'user', id: caller.userId }, role: 'owner' }],
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
  const rows = await ctx.db.query<SecretRow>(
    `SELECT ${METADATA_COLUMNS} ${FROM_VISIBLE} WHERE ${where.join(' AND ')}
     ORDER BY s.name, s.scope_kind, s.scope_id`,
    params,
  );
  return rows.map(toMetadata);
}

export async function update(
  ctx: StoreContext,
  caller: Caller,
  id: string,
  ifMatch: number,
  patch: SecretPatch,
): Promise<SecretMetadata> {
  id = secretId(id);
  const now = new Date();
  return write(ctx, async (tx) => {
    const [row] = await tx
      .query<{ version: number; name: string; encoding: 'text' | 'base64' }>(
        `UPDATE secrets s SET version = s.version + 1, updated_at = $6,
         description = COALESCE($7, s.description), type = COALESCE($8, s.type),
         encoding = COALESCE($9, s.encoding), name = COALESCE($10, s.name)
       WHERE s.id = $4 AND s.version = $5 AND ${ROLE} = 'owner'
       RETURNING s.version, s.name, s.encoding`,
        [
          ...callerParams(caller),
          id,
          ifMatch,
          now,
          patch.description ?? null,
          patch.type ?? null,
          patch.encoding ?? null,
          patch.name ?? null,
        ],
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
    if (!row) throw await whyNot(ctx, tx, caller, id, 'edit it');
    const version = Number(row.version);
    const sealed =
      patch.value !== undefined ? seal(ctx, id, patch.value) : await copyValue(tx, id, version - 1);
    const { name, encoding } = row;
    await addVersion(
      ctx,
      tx,
      caller,
      { id, name, version, kind: 'update', encoding, at: now },
      sealed,
    );
    return changedSecret(ctx, tx, caller, id, 'update');
  });
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
