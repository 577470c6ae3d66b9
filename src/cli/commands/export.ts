/** `notebook-secrets export`: writes values (asked for explicitly) as dotenv or JSON. */
import type { Command } from 'commander';
import { scopeKey } from '../../core/scope';
import { formatDotenv, unportableDotenv } from '../client/dotenv';
import { writePrivateFile } from '../client/privateFile';
import { resolveAll } from '../client/resolveAll';
import { action, type CliIo } from '../client/io';
import { CliError, type GlobalOptions } from '../client/session';
import { projectOption, scopeOption, serverOption } from '../options';

export interface ExportOptions extends GlobalOptions {
  format: string;
  scope?: string;
  only?: string;
  output?: string;
}

export function register(program: Command): void {
  program
    .command('export')
    .description('Print (or write) secrets with their values as dotenv or JSON, by precedence')
    .option('--format <format>', 'dotenv or json', 'dotenv')
    .addOption(scopeOption('filter'))
    .option('--only <names>', 'comma-separated names')
    .addOption(projectOption())
    .option(
      '-o, --output <file>',
      'write to a new 0600 file instead of stdout (replacing one there; never through a link)',
    )
    .addOption(serverOption())
    .addHelpText(
      'after',
      `
dotenv quoting, read back the same by sh/bash \`source\`, python-dotenv and Node's dotenv:
  NAME=value        letters, digits and _ . / : @ % + , = ^ - (docker --env-file reads these too)
  NAME='any value'  anything else without a single quote, carriage return or \\\\ / trailing \\
  NAME="it's"       a single quote, with no " $ \` \\ or line break
Values that fit none of these, or hold \${NAME} (python-dotenv expands it in any quotes), stop
the export before anything is written; use --format json for them.`,
    )
    .action(action((io, options: ExportOptions) => run(options, io)));
}

/** Prints (or writes to --output) the secrets with their values, as dotenv or JSON. */
export async function run(options: ExportOptions, io: CliIo): Promise<void> {
  if (options.format !== 'dotenv' && options.format !== 'json') {
    throw new CliError(`The format '${options.format}' is not dotenv or json.`);
  }
  const session = io.openSession(options);
  const only = options.only
    ?.split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const secrets = await resolveAll(session, only, options.scope);
  const unportable = options.format === 'dotenv' ? unportableDotenv(secrets) : [];
  if (unportable.length > 0) {
    throw new CliError(
      `Nothing was exported: no dotenv quoting carries the values of ${unportable.join(', ')} the same to sh, python-dotenv and Node's dotenv (see \`notebook-secrets export --help\`). Use --format json, or leave them out with --only.`,
    );
  }
  const text =
    options.format === 'json'
      ? `${JSON.stringify(
          {
            secrets: secrets.map((s) => ({
              name: s.name,
              scope: scopeKey(s.scope),
              type: s.type,
              encoding: s.encoding,
              value: s.value,
            })),
          },
          null,
          2,
        )}\n`
      : formatDotenv(secrets);
  if (options.output) {
    writePrivateFile(options.output, text);
    io.stderr(`Wrote ${secrets.length} secrets to ${options.output}.\n`);
  } else {
    io.stdout(text);
  }
}
