/** Sharing: a secret's access list, read and replaced whole by its owners. */
import type { AccessList } from '../../core/api';
import type { Grant } from '../../core/model';
import { HttpError, notFound, ownersOnly } from '../httpError';
import { audienceOf, visibleSecret } from './access';
import type { Caller, StoreContext } from './context';
import { principalKey, secretId } from './rows';
import { write } from './transaction';
import { addVersion, copyValue, nextVersion } from './versions';

export async function getAccess(
  ctx: StoreContext,
  caller: Caller,
  id: string,
): Promise<AccessList> {
  const meta = await visibleSecret(ctx, caller, id);
  if (!meta) throw notFound();
  if (meta.role !== 'owner') throw ownersOnly('see who it is shared with');
  return { access: meta.access, version: meta.version };
}

export async function putAccess(
  ctx: StoreContext,
  caller: Caller,
  id: string,
  grants: Grant[],
  ifMatch: number | undefined,
): Promise<AccessList> {
  id = secretId(id);
  const keys = grants.map((g) => principalKey(g.principal));
  const duplicate = keys.find((k, i) => keys.indexOf(k) !== i);
  if (duplicate) {
    throw new HttpError(
      400,
      'invalid_input',
      `The access list names ${duplicate} twice; give each principal one role.`,
      {
        field: 'access',
      },
    );
  }
  const now = new Date();
  return write(ctx, async (tx) => {
    const { version, name, encoding } = await nextVersion(ctx, tx, caller, {
      id,
      ifMatch,
      at: now,
      action: 'share it',
    });
    if (!grants.some((g) => g.role === 'owner')) {
      throw new HttpError(
        422,
        'last_owner',
        'A secret must keep at least one owner; add an owner to the access list before removing the last one.',
      );
    }
    const before = await audienceOf(tx, id);
    await tx.query('DELETE FROM grants WHERE secret_id = $1', [id]);
    for (const grant of grants) {
      await tx.query('INSERT INTO grants (secret_id, principal, role) VALUES ($1, $2, $3)', [
        id,
        principalKey(grant.principal),
        grant.role,
      ]);
    }
    const after = await audienceOf(tx, id);
    const change = { id, name, version, kind: 'share', encoding, at: now } as const;
    await addVersion(ctx, tx, caller, change, await copyValue(tx, id, version - 1));
    const access = [...grants].sort((a, b) =>
      principalKey(a.principal).localeCompare(principalKey(b.principal)),
    );
    return {
      result: { access, version },
      changes: [{ secretIds: [id], kind: 'share', audience: [...new Set([...before, ...after])] }],
    };
  });
}
