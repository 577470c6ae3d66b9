/**
 * Seeds a team server's database for the scale benchmarks: the rows POST /v1/secrets writes
 * (secret, owner grant, first version with its value sealed under the server's key, audit row,
 * change-feed row), row for row, but thousands per statement: seeding 100,000 secrets through the
 * API would take minutes.
 */
import { randomUUID } from 'node:crypto';
import type { Keyring } from '../src/server/crypto';
import type { SqlDriver } from '../src/server/db/driver';

const BATCH = 5_000;

/** The value of the secret number `i`, as the benchmarks check it after a sync. */
export function seededValue(i: number): string {
  return `value-${i}-${'x'.repeat(32)}`;
}

/** The name of the secret number `i`. */
export function seededName(i: number): string {
  return `SECRET_${String(i).padStart(6, '0')}`;
}

/**
 * Writes `count` personal secrets of `user` (who must exist), each with its own time, description
 * and sealed value, in transactions of BATCH secrets.
 */
export async function seedSecrets(
  db: SqlDriver,
  keyring: Keyring,
  user: string,
  count: number,
): Promise<void> {
  const start = Date.now() - count * 1000;
  for (let first = 0; first < count; first += BATCH) {
    const n = Math.min(BATCH, count - first);
    const ids: string[] = [];
    const names: string[] = [];
    const descriptions: string[] = [];
    const times: string[] = [];
    const nonces: string[] = [];
    const ciphertexts: string[] = [];
    for (let i = first; i < first + n; i++) {
      const id = randomUUID();
      const sealed = keyring.seal(seededValue(i), id);
      ids.push(id);
      names.push(seededName(i));
      descriptions.push(`benchmark secret number ${i}`);
      times.push(new Date(start + i * 1000).toISOString());
      nonces.push(sealed.nonce.toString('hex'));
      ciphertexts.push(sealed.ciphertext.toString('hex'));
    }
    await db.query(
      `WITH t AS (
         SELECT * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::text[],
           $7::text[]) WITH ORDINALITY AS t(id, name, description, at, nonce, ciphertext, ord)),
       s AS (
         INSERT INTO secrets (id, name, scope_kind, scope_id, encoding, type, description, version,
           created_at, updated_at, created_by)
         SELECT id, name, 'personal', $1, 'text', 'generic', description, 1, at, at, $1 FROM t
         RETURNING id),
       g AS (INSERT INTO grants (secret_id, principal, role, name)
         SELECT id, 'user:' || $1, 'owner', name FROM t),
       v AS (
         INSERT INTO secret_versions (secret_id, version, kind, encoding, author, at, key_id, nonce,
           ciphertext)
         SELECT id, 1, 'create', 'text', $1, at, $8, decode(nonce, 'hex'), decode(ciphertext, 'hex')
         FROM t),
       a AS (
         INSERT INTO audit (at, actor, action, secret_id, secret_name, version, client, ip)
         SELECT at, $1, 'create', id, name, 1, 'bench seed', '127.0.0.1' FROM t),
       c AS (
         INSERT INTO changes (secret_id, kind, audience)
         SELECT id, 'create', ARRAY['user:' || $1] FROM t ORDER BY ord)
       SELECT count(*) AS n FROM s`,
      [user, ids, names, descriptions, times, nonces, ciphertexts, keyring.currentId],
    );
  }
}
