/** `notebook-secrets get NAME`: the one command that prints a value; one request to the server. */
import type { Command } from 'commander';
import { scopeKey } from '../../core/scope';
import { ApiError } from '../../sync/errors';
import { writePrivateFile } from '../client/privateFile';
import { action, type CliIo } from '../client/io';
import { CliError, EXIT, parseScopeOption, printJson, type GlobalOptions } from '../client/session';
import { jsonOption, projectOption, scopeOption, serverOption } from '../options';

export interface GetOptions extends GlobalOptions {
  scope?: string;
  output?: string;
}

export function register(program: Command): void {
  program
    .command('get')
    .description('Print the value of a secret (by precedence: personal > active project > team)')
    .argument('<name>', 'secret name')
    .addOption(scopeOption('read'))
    .addOption(projectOption())
    .option(
      '-o, --output <file>',
      'write the value to a new 0600 file (replacing one there; never through a link); file secrets are decoded',
    )
    .addOption(serverOption())
    .addOption(
      jsonOption(
        'print the value with its metadata (id, scope, type, encoding, version, description, updated)',
      ),
    )
    .action(action((io, name: string, options: GetOptions) => run(name, options, io)));
}

/** Prints the value of `name`: raw on a pipe, with a newline at a terminal, or with --json. */
export async function run(name: string, options: GetOptions, io: CliIo): Promise<void> {
  const scope = options.scope === undefined ? undefined : parseScopeOption(options.scope);
  const session = io.openSession(options);
  let value;
  try {
    // One request: the server picks by precedence and answers with the value.
    value = await session.api.resolve(name, {
      ...(session.project && { project: session.project }),
      ...(scope && { scope: scopeKey(scope) }),
    });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      throw new CliError(
        scope
          ? `No secret named '${name}' in scope ${scopeKey(scope)}.`
          : `No secret named '${name}' is available.`,
        EXIT.notFound,
        'not_found',
      );
    }
    throw error;
  }
  if (options.output) {
    const bytes =
      value.encoding === 'base64'
        ? Buffer.from(value.value, 'base64')
        : Buffer.from(value.value, 'utf8');
    writePrivateFile(options.output, bytes);
    io.stderr(`Wrote '${name}' (${bytes.length} bytes) to ${options.output}.\n`);
    return;
  }
  if (options.json) {
    const meta = await session.api.getSecret(value.id);
    printJson(io, {
      id: value.id,
      name: value.name,
      scope: scopeKey(value.scope),
      type: value.type,
      encoding: value.encoding,
      version: value.version,
      description: meta.description,
      role: meta.role,
      created_at: meta.created_at,
      updated_at: meta.updated_at,
      value: value.value,
    });
    return;
  }
  io.stdout(io.stdoutIsTTY ? `${value.value}\n` : value.value);
}
