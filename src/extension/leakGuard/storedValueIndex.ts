/**
 * The user's text values as scanner rules (`stored-value`), for the warnings, the quick fixes and
 * the save guard. Read from SecretStorage again only when a secret changed; kept in memory, like
 * the values the extension already serves, and never logged.
 */
import { storedValueRules, type SecretRule } from '../../core/secretRules';
import type { SecretRepository } from '../storage/secretRepository';

export class StoredValueIndex {
  private cache: { key: string; rules: SecretRule[] } | undefined;
  private loading: Promise<SecretRule[]> | undefined;

  constructor(private readonly repository: Pick<SecretRepository, 'list' | 'getValue'>) {}

  private key(): string {
    return this.repository
      .list()
      .map((s) => `${s.id}@${s.version}`)
      .join(',');
  }

  /** Rules for the current values. */
  async rules(): Promise<SecretRule[]> {
    const key = this.key();
    if (this.cache?.key === key) return this.cache.rules;
    this.loading ??= this.load(key).finally(() => (this.loading = undefined));
    return this.loading;
  }

  /** The rules read last (stale by at most one change), for callers that cannot wait. */
  current(): SecretRule[] {
    return this.cache?.rules ?? [];
  }

  private async load(key: string): Promise<SecretRule[]> {
    const values: { name: string; value: string }[] = [];
    for (const s of this.repository.list()) {
      if (s.encoding !== 'text') continue;
      try {
        values.push({ name: s.name, value: (await this.repository.getValue(s.id)).value });
      } catch {
        // A value missing from SecretStorage: the Secrets view reports it.
      }
    }
    const rules = storedValueRules(values);
    this.cache = { key, rules };
    return rules;
  }
}
