/** `notebook-secrets get NAME`: the one command that prints a value. */
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { scopeKey } from '../../core/scope';
import { action, findSecret, openSession, printJson, type GlobalOptions } from '../client/session';

interface GetOptions extends GlobalOptions {
  scope?: string;
  output?: string;
}

export function register(program: Command): void {
  program
    .command('get')
    .description('Print the value of a secret (by precedence: personal > active project > team)')
    .argument('<name>', 'secret name')
    .option('--scope <scope>', 'personal, project:ID or team:ID')
    .option('--project <id>', 'the active project (default: the saved one)')
    .option('-o, --output <file>', 'write the value to a file (0600); file secrets are decoded')
    .option('--server <url>', 'server URL (default: the saved one)')
    .option('--json', 'print metadata and value as JSON')
    .action(
      action(async (name: string, options: GetOptions) => {
        const session = openSession(options);
        const secret = await findSecret(session, name, options.scope);
        const value = await session.api.getValue(secret.id);
        if (options.output) {
          const bytes =
            value.encoding === 'base64'
              ? Buffer.from(value.value, 'base64')
              : Buffer.from(value.value, 'utf8');
          writeFileSync(options.output, bytes, { mode: 0o600 });
          process.stderr.write(`Wrote '${name}' (${bytes.length} bytes) to ${options.output}.\n`);
          return;
        }
        if (options.json) {
          printJson({
            name: secret.name,
            scope: scopeKey(secret.scope),
            type: secret.type,
            encoding: value.encoding,
            version: value.version,
            value: value.value,
          });
          return;
        }
        process.stdout.write(process.stdout.isTTY ? `${value.value}\n` : value.value);
      }),
    );
}
