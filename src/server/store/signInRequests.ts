/**
 * Browser sign-ins in flight, shared by every server process on the database: a sign-in a client
 * pushed ahead for its browser to open (`pushed`, by its id), a sign-in waiting for the provider's
 * redirect back (`pending`, by the state sent to the provider) and the one-time code it ends with
 * (`code`). A row's id is the SHA-256 of its handle, so the table alone names
 * no usable state or code; what it holds (verifiers, nonce, the provider's refresh token) is
 * sealed with the server's key. Each is read once: taking it deletes it, so of two processes
 * given the same handle only one gets it.
 */
import { hashToken } from '../tokens';
import type { StoreContext } from './context';

export type SignInRequestKind = 'pushed' | 'pending' | 'code';

/** Keeps `payload` under `handle` for `seconds`; expired requests are cleared on the way. */
export async function putSignInRequest(
  ctx: StoreContext,
  kind: SignInRequestKind,
  handle: string,
  payload: unknown,
  seconds: number,
): Promise<void> {
  const id = hashToken(handle);
  const sealed = ctx.keyring.seal(JSON.stringify(payload), `${kind}:${id}`);
  await ctx.db.query(
    `WITH expired AS (DELETE FROM sign_in_requests WHERE expires_at < now())
     INSERT INTO sign_in_requests (id, kind, key_id, nonce, sealed, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + $6::float8 * interval '1 second')`,
    [id, kind, sealed.keyId, sealed.nonce, sealed.ciphertext, seconds],
  );
}

/** Takes the request of `handle` (it is gone afterwards); undefined when unknown or expired. */
export async function takeSignInRequest(
  ctx: StoreContext,
  kind: SignInRequestKind,
  handle: string,
): Promise<unknown> {
  const id = hashToken(handle);
  const [row] = await ctx.db.query<{
    key_id: string;
    nonce: Uint8Array;
    sealed: Uint8Array;
    live: boolean;
  }>(
    `DELETE FROM sign_in_requests WHERE id = $1 AND kind = $2
     RETURNING key_id, nonce, sealed, expires_at > now() AS live`,
    [id, kind],
  );
  if (!row?.live) return undefined;
  const text = ctx.keyring.open(
    { keyId: row.key_id, nonce: Buffer.from(row.nonce), ciphertext: Buffer.from(row.sealed) },
    `${kind}:${id}`,
  );
  return JSON.parse(text) as unknown;
}
