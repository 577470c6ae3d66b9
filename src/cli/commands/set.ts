/**
 * `notebook-secrets set NAME`: creates or updates a secret. The value changes only when a value
 * source is named: `--value`, `--from-file`, `-` (stdin), or a piped stdin when no other field
 * (`--description`, `--type`) was given; at a terminal it is asked for without echo. With only
 * fields, the value is left alone.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { bytesToBase64 } from '../../core/encoding';
import { formatBytes } from '../../core/errors';
import { MAX_FILE_BYTES, MAX_VALUE_BYTES } from '../../core/limits';
import { PERSONAL, SecretType, type Encoding } from '../../core/model';
import { sameScope, scopeKey } from '../../core/scope';
import { descriptionProblem } from '../../core/validation';
import { action, type CliIo } from '../client/io';
import {
  CliError,
  EXIT,
  parseScopeOption,
  printJson,
  sharedByOf,
  warn,
  type GlobalOptions,
} from '../client/session';
import { upsertSecret } from '../client/upsert';
import { jsonOption, scopeOption, serverOption, typeOption } from '../options';

export interface SetOptions extends GlobalOptions {
  value?: string;
  fromFile?: string;
  type?: string;
  description?: string;
  scope?: string;
}

type ValueSource = 'value' | 'file' | 'stdin' | 'piped' | 'prompt' | 'none';

/** Which source the value comes from; refuses a call that names more than one. */
function valueSource(
  options: SetOptions,
  dash: string | undefined,
  stdinIsTTY: boolean,
): ValueSource {
  if (dash !== undefined && dash !== '-') {
    throw new CliError(
      `Unexpected argument '${dash.length > 1 ? 'VALUE' : dash}': only '-' (read the value from stdin) may follow the name. A value on the command line goes with --value.`,
    );
  }
  const named: ValueSource[] = [];
  if (options.value !== undefined) named.push('value');
  if (options.fromFile !== undefined) named.push('file');
  if (dash === '-') named.push('stdin');
  if (named.length > 1) {
    throw new CliError('Name one value source: --value, --from-file or - (stdin), not several.');
  }
  if (named.length === 1) return named[0]!;
  if (options.description !== undefined || options.type !== undefined) return 'none';
  return stdinIsTTY ? 'prompt' : 'piped';
}

export function register(program: Command): void {
  program
    .command('set')
    .description(
      'Create or update a secret; the value changes only from a source you name (see set --help)',
    )
    .argument('<name>', 'secret name (letters, digits, underscores; not starting with a digit)')
    .argument('[-]', "'-' reads the value from stdin (even with --description or --type)")
    .option('--value <value>', 'the value (discouraged: visible in shell history and `ps`)')
    .option(
      '--from-file <file>',
      `store a file's bytes (base64, type file; at most ${formatBytes(MAX_FILE_BYTES)} of file)`,
    )
    .addOption(typeOption())
    .option('--description <text>', 'a description')
    .addOption(scopeOption('create'))
    .addOption(serverOption())
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
The value comes from --value, --from-file, - (stdin), a piped stdin when no other field is
given, or a hidden prompt at a terminal. With only --description or --type it is kept.

Examples:
  notebook-secrets set API_KEY                       # asks for the value (hidden)
  printf %s "$KEY" | notebook-secrets set API_KEY    # value from a pipe
  notebook-secrets set API_KEY - --description "prod key" < key.txt
  notebook-secrets set API_KEY --description "prod key"   # the value is kept
  notebook-secrets set TLS_KEY --from-file key.pem`,
    )
    .action(
      action((io, name: string, dash: string | undefined, options: SetOptions) =>
        run(name, dash, options, io),
      ),
    );
}

/** Creates or updates `name`; `dash` is the optional '-' after it (the value from stdin). */
export async function run(
  name: string,
  dash: string | undefined,
  options: SetOptions,
  io: CliIo,
): Promise<void> {
  const source = valueSource(options, dash, io.stdinIsTTY);
  const type = options.type === undefined ? undefined : SecretType.safeParse(options.type);
  if (type && !type.success) {
    throw new CliError(
      `The type '${options.type}' is not one of ${SecretType.options.join(', ')}.`,
    );
  }
  if (options.description !== undefined) {
    const problem = descriptionProblem(options.description);
    if (problem) throw new CliError(problem);
  }
  const scope = options.scope ? parseScopeOption(options.scope) : PERSONAL;
  const secretType = type?.data;
  if (source === 'none') {
    // Only fields: the value is not touched.
    const session = io.openSession(options);
    const listed = await session.api.listSecrets({ q: name });
    const sharedBy = await sharedByOf(session, listed);
    const current = listed.find(
      (s) => s.name === name && sameScope(s.scope, scope) && sharedBy(s) === undefined,
    );
    if (!current) {
      throw new CliError(
        `No secret named '${name}' in ${scopeKey(scope)} to update. To create it, give its value: at a terminal, with - (stdin), --from-file or --value.`,
        EXIT.notFound,
        'not_found',
      );
    }
    const secret = await session.api.updateSecret(current.id, current.version, {
      ...(secretType && { type: secretType }),
      ...(options.description !== undefined && { description: options.description }),
    });
    if (options.json) printJson(io, { created: false, value_changed: false, secret });
    else
      io.stdout(
        `Updated the ${[options.description !== undefined && 'description', secretType && 'type']
          .filter(Boolean)
          .join(
            ' and ',
          )} of '${secret.name}' in ${scopeKey(secret.scope)} (version ${secret.version}); the value is unchanged.\n`,
      );
    return;
  }
  let value: string;
  let encoding: Encoding = 'text';
  let storedType = secretType;
  if (source === 'file') {
    let bytes: Buffer;
    try {
      bytes = readFileSync(options.fromFile!);
    } catch (error) {
      throw new CliError(
        `Cannot read ${options.fromFile}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`,
      );
    }
    if (bytes.length > MAX_FILE_BYTES) {
      throw new CliError(
        `${options.fromFile} is ${formatBytes(bytes.length)}; a file secret can be at most ${formatBytes(MAX_FILE_BYTES)} of file (stored as base64, at most ${formatBytes(MAX_VALUE_BYTES)}).`,
        EXIT.usage,
        'value_too_large',
      );
    }
    value = bytesToBase64(bytes);
    encoding = 'base64';
    storedType ??= 'file';
  } else if (source === 'value') {
    warn(
      io,
      'a value given with --value may be kept in your shell history and seen in `ps`; prefer stdin or --from-file.',
    );
    value = options.value!;
  } else if (source === 'prompt' || (source === 'stdin' && io.stdinIsTTY)) {
    value = await io.promptHidden(`Value for ${name} (hidden): `);
    if (value === '') throw new CliError('No value typed; nothing was changed.');
  } else {
    // One trailing newline (from `echo` or the terminal) is not part of the value.
    value = (await io.readStdin()).replace(/\r?\n$/, '');
    if (source === 'piped' && value === '') {
      throw new CliError(
        `stdin was empty, so '${name}' was not changed. To store an empty value, name stdin explicitly: notebook-secrets set ${name} - < /dev/null`,
      );
    }
  }
  const session = io.openSession(options);
  const { secret, created } = await upsertSecret(session, {
    name,
    value,
    encoding,
    scope,
    ...(storedType && { type: storedType }),
    ...(options.description !== undefined && { description: options.description }),
  });
  if (options.json) printJson(io, { created, value_changed: true, secret });
  else
    io.stdout(
      `${created ? 'Created' : 'Updated'} '${secret.name}' in ${scopeKey(secret.scope)} (version ${secret.version}).\n`,
    );
}
