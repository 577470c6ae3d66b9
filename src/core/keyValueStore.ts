/**
 * The shape of VS Code's SecretStorage, so code outside the extension (sync client, CLI, broker)
 * can hold values in whichever secure store its host offers: SecretStorage in VS Code, the OS
 * keyring or a 0600 file in the CLI, a Map in unit tests.
 */
export interface KeyValueSecretStore {
  get(key: string): PromiseLike<string | undefined>;
  store(key: string, value: string): PromiseLike<void>;
  delete(key: string): PromiseLike<void>;
  keys(): PromiseLike<string[]>;
}
