// Types for scripts/secretService.mjs, which the tests (TypeScript) import.
export const HAS_KEYRING: boolean;

export interface SecretService {
  /** DBUS_SESSION_BUS_ADDRESS of the session the keyring runs in. */
  address: string;
  stop(): void;
}

export function startSecretService(
  dataHome: string,
  env: NodeJS.ProcessEnv,
  hungMs?: number,
): Promise<SecretService>;
