/**
 * `notebook-secrets local set|get|list|delete|history`: secrets on this machine without a team server.
 * Values live in the OS keychain, names and metadata in a value-free index beside the CLI's
 * config (see ../client/localKeychainStore.ts); `attach` serves them when not signed in.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { bytesToBase64 } from '../../core/encoding';
import { SecretType, type Encoding } from '../../core/model';
import { configDir } from '../client/credentials';
import { writePrivateFile } from '../client/privateFile';
import { wasRoutedToLocal } from '../client/localRoute';
import {
  KeychainUnavailableError,
  LocalKeychainStore,
  osKeychain,
  probeKeychain,
} from '../client/localKeychainStore';
import { action, type CliIo } from '../client/io';
import { CliError, EXIT, formatTable, printJson, warn } from '../client/session';
import { jsonOption, scopeOption, searchOption, typeOption } from '../options';

/** Local secrets are the personal scope; any other needs a team server. */
function checkScope(scope: string | undefined): void {
  if (scope === undefined || scope === 'personal') return;
  throw new CliError(
    `Not signed in: local secrets are personal, and the scope '${scope}' needs a team server. Run \`notebook-secrets login --server URL\` first.`,
    EXIT.unauthorized,
    'unauthorized',
  );
}

export interface LocalOptions {
  json?: boolean;
  scope?: string;
  value?: string;
  yes?: boolean;
  search?: string;
  fromFile?: string;
  type?: string;
  description?: string;
  output?: string;
}

function openStore(io: CliIo): LocalKeychainStore {
  try {
    const keychain = osKeychain();
    // Fails now, with what to install, not at the first use, when there is no keychain.
    probeKeychain(keychain);
    return new LocalKeychainStore(configDir(io.env), keychain);
  } catch (error) {
    throw asCliError(error);
  }
}

function asCliError(error: unknown): unknown {
  if (!(error instanceof KeychainUnavailableError)) return error;
  // Reached by `set/get/list/delete/history` without a sign-in: not being signed in comes first.
  if (wasRoutedToLocal()) {
    return new CliError(
      `Not signed in to a team server (run \`notebook-secrets login --server URL\`), and ${error.message.replace(/^No/, 'no')}`,
      EXIT.unauthorized,
      'unauthorized',
    );
  }
  return new CliError(error.message, EXIT.unreachable, 'unavailable');
}

/** Runs `work`, turning "no keychain" into exit 7 with its message. */
function guarded<A extends unknown[]>(work: (io: CliIo, ...args: A) => Promise<void>) {
  return action(async (io: CliIo, ...args: A) => {
    try {
      await work(io, ...args);
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
    .description(
      'Create or update a local secret; the value comes from stdin (typed hidden at a terminal) unless --from-file or --value',
    )
    .argument('<name>', 'secret name (letters, digits, underscores; not starting with a digit)')
    .option('--value <value>', 'the value (discouraged: visible in shell history and `ps`)')
    .option('--from-file <file>', "store a file's bytes (base64, type file)")
    .addOption(typeOption())
    .option('--description <text>', 'a description')
    .addOption(scopeOption('local'))
    .addOption(jsonOption())
    .action(guarded((io, name: string, options: LocalOptions) => runSet(name, options, io)));

  local
    .command('get')
    .description('Print the value of a local secret')
    .argument('<name>', 'secret name')
    .option('-o, --output <file>', 'write the value to a file (0600); file secrets are decoded')
    .addOption(scopeOption('local'))
    .addOption(jsonOption('print metadata and value as JSON'))
    .action(guarded((io, name: string, options: LocalOptions) => runGet(name, options, io)));

  local
    .command('list')
    .alias('ls')
    .description('List the local secrets (names and metadata, never values)')
    .addOption(scopeOption('local'))
    .addOption(typeOption())
    .addOption(searchOption())
    .addOption(jsonOption())
    .action(guarded((io, options: LocalOptions) => runList(options, io)));

  local
    .command('delete')
    .alias('rm')
    .description(
      'Delete a local secret: its value from the OS keychain and its name from the index',
    )
    .argument('<name>', 'secret name')
    .addOption(scopeOption('local'))
    .option(
      '-y, --yes',
      'accepted for the same command line as `delete` (local delete does not ask)',
    )
    .addOption(jsonOption())
    .action(guarded((io, name: string, options: LocalOptions) => runDelete(name, options, io)));

  local
    .command('history')
    .description(
      'Show the versions of a local secret: number, change, time and what changed; never values (only the current value is kept)',
    )
    .argument('<name>', 'secret name')
    .addOption(scopeOption('local'))
    .addOption(jsonOption())
    .action(guarded((io, name: string, options: LocalOptions) => runHistory(name, options, io)));
}

/** `local set NAME`: the value from --value, --from-file, stdin, or typed hidden at a terminal. */
export async function runSet(name: string, options: LocalOptions, io: CliIo): Promise<void> {
  checkScope(options.scope);
  if (options.value !== undefined && options.fromFile !== undefined) {
    throw new CliError('Pass either --value or --from-file, not both.');
  }
  const type = options.type === undefined ? undefined : SecretType.safeParse(options.type);
  if (type && !type.success) {
    throw new CliError(
      `The type '${options.type}' is not one of ${SecretType.options.join(', ')}.`,
    );
  }
  const store = openStore(io);
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
  } else if (options.value !== undefined) {
    warn(
      io,
      'a value given with --value may be kept in your shell history and seen in `ps`; prefer stdin or --from-file.',
    );
    value = options.value;
  } else {
    // At a terminal the value is typed without echo; piped, one trailing newline is dropped.
    value = io.stdinIsTTY
      ? await io.promptHidden(`Value for ${name} (hidden): `)
      : (await io.readStdin()).replace(/\r?\n$/, '');
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
  if (options.json) printJson(io, { created: result.created, secret: result.entry });
  else
    io.stdout(
      `${result.created ? 'Created' : 'Updated'} local '${name}' (version ${result.entry.version}); the value is in the OS keychain.\n`,
    );
}

/** `local get NAME`: the value, raw on a pipe, with a newline at a terminal, or with --json. */
export async function runGet(name: string, options: LocalOptions, io: CliIo): Promise<void> {
  checkScope(options.scope);
  const found = openStore(io).get(name);
  if (!found) {
    throw new CliError(`No local secret named '${name}'.`, EXIT.notFound, 'not_found');
  }
  const { entry, value } = found;
  if (options.output) {
    const bytes =
      entry.encoding === 'base64' ? Buffer.from(value, 'base64') : Buffer.from(value, 'utf8');
    writePrivateFile(options.output, bytes);
    io.stderr(`Wrote '${name}' (${bytes.length} bytes) to ${options.output}.\n`);
    return;
  }
  if (options.json) {
    printJson(io, { ...entry, value });
    return;
  }
  io.stdout(io.stdoutIsTTY ? `${value}\n` : value);
}

/** `local list`: names and metadata, never values. */
export async function runList(options: LocalOptions, io: CliIo): Promise<void> {
  checkScope(options.scope);
  const search = options.search?.toLowerCase();
  const entries = openStore(io)
    .list()
    .filter((e) => options.type === undefined || e.type === options.type)
    .filter(
      (e) =>
        search === undefined ||
        e.name.toLowerCase().includes(search) ||
        (e.description ?? '').toLowerCase().includes(search),
    );
  if (options.json) {
    printJson(io, entries);
    return;
  }
  if (entries.length === 0) {
    io.stdout('No local secrets.\n');
    return;
  }
  const rows = [['NAME', 'TYPE', 'VERSION', 'UPDATED', 'DESCRIPTION']];
  for (const e of entries) {
    rows.push([e.name, e.type, String(e.version), e.updated_at, e.description ?? '']);
  }
  io.stdout(`${formatTable(rows)}\n`);
}

/** `local delete NAME`: asks at a terminal unless --yes. */
export async function runDelete(name: string, options: LocalOptions, io: CliIo): Promise<void> {
  checkScope(options.scope);
  const store = openStore(io);
  if (!store.entry(name) && !options.yes) {
    throw new CliError(`No local secret named '${name}'.`, EXIT.notFound, 'not_found');
  }
  if (!options.yes && io.stdinIsTTY) {
    const answer = await io.ask(`Delete local '${name}' from the OS keychain? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) {
      io.stderr('Nothing deleted.\n');
      return;
    }
  }
  if (!store.delete(name)) {
    throw new CliError(`No local secret named '${name}'.`, EXIT.notFound, 'not_found');
  }
  if (options.json) printJson(io, { deleted: name });
  else io.stdout(`Deleted local '${name}'.\n`);
}

/** `local history NAME`: the version records, never values. */
export async function runHistory(name: string, options: LocalOptions, io: CliIo): Promise<void> {
  checkScope(options.scope);
  const versions = openStore(io).history(name);
  if (!versions) {
    throw new CliError(`No local secret named '${name}'.`, EXIT.notFound, 'not_found');
  }
  if (options.json) {
    printJson(io, { name, scope: 'personal', local: true, versions });
    return;
  }
  const rows = [['VERSION', 'CHANGE', 'AT', 'CHANGED']];
  for (const v of versions)
    rows.push([String(v.version), v.kind, v.at, v.changed.join(', ') || '-']);
  io.stdout(
    `${name} (local)\n${formatTable(rows)}\n` +
      'Only the current value is kept in the OS keychain: earlier versions cannot be restored.\n',
  );
}
