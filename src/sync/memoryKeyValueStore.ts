import type { KeyValueSecretStore } from '../core/keyValueStore';

/** A KeyValueSecretStore in memory: for tests, benchmarks and short-lived CLI runs. */
export class MemoryKeyValueStore implements KeyValueSecretStore {
  readonly data = new Map<string, string>();

  get(key: string): Promise<string | undefined> {
    return Promise.resolve(this.data.get(key));
  }

  store(key: string, value: string): Promise<void> {
    this.data.set(key, value);
    return Promise.resolve();
  }

  delete(key: string): Promise<void> {
    this.data.delete(key);
    return Promise.resolve();
  }

  keys(): Promise<string[]> {
    return Promise.resolve([...this.data.keys()]);
  }
}
