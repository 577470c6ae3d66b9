/** The server's keys: the start-up check that it holds every key its data needs, and sealing. */
import { KeyError } from '../crypto';
import type { StoreContext } from './context';

/**
 * Refuses to start (throws KeyError) when the database holds values under a key this server
 * lacks, or a key check value does not decrypt; records the current key otherwise.
 */
export async function checkKeys(ctx: StoreContext): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [7_428_311_903]);
    // Needed: every key that stored values use, and the key the last server started with (so a
    // second server with another key cannot start on a database that has no values yet).
    const checks = await tx.query<{ key_id: string; nonce: Buffer; ciphertext: Buffer }>(
      'SELECT key_id, nonce, ciphertext FROM key_checks ORDER BY created_at DESC, key_id',
    );
    const used = await tx.query<{ key_id: string }>(
      'SELECT DISTINCT key_id FROM secret_versions WHERE ciphertext IS NOT NULL',
    );
    const needed = new Set(used.map((u) => u.key_id));
    if (checks[0]) needed.add(checks[0].key_id);
    const missing = [...needed].filter((id) => !ctx.keyring.has(id));
    if (missing.length > 0) {
      throw new KeyError(
        `This database has values encrypted with key id ${missing.join(', ')}, which this server does not have ` +
          `(it has ${ctx.keyring.ids().join(', ')}). Start it with the key this database was created with ` +
          `(NOTEBOOK_SECRETS_KEY, or the key file of its data directory); keep old keys in NOTEBOOK_SECRETS_OLD_KEYS.`,
      );
    }
    for (const check of checks.filter((c) => ctx.keyring.has(c.key_id))) {
      const text = ctx.keyring.open(
        {
          keyId: check.key_id,
          nonce: Buffer.from(check.nonce),
          ciphertext: Buffer.from(check.ciphertext),
        },
        'key-check',
      );
      if (text !== 'notebook-secrets')
        throw new KeyError(`Key ${check.key_id} fails its check value.`);
    }
    // One stored value per key must decrypt too: damaged data is refused, not served empty.
    for (const { key_id } of used) {
      const [sample] = await tx.query<{ secret_id: string; nonce: Buffer; ciphertext: Buffer }>(
        `SELECT secret_id, nonce, ciphertext FROM secret_versions
         WHERE key_id = $1 AND ciphertext IS NOT NULL LIMIT 1`,
        [key_id],
      );
      if (sample) open(ctx, sample.secret_id, key_id, sample.nonce, sample.ciphertext);
    }
    const sealed = ctx.keyring.seal('notebook-secrets', 'key-check');
    await tx.query(
      `INSERT INTO key_checks (key_id, nonce, ciphertext) VALUES ($1, $2, $3)
       ON CONFLICT (key_id) DO UPDATE SET created_at = now()`,
      [sealed.keyId, sealed.nonce, sealed.ciphertext],
    );
  });
}

export function seal(ctx: StoreContext, secretId: string, value: string) {
  return ctx.keyring.seal(value, secretId);
}

export function open(
  ctx: StoreContext,
  secretId: string,
  keyId: string,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
): string {
  return ctx.keyring.open(
    { keyId, nonce: Buffer.from(nonce), ciphertext: Buffer.from(ciphertext) },
    secretId,
  );
}
