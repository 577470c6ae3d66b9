/**
 * The storage backends the sync suite runs on: PGlite, and PostgreSQL through the server suite's
 * throwaway-cluster helper (Debian `postgresql` in a temp dir), so the repository has one way of
 * starting PostgreSQL. Without PostgreSQL installed, that helper fails with a clear message.
 */
import { startPostgres } from '../server/postgres';

export interface Backend {
  name: string;
  /** Starts the database and gives its URL (PostgreSQL only). */
  start?: () => Promise<{ databaseUrl: string; stop(): Promise<void> }>;
}

export function backends(): Backend[] {
  return [
    { name: 'PGlite' },
    {
      name: 'PostgreSQL',
      start: async () => {
        const cluster = await startPostgres();
        return { databaseUrl: await cluster.createDatabase(), stop: () => cluster.stop() };
      },
    },
  ];
}
