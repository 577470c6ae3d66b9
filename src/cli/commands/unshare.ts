/** `notebook-secrets unshare NAME --user U|--team T`: removes a grant (never the last owner). */
import type { Command } from 'commander';
import { action, type CliIo } from '../client/io';
import { CliError, EXIT, findSecret, printJson } from '../client/session';
import { describeGrants, grantsWithout, principalOf, type PrincipalOptions } from './share';
import { jsonOption, scopeOption, serverOption } from '../options';

export function register(program: Command): void {
  program
    .command('unshare')
    .description(
      "Remove a user's or a team's access to a secret (a secret keeps at least one owner)",
    )
    .argument('<name>', 'secret name')
    .option('--user <user>', 'user id')
    .option('--team <team>', 'team id')
    .addOption(scopeOption('change'))
    .addOption(serverOption())
    .addOption(jsonOption())
    .action(action((io, name: string, options: PrincipalOptions) => run(name, options, io)));
}

export async function run(name: string, options: PrincipalOptions, io: CliIo): Promise<void> {
  const principal = principalOf(options);
  const session = io.openSession(options);
  const secret = await findSecret(session, name, options.scope, true);
  const current = await session.api.getAccess(secret.id);
  const remaining = grantsWithout(current.access, principal);
  if (remaining.length === current.access.length) {
    throw new CliError(
      `${principal.kind} ${principal.id} has no direct access to '${name}'.`,
      EXIT.notFound,
      'not_found',
    );
  }
  if (
    !remaining.some((g) => g.role === 'owner') &&
    current.access.some((g) => g.role === 'owner')
  ) {
    throw new CliError(
      `${principal.kind} ${principal.id} is the last owner of '${name}'; a secret keeps at least one owner. Share it with another owner first.`,
      EXIT.denied,
      'last_owner',
    );
  }
  const result = await session.api.putAccess(secret.id, remaining, current.version);
  if (options.json) printJson(io, { name, ...result });
  else
    io.stdout(
      `Removed ${principal.kind} ${principal.id} from '${name}'. Access now:\n${describeGrants(result.access)}\n`,
    );
}
