/** `notebook-secrets share NAME --user U|--team T --role owner|reader`: grants access. */
import type { Command } from 'commander';
import { Role, type Grant, type Principal } from '../../core/model';
import { action, type CliIo } from '../client/io';
import { CliError, findSecret, printJson, type GlobalOptions } from '../client/session';
import { jsonOption, scopeOption, serverOption } from '../options';

export interface PrincipalOptions extends GlobalOptions {
  user?: string;
  team?: string;
  scope?: string;
}

export function principalOf(options: PrincipalOptions): Principal {
  if ((options.user === undefined) === (options.team === undefined)) {
    throw new CliError('Pass exactly one of --user USER or --team TEAM.');
  }
  return options.user !== undefined
    ? { kind: 'user', id: options.user }
    : { kind: 'team', id: options.team! };
}

/** The grants but the one of `principal`. */
export function grantsWithout(access: readonly Grant[], principal: Principal): Grant[] {
  return access.filter(
    (g) => !(g.principal.kind === principal.kind && g.principal.id === principal.id),
  );
}

export function describeGrants(access: Grant[]): string {
  return access.map((g) => `  ${g.principal.kind} ${g.principal.id}: ${g.role}`).join('\n');
}

export function register(program: Command): void {
  program
    .command('share')
    .description('Give a user or a team access to a secret, as owner or reader')
    .argument('<name>', 'secret name')
    .option('--user <user>', 'user id')
    .option('--team <team>', 'team id')
    .requiredOption('--role <role>', 'owner (read, edit, share, delete) or reader (read only)')
    .addOption(scopeOption('change'))
    .addOption(serverOption())
    .addOption(jsonOption())
    .action(action((io, name: string, options: ShareOptions) => run(name, options, io)));
}

export interface ShareOptions extends PrincipalOptions {
  role: string;
}

export async function run(name: string, options: ShareOptions, io: CliIo): Promise<void> {
  const role = Role.safeParse(options.role);
  if (!role.success) throw new CliError(`The role '${options.role}' is not owner or reader.`);
  const principal = principalOf(options);
  const session = io.openSession(options);
  const secret = await findSecret(session, name, options.scope, true);
  const current = await session.api.getAccess(secret.id);
  const others = grantsWithout(current.access, principal);
  const result = await session.api.putAccess(
    secret.id,
    [...others, { principal, role: role.data }],
    current.version,
  );
  if (options.json) printJson(io, { name, ...result });
  else
    io.stdout(
      `Shared '${name}' with ${principal.kind} ${principal.id} as ${role.data}. Access now:\n${describeGrants(result.access)}\n`,
    );
}
