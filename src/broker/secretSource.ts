/** Where the broker gets values from. The extension adapts its local store to this. */
import type { Encoding, ScopeKind } from '../core/model';

export interface SecretSource {
  /** The value `get_secret(name)` means (by precedence unless `scope` names one), or undefined. */
  resolve(
    name: string,
    opts: { scope?: ScopeKind },
  ): Promise<{ value: string; encoding: Encoding } | undefined>;
}

/** The log shape the broker writes to (VS Code's LogOutputChannel fits). Never given values. */
export interface BrokerLog {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * A source that cannot answer right now (a team server out of reach, no OS keychain) throws this:
 * its message reaches the kernel as SecretsUnavailableError. Names a secret at most, never a value.
 */
export class SourceUnavailableError extends Error {
  override readonly name = 'SourceUnavailableError';
}

export const silentLog: BrokerLog = { debug() {}, info() {}, warn() {}, error() {} };
