/**
 * Where the CLI keeps its sign-in: the server URL and user in `config.json`, the token in the OS
 * keyring (through @napi-rs/keyring) when one is available, else in `credentials.json` (0600) next
 * to it. The token is never written to config.json.
 *
 * Directory: $NOTEBOOK_SECRETS_CONFIG_DIR, else $XDG_CONFIG_HOME/notebook-secrets, else
 * ~/.config/notebook-secrets. NOTEBOOK_SECRETS_KEYRING=0 skips the keyring (tests, CI).
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as z from '../../core/zod';
import { lazySchema } from '../../core/lazySchema';
import { writePrivateFile } from './privateFile';

const KEYRING_SERVICE = 'notebook-secrets';

export const CliConfig = lazySchema(() =>
  z.object({
    server: z.optional(z.string()),
    user: z.optional(z.string()),
    /** The active project: project secrets of other projects do not apply. */
    project: z.optional(z.string()),
    /** Signed in with `login --insecure-http`: plain HTTP to `server`, another machine. */
    insecureHttp: z.optional(z.boolean()),
  }),
);
export type CliConfig = z.infer<typeof CliConfig>;

const CredentialsFile = lazySchema(() => z.object({ tokens: z.record(z.string(), z.string()) }));

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NOTEBOOK_SECRETS_CONFIG_DIR) return env.NOTEBOOK_SECRETS_CONFIG_DIR;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'notebook-secrets');
}

function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

function readJson<T>(path: string, schema: z.ZodMiniType<T>, what: string): T | undefined {
  if (!existsSync(path)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new Error(`${what} at ${path} is not valid JSON; fix or delete it.`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    throw new Error(`${what} at ${path} has an unexpected shape; fix or delete it.`);
  return parsed.data;
}

export function loadConfig(dir = configDir()): CliConfig {
  return readJson(join(dir, 'config.json'), CliConfig, 'The CLI config') ?? {};
}

export function saveConfig(config: CliConfig, dir = configDir()): void {
  ensureDir(dir);
  writePrivateFile(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

interface KeyringEntry {
  getPassword(): string | null | undefined;
  setPassword(password: string): void;
  deletePassword(): boolean | void;
}

type EntryConstructor = new (service: string, account: string) => KeyringEntry;

function keyringEntry(account: string, env: NodeJS.ProcessEnv): KeyringEntry | undefined {
  if (env.NOTEBOOK_SECRETS_KEYRING === '0') return undefined;
  try {
    const require = createRequire(__filename);
    const { Entry } = require('@napi-rs/keyring') as { Entry: EntryConstructor };
    return new Entry(KEYRING_SERVICE, account);
  } catch {
    return undefined;
  }
}

/** Where `login` keeps a server's refresh token (beside its access token), as a server key. */
export function refreshAccount(server: string): string {
  return `${server} refresh`;
}

/** Where a token ended up, for the login message. */
export type TokenLocation = 'keyring' | 'file';

export class TokenStore {
  constructor(
    private readonly dir = configDir(),
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  private get file(): string {
    return join(this.dir, 'credentials.json');
  }

  get(server: string): string | undefined {
    try {
      const fromKeyring = keyringEntry(server, this.env)?.getPassword();
      if (fromKeyring) return fromKeyring;
    } catch {
      // No usable keyring (headless Linux without a secret service): use the file.
    }
    return readJson(this.file, CredentialsFile, 'The credentials file')?.tokens[server];
  }

  set(server: string, token: string): TokenLocation {
    try {
      const entry = keyringEntry(server, this.env);
      if (entry) {
        entry.setPassword(token);
        if (entry.getPassword() === token) {
          this.removeFromFile(server);
          return 'keyring';
        }
      }
    } catch {
      // Fall through to the 0600 file.
    }
    ensureDir(this.dir);
    const current = readJson(this.file, CredentialsFile, 'The credentials file') ?? { tokens: {} };
    current.tokens[server] = token;
    writePrivateFile(this.file, `${JSON.stringify(current, null, 2)}\n`);
    return 'file';
  }

  delete(server: string): void {
    try {
      keyringEntry(server, this.env)?.deletePassword();
    } catch {
      // Nothing stored there.
    }
    this.removeFromFile(server);
  }

  private removeFromFile(server: string): void {
    const current = readJson(this.file, CredentialsFile, 'The credentials file');
    if (!current || !(server in current.tokens)) return;
    delete current.tokens[server];
    if (Object.keys(current.tokens).length === 0) rmSync(this.file, { force: true });
    else writePrivateFile(this.file, `${JSON.stringify(current, null, 2)}\n`);
  }
}
