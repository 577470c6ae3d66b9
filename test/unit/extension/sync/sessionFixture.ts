/** Signed-out SyncSessions for the sync UI's unit tests. */
import { LocalSecretStore } from '../../../../src/core/localStore';
import { SyncSession, type SessionDeps } from '../../../../src/extension/sync/syncSession';
import { MemoryKeyValueStore } from '../../../../src/sync/memoryKeyValueStore';
import type { FakeServer } from '../../sync/fakeServer';

/** A session on `secrets` and `store`, talking to `server`, that syncs only when asked. */
export function sessionWith(
  server: FakeServer,
  log: SessionDeps['log'],
  secrets: MemoryKeyValueStore,
  store: LocalSecretStore,
) {
  return new SyncSession({ secrets, store, log, intervalMinutes: () => 0, fetch: server.fetch });
}

/** A session of `user` on a fresh SecretStorage and local store, talking to `server`. */
export async function sessionOn(server: FakeServer, log: SessionDeps['log'], user = 'bob') {
  const secrets = new MemoryKeyValueStore();
  const store = new LocalSecretStore(secrets, { user });
  await store.load();
  return { secrets, store, session: sessionWith(server, log, secrets, store) };
}
