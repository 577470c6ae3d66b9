/** `notebook-secrets set NAME`: creates or updates a secret; the value from stdin, a file or --value. */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { bytesToBase64 } from '../../core/encoding';
import { PERSONAL, SecretType, type Encoding } from '../../core/model';
import { scopeKey } from '../../core/scope';
import {
  action,
  CliError,
  openSession,
  parseScopeOption,
  printJson,
  readStdin,
  warn,
  type GlobalOptions,
} from '../client/session';
import { upsertSecret } from '../client/upsert';

interface SetOptions extends GlobalOptions {
  value?: string;
  fromFile?: string;
  type?: string;
  description?: string;
  scope?: string;
}

export function register(program: Command): void {
  program
    .command('set')
    .description(
      'Create or update a secret. The value comes from stdin unless --from-file or --value',
    )
    .argument('<name>', 'secret name (letters, digits, underscores; not starting with a digit)')
    .option('--value <value>', 'the value (discouraged: visible in shell history and `ps`)')
    .option('--from-file <file>', "store a file's bytes (base64, type file)")
    .option('--type <type>', `one of ${SecretType.options.join(', ')}`)
    .option('--description <text>', 'a description')
    .option('--scope <scope>', 'personal (default), project:ID or team:ID')
    .option('--server <url>', 'server URL (default: the saved one)')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (name: string, options: SetOptions) => {
        if (options.value !== undefined && options.fromFile !== undefined) {
          throw new CliError('Pass either --value or --from-file, not both.');
        }
        const type = options.type === undefined ? undefined : SecretType.safeParse(options.type);
        if (type && !type.success) {
          throw new CliError(
            `The type '${options.type}' is not one of ${SecretType.options.join(', ')}.`,
          );
        }
        const scope = options.scope ? parseScopeOption(options.scope) : PERSONAL;
        let value: string;
        let encoding: Encoding = 'text';
        let secretType = type?.data;
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
          secretType ??= 'file';
        } else if (options.value !== undefined) {
          warn(
            'a value given with --value may be kept in your shell history and seen in `ps`; prefer stdin or --from-file.',
          );
          value = options.value;
        } else {
          if (process.stdin.isTTY) process.stderr.write(`Value for ${name} (end with Ctrl-D): `);
          // One trailing newline (from `echo` or the terminal) is not part of the value.
          value = (await readStdin()).replace(/\r?\n$/, '');
        }
        const session = openSession(options);
        const { secret, created } = await upsertSecret(session, {
          name,
          value,
          encoding,
          scope,
          ...(secretType && { type: secretType }),
          ...(options.description !== undefined && { description: options.description }),
        });
        if (options.json) printJson({ created, secret });
        else
          process.stdout.write(
            `${created ? 'Created' : 'Updated'} '${secret.name}' in ${scopeKey(secret.scope)} (version ${secret.version}).\n`,
          );
      }),
    );
}
