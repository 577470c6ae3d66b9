/**
 * `notebook-secrets admin …`: users, teams, projects, members and tokens, over the server's HTTP
 * API with an admin token (so it works the same against one server or several behind a load
 * balancer, and every change goes through the server's rules). The token comes from
 * NOTEBOOK_SECRETS_ADMIN_TOKEN or stdin (--token-stdin), never from the command line.
 */
import type { Command } from 'commander';
import { ApiErrorBody, CreatedToken, type Principal } from '../../core/api';
import { displayText } from '../../core/displayText';
import { SecretsError } from '../../core/errors';
import {
  ROUTES,
  routePath,
  type PathParams,
  type RouteAnswer,
  type RouteBody,
  type RouteSpec,
} from '../../core/routes';
import { normalizeServerUrl } from '../../core/serverUrl';
import { classifyFetchError } from '../../sync/errors';
import { processIo, type CliIo } from '../client/io';
import { checkClientTransport, CliError } from '../client/session';
import { jsonOption, serverOption } from '../options';

export interface AdminOptions {
  server?: string;
  tokenStdin?: boolean;
  json?: boolean;
  insecureHttp?: boolean;
}

/** A failure of an admin command, with the exit code docs/cli.md gives it (2: bad usage). */
export class AdminError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

/** Exit codes by HTTP status, as for the client commands. */
function exitForStatus(status: number): number {
  if (status === 401) return 3;
  if (status === 404) return 4;
  if (status === 409 || status === 412) return 5;
  if (status === 403 || status === 422) return 6;
  if (status >= 500 || status === 429) return 7;
  if (status >= 400 && status < 500) return 2;
  return 1;
}

/** Calls one route of the server's route table with the admin token. */
async function call<R extends RouteSpec>(
  io: CliIo,
  options: AdminOptions,
  route: R,
  input: { params?: PathParams<R>; query?: string; body?: RouteBody<R> } = {},
): Promise<RouteAnswer<R>> {
  const { method } = route;
  const path = routePath(route, input.params ?? ({} as PathParams<R>)) + (input.query ?? '');
  const body = input.body;
  let server: string;
  try {
    server = normalizeServerUrl(
      options.server ?? io.env.NOTEBOOK_SECRETS_SERVER ?? 'http://127.0.0.1:8787',
    );
  } catch (error) {
    throw new AdminError(`--server: ${(error as Error).message}`);
  }
  const url = new URL(server);
  // The admin token goes in clear over plain HTTP: only to this machine, or when asked to.
  try {
    checkClientTransport(
      server,
      { given: options.insecureHttp === true, how: '--insecure-http' },
      io,
    );
  } catch (error) {
    if (error instanceof SecretsError || error instanceof CliError)
      throw new AdminError(error.message);
    throw error;
  }
  const token = options.tokenStdin
    ? (await io.readStdin()).trim()
    : io.env.NOTEBOOK_SECRETS_ADMIN_TOKEN;
  if (!token) {
    throw new AdminError(
      'No admin token: set NOTEBOOK_SECRETS_ADMIN_TOKEN or pipe it in with --token-stdin (serve printed it on first start).',
      3,
    );
  }
  let response: Response;
  let text: string;
  try {
    // The CLI's fetch refuses redirects: the admin token and the body go to this server or nowhere.
    response = await io.fetch(server + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'user-agent': 'notebook-secrets-admin/0.1.0',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    text = await response.text();
  } catch (error) {
    if (error instanceof SecretsError) throw new AdminError(error.message);
    const failure = classifyFetchError(error, url.origin);
    throw new AdminError(
      failure.reason === 'refused'
        ? `Cannot reach the server at ${server} (connection refused). Is \`notebook-secrets serve\` running? (--server URL)`
        : failure.message,
      7,
    );
  }
  if (response.status === 204) return undefined as RouteAnswer<R>;
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new AdminError(
      `The server at ${url.origin} answered ${method} ${path.split('?')[0]} with HTTP ${response.status}, not JSON. Is this the URL of a Notebook Secrets server?`,
      8,
    );
  }
  if (!response.ok) {
    const parsed = ApiErrorBody.safeParse(json);
    throw new AdminError(
      parsed.success
        ? displayText(parsed.data.error.message, 500)
        : `The server answered ${response.status}.`,
      exitForStatus(response.status),
    );
  }
  return json as RouteAnswer<R>;
}

/**
 * A commander action for an admin command: an AdminError is reported as `notebook-secrets admin:
 * …` with its exit code; anything else goes on to main's handler.
 */
export function adminAction<A extends unknown[]>(
  work: (io: CliIo, ...args: A) => Promise<void>,
  io: CliIo = processIo(),
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await work(io, ...args);
    } catch (error) {
      if (error instanceof AdminError) {
        io.stderr(`notebook-secrets admin: ${error.message}\n`);
        io.setExitCode(error.exitCode);
        return;
      }
      throw error;
    }
  };
}

/** A name as the server has it, shown without control characters (it cannot drive the terminal). */
function shown(name: string): string {
  return displayText(name, Infinity);
}

function print(io: CliIo, options: AdminOptions, result: unknown, line: string): void {
  io.stdout(options.json ? JSON.stringify(result, null, 2) + '\n' : line + '\n');
}

function common(command: Command): Command {
  return command
    .addOption(
      serverOption('server URL (default: $NOTEBOOK_SECRETS_SERVER or http://127.0.0.1:8787)'),
    )
    .option(
      '--token-stdin',
      'read the admin token from stdin instead of $NOTEBOOK_SECRETS_ADMIN_TOKEN',
    )
    .addOption(jsonOption())
    .option('--insecure-http', 'allow plain http:// to another machine (the admin token in clear)');
}

export interface MemberOptions extends AdminOptions {
  team?: string;
  project?: string;
}

/** A `member` subcommand: the common options, then the team or project whose members it names. */
function memberCommand(member: Command, usage: string, description: string): Command {
  return common(member.command(usage).description(description))
    .option('--team <id>', 'the team')
    .option('--project <id>', 'the project');
}

function memberTarget(options: MemberOptions): { id: string; kind: 'team' | 'project' } {
  if (Boolean(options.team) === Boolean(options.project)) {
    throw new AdminError('Give exactly one of --team ID or --project ID.');
  }
  return options.team
    ? { id: options.team, kind: 'team' }
    : { id: options.project!, kind: 'project' };
}

function parseMember(text: string, kind: 'team' | 'project'): Principal {
  const match = /^(?:(user|team):)?(.+)$/.exec(text)!;
  const principal = { kind: (match[1] ?? 'user') as Principal['kind'], id: match[2]! };
  if (kind === 'team' && principal.kind !== 'user') throw new AdminError('Team members are users.');
  return principal;
}

export function register(program: Command): void {
  const admin = program
    .command('admin')
    .description(
      'Administer the team server (needs the admin token): users, teams, projects, members, tokens',
    );

  const user = admin.command('user').description('Users');
  common(user.command('add <id>').description('Add a user (id: lowercase letters, digits, . _ -)'))
    .option('--name <name>', 'display name')
    .option('--admin', 'make the user an administrator')
    .action(adminAction((io, id: string, options: UserAddOptions) => runUserAdd(id, options, io)));
  common(user.command('list').description('List users')).action(
    adminAction((io, options: AdminOptions) => runUserList(options, io)),
  );

  for (const kind of ['team', 'project'] as const) {
    const table = GROUPS[kind].table;
    const group = admin.command(kind).description(`${kind === 'team' ? 'Teams' : 'Projects'}`);
    common(group.command('add <id>').description(`Add a ${kind}`))
      .option('--name <name>', 'display name')
      .action(
        adminAction((io, id: string, options: GroupAddOptions) =>
          runGroupAdd(kind, id, options, io),
        ),
      );
    common(group.command('list').description(`List ${table}`)).action(
      adminAction((io, options: AdminOptions) => runGroupList(kind, options, io)),
    );
  }

  const member = admin
    .command('member')
    .description('Members of teams (users) and projects (users or teams)');
  memberCommand(member, 'add <member>', 'Add a member: USER, or team:ID for a project').action(
    adminAction((io, text: string, options: MemberOptions) => runMemberAdd(text, options, io)),
  );
  memberCommand(
    member,
    'remove <member>',
    'Remove a member: USER, or team:ID for a project',
  ).action(
    adminAction((io, text: string, options: MemberOptions) => runMemberRemove(text, options, io)),
  );
  memberCommand(member, 'list', 'List members').action(
    adminAction((io, options: MemberOptions) => runMemberList(options, io)),
  );

  const token = admin.command('token').description('API tokens (shown once, stored hashed)');
  common(token.command('create <user>').description('Create a token for a user and print it once'))
    .option('--name <name>', 'what the token is for, e.g. laptop')
    .option('--expires-days <n>', 'expire after this many days')
    .action(
      adminAction((io, userId: string, options: TokenCreateOptions) =>
        runTokenCreate(userId, options, io),
      ),
    );
  common(token.command('list').description('List tokens (never the tokens themselves)'))
    .option('--user <id>', 'only this user’s tokens')
    .action(adminAction((io, options: TokenListOptions) => runTokenList(options, io)));
  common(token.command('revoke <id>').description('Revoke a token by id')).action(
    adminAction((io, id: string, options: AdminOptions) => runTokenRevoke(id, options, io)),
  );
}

export interface UserAddOptions extends AdminOptions {
  name?: string;
  admin?: boolean;
}

/** `admin user add ID`. */
export async function runUserAdd(id: string, options: UserAddOptions, io: CliIo): Promise<void> {
  const result = await call(io, options, ROUTES.createUser, {
    body: {
      id,
      ...(options.name ? { name: options.name } : {}),
      admin: Boolean(options.admin),
    },
  });
  print(io, options, result, `Added user ${id}.`);
}

/** `admin user list`. */
export async function runUserList(options: AdminOptions, io: CliIo): Promise<void> {
  const result = await call(io, options, ROUTES.listUsers);
  print(
    io,
    options,
    result,
    result.users.map((u) => `${u.id}\t${shown(u.name)}${u.admin ? '\tadmin' : ''}`).join('\n'),
  );
}

/** Teams and projects: the same two commands over their routes. */
const GROUPS = {
  team: { table: 'teams', create: ROUTES.createTeam, list: ROUTES.listTeams },
  project: { table: 'projects', create: ROUTES.createProject, list: ROUTES.listProjects },
} as const;

export interface GroupAddOptions extends AdminOptions {
  name?: string;
}

/** `admin team add ID` and `admin project add ID`. */
export async function runGroupAdd(
  kind: 'team' | 'project',
  id: string,
  options: GroupAddOptions,
  io: CliIo,
): Promise<void> {
  const result = await call(io, options, GROUPS[kind].create, {
    body: { id, ...(options.name ? { name: options.name } : {}) },
  });
  print(io, options, result, `Added ${kind} ${id}.`);
}

/** `admin team list` and `admin project list`. */
export async function runGroupList(
  kind: 'team' | 'project',
  options: AdminOptions,
  io: CliIo,
): Promise<void> {
  const { table, list } = GROUPS[kind];
  const result = (await call(io, options, list)) as Record<string, { id: string; name: string }[]>;
  print(
    io,
    options,
    result,
    (result[table] ?? []).map((g) => `${g.id}\t${shown(g.name)}`).join('\n'),
  );
}

/** `admin member add MEMBER --team ID|--project ID`. */
export async function runMemberAdd(text: string, options: MemberOptions, io: CliIo): Promise<void> {
  const target = memberTarget(options);
  const principal = parseMember(text, target.kind);
  const params = { id: target.id };
  const result =
    target.kind === 'team'
      ? await call(io, options, ROUTES.addTeamMember, { params, body: { user: principal.id } })
      : await call(io, options, ROUTES.addProjectMember, { params, body: { principal } });
  print(
    io,
    options,
    result,
    `Added ${principal.kind} ${principal.id} to ${target.kind} ${options.team ?? options.project}.`,
  );
}

/** `admin member remove MEMBER --team ID|--project ID`. */
export async function runMemberRemove(
  text: string,
  options: MemberOptions,
  io: CliIo,
): Promise<void> {
  const target = memberTarget(options);
  const principal = parseMember(text, target.kind);
  const result =
    target.kind === 'team'
      ? await call(io, options, ROUTES.removeTeamMember, {
          params: { id: target.id, user: principal.id },
        })
      : await call(io, options, ROUTES.removeProjectMember, {
          params: { id: target.id, kind: principal.kind, member: principal.id },
        });
  print(
    io,
    options,
    result,
    `Removed ${principal.kind} ${principal.id} from ${target.kind} ${options.team ?? options.project}.`,
  );
}

/** `admin member list --team ID|--project ID`. */
export async function runMemberList(options: MemberOptions, io: CliIo): Promise<void> {
  const target = memberTarget(options);
  const params = { params: { id: target.id } };
  const result =
    target.kind === 'team'
      ? await call(io, options, ROUTES.teamMembers, params)
      : await call(io, options, ROUTES.projectMembers, params);
  print(io, options, result, result.members.map((m) => `${m.kind}:${m.id}`).join('\n'));
}

export interface TokenCreateOptions extends AdminOptions {
  name?: string;
  expiresDays?: string;
}

/** `admin token create USER`: prints the token once. */
export async function runTokenCreate(
  userId: string,
  options: TokenCreateOptions,
  io: CliIo,
): Promise<void> {
  const result = CreatedToken.parse(
    await call(io, options, ROUTES.createToken, {
      body: {
        user: userId,
        ...(options.name ? { name: options.name } : {}),
        ...(options.expiresDays ? { expires_in_days: Number(options.expiresDays) } : {}),
      },
    }),
  );
  print(io, options, result, result.token);
}

export interface TokenListOptions extends AdminOptions {
  user?: string;
}

/** `admin token list`: never the tokens themselves. */
export async function runTokenList(options: TokenListOptions, io: CliIo): Promise<void> {
  const query = options.user ? `?user=${encodeURIComponent(options.user)}` : '';
  const result = await call(io, options, ROUTES.listTokens, { query });
  print(
    io,
    options,
    result,
    result.tokens
      .map((t) => `${t.id}\t${t.user}\t${shown(t.name)}\t${t.expires_at ?? 'no expiry'}`)
      .join('\n'),
  );
}

/** `admin token revoke ID`. */
export async function runTokenRevoke(id: string, options: AdminOptions, io: CliIo): Promise<void> {
  await call(io, options, ROUTES.revokeToken, { params: { id } });
  print(io, options, { revoked: id }, `Revoked token ${id}.`);
}
