/** `notebook-secrets import FILE.env`: creates or updates one secret per NAME=value line. */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { PERSONAL, SecretType } from '../../core/model';
import { scopeKey } from '../../core/scope';
import { nameProblem } from '../../core/validation';
import { parseDotenv } from '../client/dotenv';
import {
  action,
  CliError,
  openSession,
  parseScopeOption,
  printJson,
  type GlobalOptions,
} from '../client/session';
import { upsertSecret } from '../client/upsert';

interface ImportOptions extends GlobalOptions {
  scope?: string;
  type?: string;
}

export function register(program: Command): void {
  program
    .command('import')
    .description('Import secrets from a .env file (creates new ones, updates existing ones)')
    .argument('<file>', 'a dotenv file (NAME=value lines)')
    .option('--scope <scope>', 'personal (default), project:ID or team:ID')
    .option('--type <type>', `type of the new secrets, one of ${SecretType.options.join(', ')}`)
    .option('--server <url>', 'server URL (default: the saved one)')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (file: string, options: ImportOptions) => {
        const type = options.type === undefined ? undefined : SecretType.safeParse(options.type);
        if (type && !type.success)
          throw new CliError(
            `The type '${options.type}' is not one of ${SecretType.options.join(', ')}.`,
          );
        const scope = options.scope ? parseScopeOption(options.scope) : PERSONAL;
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch (error) {
          throw new CliError(
            `Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`,
          );
        }
        let entries;
        try {
          entries = parseDotenv(text);
        } catch (error) {
          throw new CliError(`${file}: ${(error as Error).message}`);
        }
        const bad = entries.filter((e) => nameProblem(e.name));
        if (bad.length > 0) {
          throw new CliError(
            `${file}: invalid names on line ${bad.map((e) => `${e.line} (${e.name})`).join(', ')}: ${nameProblem(bad[0]!.name)} Nothing was imported.`,
          );
        }
        const session = openSession(options);
        const existing = await session.api.listSecrets({ scope: scopeKey(scope) });
        const results: { name: string; created: boolean; version: number }[] = [];
        for (const entry of entries) {
          const { secret, created } = await upsertSecret(
            session,
            {
              name: entry.name,
              value: entry.value,
              encoding: 'text',
              scope,
              ...(type?.data && { type: type.data }),
            },
            existing,
          );
          results.push({ name: secret.name, created, version: secret.version });
        }
        if (options.json) printJson({ scope: scopeKey(scope), imported: results });
        else {
          const created = results.filter((r) => r.created).length;
          process.stdout.write(
            `Imported ${results.length} secrets into ${scopeKey(scope)} (${created} created, ${results.length - created} updated).\n`,
          );
        }
      }),
    );
}
