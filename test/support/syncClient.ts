/**
 * A sync client as the extension builds one, for tests against the fake server (unit) or a real
 * one (integration): a local store on an in-memory SecretStorage, an API client over `fetch`, and
 * a sync engine whose log lines are kept.
 */
import { LocalSecretStore } from '../../src/core/localStore';
import { ApiClient } from '../../src/sync/client';
import { SyncEngine } from '../../src/sync/engine';
import { MemoryKeyValueStore } from '../../src/sync/memoryKeyValueStore';

export interface SyncClient {
  kv: MemoryKeyValueStore;
  store: LocalSecretStore;
  api: ApiClient;
  engine: SyncEngine;
  /** The engine's log, as `<level> <message>`. */
  logs: string[];
}

export async function syncClient(options: {
  user: string;
  baseUrl: string;
  token: string;
  fetch: typeof fetch;
  kv?: MemoryKeyValueStore;
  timeoutMs?: number;
  pageLimit?: number;
  maxPages?: number;
}): Promise<SyncClient> {
  const kv = options.kv ?? new MemoryKeyValueStore();
  const store = new LocalSecretStore(kv, { user: options.user });
  await store.load();
  const api = new ApiClient({
    baseUrl: options.baseUrl,
    token: options.token,
    fetch: options.fetch,
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
  });
  const logs: string[] = [];
  const engine = new SyncEngine({
    client: api,
    store,
    kv,
    log: (l, m) => logs.push(`${l} ${m}`),
    ...(options.pageLimit !== undefined && { pageLimit: options.pageLimit }),
    ...(options.maxPages !== undefined && { maxPages: options.maxPages }),
  });
  await engine.init();
  return { kv, store, api, engine, logs };
}
