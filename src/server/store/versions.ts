/** Versions: each change's version row, keeping the last values for restore, and restore. */
import type { ChangeKind, VersionEntry } from '../../core/api';
import type { SecretMetadata } from '../../core/model';
import type { SqlExecutor } from '../db/driver';
import { HttpError, notFound } from '../httpError';
import { audienceOf, callerParams, ROLE, visibleSecret, whyNot } from './access';
import { audit } from './audit';
import type { Caller, StoreContext } from './context';
import { open, seal } from './keys';
import { iso, secretId } from './rows';
import type { PendingChange } from './feed';
import { write } from './transaction';

export async function versions(
  ctx: StoreContext,
  caller: Caller,
  id: string,
): Promise<VersionEntry[]> {
  const meta = await visibleSecret(ctx, caller, id);
  if (!meta) throw notFound();
  const rows = await ctx.db.query<{
    version: number;
    kind: ChangeKind;
    author: string;
    at: Date;
    restorable: boolean;
  }>(
    `SELECT version, kind, author, at, ciphertext IS NOT NULL AS restorable
     FROM secret_versions WHERE secret_id = $1 ORDER BY version DESC`,
    [id],
  );
  return rows.map((r) => ({
    version: Number(r.version),
    kind: r.kind,
    author: r.author,
    at: iso(r.at),
    restorable: Boolean(r.restorable),
  }));
}

export async function restore(
  ctx: StoreContext,
  caller: Caller,
  id: string,
  n: number,
  ifMatch: number | undefined,
): Promise<SecretMetadata> {
  id = secretId(id);
  const now = new Date();
  return write(ctx, async (tx) => {
    const { version, name } = await nextVersion(ctx, tx, caller, {
      id,
      ifMatch,
      at: now,
      action: 'restore a version',
    });
    const [old] = await tx.query<{
      encoding: 'text' | 'base64';
      key_id: string | null;
      nonce: Buffer | null;
      ciphertext: Buffer | null;
    }>(
      'SELECT encoding, key_id, nonce, ciphertext FROM secret_versions WHERE secret_id = $1 AND version = $2',
      [id, n],
    );
    if (!old || n >= version) {
      throw new HttpError(404, 'not_found', `This secret has no version ${n}.`);
    }
    if (!old.ciphertext || !old.key_id || !old.nonce) {
      throw new HttpError(
        404,
        'not_found',
        `The value of version ${n} was destroyed: the server keeps the values of the last ${ctx.options.keepValues} versions.`,
      );
    }
    // Re-encrypt under the current key, so restoring also moves the value off an old key.
    const value = open(ctx, id, old.key_id, old.nonce, old.ciphertext);
    await tx.query('UPDATE secrets SET encoding = $2 WHERE id = $1', [id, old.encoding]);
    const change = { id, name, version, kind: 'restore', encoding: old.encoding, at: now } as const;
    await addVersion(ctx, tx, caller, change, seal(ctx, id, value));
    return changedSecret(ctx, tx, caller, id, 'restore');
  });
}

/**
 * Takes the next version of secret `id` for its owner `caller` (guarded by `ifMatch` when given),
 * or throws why not: 404, 403 or 412 with the current version.
 */
export async function nextVersion(
  ctx: StoreContext,
  tx: SqlExecutor,
  caller: Caller,
  guard: { id: string; ifMatch: number | undefined; at: Date; action: string },
): Promise<{ version: number; name: string; encoding: 'text' | 'base64' }> {
  const { id, ifMatch, at, action } = guard;
  const [row] = await tx.query<{ version: number; name: string; encoding: 'text' | 'base64' }>(
    `UPDATE secrets s SET version = s.version + 1, updated_at = $6
     WHERE s.id = $4 AND ($5::integer IS NULL OR s.version = $5) AND ${ROLE} = 'owner'
     RETURNING s.version, s.name, s.encoding`,
    [...callerParams(caller), id, ifMatch ?? null, at],
  );
  if (!row) throw await whyNot(ctx, tx, caller, id, action, ifMatch !== undefined);
  return { version: Number(row.version), name: row.name, encoding: row.encoding };
}

/**
 * Records a new version of a secret that already has one: its version row holding `sealed`, the
 * values past those kept for restore destroyed, and its audit row.
 */
export async function addVersion(
  ctx: StoreContext,
  tx: SqlExecutor,
  caller: Caller,
  change: {
    id: string;
    name: string;
    version: number;
    kind: 'update' | 'share' | 'restore';
    encoding: string;
    at: Date;
  },
  sealed: { keyId: string; nonce: Buffer; ciphertext: Buffer },
): Promise<void> {
  const { id, name, version, kind, encoding, at } = change;
  await insertVersion(tx, id, version, kind, encoding, caller, at, sealed);
  await destroyOldValues(ctx, tx, id, version);
  await audit(tx, caller, kind, id, name, version);
}

/**
 * What a change to a secret that stays visible answers: its metadata as the caller now sees it,
 * and one change-feed row for everyone who can see it.
 */
export async function changedSecret(
  ctx: StoreContext,
  tx: SqlExecutor,
  caller: Caller,
  id: string,
  kind: 'update' | 'restore',
): Promise<{ result: SecretMetadata; changes: PendingChange[] }> {
  const audience = await audienceOf(tx, id);
  const meta = await visibleSecret(ctx, caller, id, tx);
  return { result: meta!, changes: [{ secretIds: [id], kind, audience }] };
}

export async function insertVersion(
  tx: SqlExecutor,
  id: string,
  version: number,
  kind: ChangeKind,
  encoding: string,
  caller: Caller,
  at: Date,
  sealed: { keyId: string; nonce: Buffer; ciphertext: Buffer },
): Promise<void> {
  await tx.query(
    `INSERT INTO secret_versions (secret_id, version, kind, encoding, author, at, key_id, nonce, ciphertext)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [id, version, kind, encoding, caller.userId, at, sealed.keyId, sealed.nonce, sealed.ciphertext],
  );
}

export async function copyValue(tx: SqlExecutor, id: string, version: number) {
  const [row] = await tx.query<{ key_id: string; nonce: Buffer; ciphertext: Buffer }>(
    'SELECT key_id, nonce, ciphertext FROM secret_versions WHERE secret_id = $1 AND version = $2',
    [id, version],
  );
  if (!row?.ciphertext)
    throw new HttpError(500, 'internal', 'The current value of this secret is missing.');
  return {
    keyId: row.key_id,
    nonce: Buffer.from(row.nonce),
    ciphertext: Buffer.from(row.ciphertext),
  };
}

export async function destroyOldValues(
  ctx: StoreContext,
  tx: SqlExecutor,
  id: string,
  version: number,
): Promise<void> {
  await tx.query(
    `UPDATE secret_versions SET key_id = NULL, nonce = NULL, ciphertext = NULL
     WHERE secret_id = $1 AND version <= $2 AND ciphertext IS NOT NULL`,
    [id, version - ctx.options.keepValues],
  );
}
