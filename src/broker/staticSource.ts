/** A fixed set of values (a test-secrets file or environment variables) as a SecretSource. */
import type { Encoding } from '../core/model';
import { NAME_PATTERN } from '../core/model';
import type { SecretSource } from './secretSource';

export interface StaticEntry {
  value: string;
  encoding: Encoding;
}

export class StaticSecretSource implements SecretSource {
  constructor(private readonly entries: ReadonlyMap<string, StaticEntry>) {}

  get names(): string[] {
    return [...this.entries.keys()].sort();
  }

  async resolve(name: string, opts: { scope?: string }): Promise<StaticEntry | undefined> {
    // Everything here is the user's own: it answers the personal scope (or no scope).
    if (opts.scope && opts.scope !== 'personal') return undefined;
    return this.entries.get(name);
  }

  /**
   * From JSON: `{"NAME": "value"}` or `{"NAME": {"value": "...", "encoding": "base64"}}`.
   * Errors name the key, never the value.
   */
  static fromJson(text: string): StaticSecretSource {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new Error('The secrets file is not valid JSON.');
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new Error('The secrets file must be a JSON object of NAME: value.');
    }
    const entries = new Map<string, StaticEntry>();
    for (const [name, raw] of Object.entries(data)) {
      checkName(name);
      if (typeof raw === 'string') entries.set(name, { value: raw, encoding: 'text' });
      else if (
        typeof raw === 'object' &&
        raw !== null &&
        typeof (raw as { value?: unknown }).value === 'string'
      ) {
        const encoding = (raw as { encoding?: unknown }).encoding ?? 'text';
        if (encoding !== 'text' && encoding !== 'base64') {
          throw new Error(`'${name}': encoding must be "text" or "base64".`);
        }
        entries.set(name, { value: (raw as { value: string }).value, encoding });
      } else {
        throw new Error(
          `'${name}' must be a string or {"value": "...", "encoding": "text"|"base64"}.`,
        );
      }
    }
    return new StaticSecretSource(entries);
  }

  /** From `NAME=value` pairs (e.g. a parsed .env file). */
  static fromPairs(pairs: Iterable<[string, string]>): StaticSecretSource {
    const entries = new Map<string, StaticEntry>();
    for (const [name, value] of pairs) {
      checkName(name);
      entries.set(name, { value, encoding: 'text' });
    }
    return new StaticSecretSource(entries);
  }

  /** Environment variables `PREFIX` + NAME become secret NAME. */
  static fromEnv(prefix: string, env: NodeJS.ProcessEnv = process.env): StaticSecretSource {
    if (!prefix) throw new Error('--from-env needs a prefix, e.g. NBS_ for NBS_OPENAI_API_KEY.');
    const pairs: [string, string][] = [];
    for (const [key, value] of Object.entries(env)) {
      if (!key.startsWith(prefix) || value === undefined) continue;
      const name = key.slice(prefix.length);
      if (NAME_PATTERN.test(name)) pairs.push([name, value]);
    }
    return StaticSecretSource.fromPairs(pairs);
  }
}

function checkName(name: string): void {
  if (!NAME_PATTERN.test(name) || name.length > 128) {
    throw new Error(
      `'${name.slice(0, 130)}' is not a valid secret name (letters, digits, underscores; not starting with a digit).`,
    );
  }
}
