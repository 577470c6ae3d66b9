/**
 * `notebook-secrets local set|get|list|delete`: secrets on this machine without a team server.
 * Values live in the OS keychain, names and metadata in a value-free index beside the CLI's
 * config (see ../client/localKeychainStore.ts); `attach` serves them when not signed in.
 */
import type { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { bytesToBase64 } from '../../core/encoding';
import { SecretType, type Encoding } from '../../core/model';
import { configDir } from '../client/credentials';
import {
  KeychainUnavailableError,
  LocalKeychainStore,
  osKeychain,
  probeKeychain,
} from '../client/localKeychainStore';
import { action, CliError, EXIT, formatTable, printJson, readStdin } from '../client/session';

interface LocalOptions {
  json?: boolean;
  fromFile?: string;
  type?: string;
  description?: string;
  output?: string;
}

function openStore(): LocalKeychainStore {
  try {
    const keychain = osKeychain();
    // Fails now, with what to install, not at the first use, when there is no keychain.
    probeKeychain(keychain);
    return new LocalKeychainStore(configDir(), keychain);
  } catch (error) {
    throw asCliError(error);
  }
}

function asCliError(error: unknown): unknown {
  return error instanceof KeychainUnavailableError
    ? new CliError(error.message, EXIT.unreachable, 'unavailable')
    : error;
}

/** Runs `work`, turning "no keychain" into exit 7 with its message. */
function guarded<A extends unknown[]>(work: (...args: A) => Promise<void>) {
  return action(async (...args: A) => {
    try {
      await work(...args);
    } catch (error) {
      throw asCliError(error);
    }
  });
}

export function register(program: Command): void {
  const local = program
    .command('local')
    .description(
      'Secrets on this machine only, without a team server: values in the OS keychain, never in a file',
    );

  local
    .command('set')
    .description('Create or update a local secret; the value comes from stdin unless --from-file')
    .argument('<name>', 'secret name (letters, digits, underscores; not starting with a digit)')
    .option('--from-file <file>', "store a file's bytes (base64, type file)")
    .option('--type <type>', `one of ${SecretType.options.join(', ')}`)
    .option('--description <text>', 'a description')
    .option('--json', 'print the result as JSON')
    .action(
      guarded(async (name: string, options: LocalOptions) => {
        const type = options.type === undefined ? undefined : SecretType.safeParse(options.type);
        if (type && !type.success) {
          throw new CliError(
            `The type '${options.type}' is not one of ${SecretType.options.join(', ')}.`,
          );
        }
        const store = openStore();
        let value: string;
        let encoding: Encoding = 'text';
        if (options.fromFile !== undefined) {
          let bytes: Buffer;
          try {
            bytes = readFileSync(options.fromFile);
          } catch (error) {
            throw new CliError(
              `Cannot read ${options.fromFile}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`,
            );
          }
          value = bytesToBase64(bytes);
          encoding = 'base64';
        } else {
          if (process.stdin.isTTY) process.stderr.write(`Value for ${name} (end with Ctrl-D): `);
          // One trailing newline (from `echo` or the terminal) is not part of the value.
          value = (await readStdin()).replace(/\r?\n$/, '');
        }
        let result;
        try {
          result = store.set(name, {
            value,
            encoding,
            ...(type?.data && { type: type.data }),
            ...(options.description !== undefined && { description: options.description }),
          });
        } catch (error) {
          if (error instanceof KeychainUnavailableError) throw error;
          throw new CliError((error as Error).message);
        }
        if (options.json) printJson({ created: result.created, secret: result.entry });
        else
          process.stdout.write(
            `${result.created ? 'Created' : 'Updated'} local '${name}' (version ${result.entry.version}); the value is in the OS keychain.\n`,
          );
      }),
    );

  local
    .command('get')
    .description('Print the value of a local secret')
    .argument('<name>', 'secret name')
    .option('-o, --output <file>', 'write the value to a file (0600); file secrets are decoded')
    .option('--json', 'print metadata and value as JSON')
    .action(
      guarded(async (name: string, options: LocalOptions) => {
        const found = openStore().get(name);
        if (!found) {
          throw new CliError(`No local secret named '${name}'.`, EXIT.notFound, 'not_found');
        }
        const { entry, value } = found;
        if (options.output) {
          const bytes =
            entry.encoding === 'base64' ? Buffer.from(value, 'base64') : Buffer.from(value, 'utf8');
          writeFileSync(options.output, bytes, { mode: 0o600 });
          process.stderr.write(`Wrote '${name}' (${bytes.length} bytes) to ${options.output}.\n`);
          return;
        }
        if (options.json) {
          printJson({ ...entry, value });
          return;
        }
        process.stdout.write(process.stdout.isTTY ? `${value}\n` : value);
      }),
    );

  local
    .command('list')
    .alias('ls')
    .description('List the local secrets (names and metadata, never values)')
    .option('--json', 'print the result as JSON')
    .action(
      guarded(async (options: LocalOptions) => {
        const entries = openStore().list();
        if (options.json) {
          printJson(entries);
          return;
        }
        if (entries.length === 0) {
          process.stdout.write('No local secrets.\n');
          return;
        }
        const rows = [['NAME', 'TYPE', 'VERSION', 'UPDATED', 'DESCRIPTION']];
        for (const e of entries) {
          rows.push([e.name, e.type, String(e.version), e.updated_at, e.description ?? '']);
        }
        process.stdout.write(`${formatTable(rows)}\n`);
      }),
    );

  local
    .command('delete')
    .alias('rm')
    .description(
      'Delete a local secret: its value from the OS keychain and its name from the index',
    )
    .argument('<name>', 'secret name')
    .option('--json', 'print the result as JSON')
    .action(
      guarded(async (name: string, options: LocalOptions) => {
        if (!openStore().delete(name)) {
          throw new CliError(`No local secret named '${name}'.`, EXIT.notFound, 'not_found');
        }
        if (options.json) printJson({ deleted: name });
        else process.stdout.write(`Deleted local '${name}'.\n`);
      }),
    );
}
