/**
 * Upgrades: migrations run forward only, and the built `serve` refuses to start on a database
 * that a newer version has migrated, rather than write to a schema it does not know.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../../src/server/db/pglite';
import { openPostgres } from '../../../src/server/db/postgres';
import type { SqlDriver } from '../../../src/server/db/driver';
import { MIGRATIONS } from '../../../src/server/db/schema';
import { BACKENDS } from './harness';
import { freePort, serve } from './serverProcess';

const ADMIN = 'upgrade-test-admin-token-0123456789';

describe.each(BACKENDS.map((make) => [make().name, make] as const))(
  'upgrading the server on %s',
  (_name, make) => {
    const backend = make();
    afterAll(() => backend.dispose());

    it('refuses to start on a schema newer than it knows, and starts again once it is not', async () => {
      const { dataDir, databaseUrl } = await backend.config();
      const env = { NOTEBOOK_SECRETS_ADMIN_TOKEN: ADMIN, DATABASE_URL: databaseUrl };
      const first = await serve({ dataDir, port: await freePort(), env });
      expect(first.stdout()).toContain('Listening on');
      await first.kill('SIGTERM');

      const newer = Math.max(...MIGRATIONS.map((m) => m.version)) + 1;
      const db = databaseUrl
        ? await openPostgres(databaseUrl)
        : await openPglite(join(dataDir, 'db'));
      try {
        await db.query(
          `INSERT INTO schema_migrations (version, name) VALUES ($1, 'from the future')`,
          [newer],
        );
        const before = await tablesOf(db);
        await db.close();

        const refused = await serve({ dataDir, port: await freePort(), env });
        expect(await refused.exited).toBe(1);
        expect(refused.stderr()).toMatch(
          new RegExp(
            `schema is version ${newer}, newer than this server knows .*Refusing to start`,
          ),
        );
        expect(refused.stdout()).not.toContain('Listening on');

        const reopened = databaseUrl
          ? await openPostgres(databaseUrl)
          : await openPglite(join(dataDir, 'db'));
        expect(await tablesOf(reopened)).toBe(before);
        await reopened.query('DELETE FROM schema_migrations WHERE version = $1', [newer]);
        await reopened.close();
      } finally {
        await db.close().catch(() => undefined);
      }
      const again = await serve({ dataDir, port: await freePort(), env });
      expect(again.stdout()).toContain('Listening on');
      await again.kill('SIGTERM');
    });
  },
);

async function tablesOf(db: SqlDriver): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`,
  );
  return row!.n;
}
