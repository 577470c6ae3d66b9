/** The directory: users, teams, projects and their members, and the caller's own view of it. */
import type { Me, Project, Team, User } from '../../core/api';
import type { Principal } from '../../core/model';
import type { Row, SqlExecutor } from '../db/driver';
import { isUniqueViolation } from '../db/driver';
import { HttpError } from '../httpError';
import { assertPrincipalsExist } from './access';
import type { Caller, StoreContext } from './context';
import { iso, parsePrincipal, principalKey } from './rows';
import { write } from './transaction';

export async function me(ctx: StoreContext, caller: Caller): Promise<Me> {
  const [user] = await ctx.db.query('SELECT id, name, admin, created_at FROM users WHERE id = $1', [
    caller.userId,
  ]);
  const teams = await ctx.db.query(
    'SELECT id, name, created_at FROM teams WHERE id = ANY($1::text[]) ORDER BY id',
    [caller.teams],
  );
  const projects = await ctx.db.query(
    'SELECT id, name, created_at FROM projects WHERE id = ANY($1::text[]) ORDER BY id',
    [caller.projects],
  );
  return {
    user: toUser(user!),
    teams: teams.map(toGroup),
    projects: projects.map(toGroup),
  };
}

export async function createUser(
  ctx: StoreContext,
  input: { id: string; name?: string; admin: boolean },
): Promise<User> {
  return insertEntity('users', 'user', input.id, () =>
    ctx.db.query(
      `WITH u AS (INSERT INTO users (id, name, admin) VALUES ($1, $2, $3)
                  RETURNING id, name, admin, created_at),
            ${dropPendingGrants('user', '$1')}
       SELECT * FROM u`,
      [input.id, input.name ?? input.id, input.admin],
    ),
  ).then(toUser);
}

/**
 * A CTE that drops the grants naming a user or team id before anyone had it. Sharing answers a
 * grant to an unknown id as one to a known id (so an owner cannot probe which ids exist), and keeps
 * it; such a grant must never apply: creating the user or team removes it, in the same statement,
 * so a misspelt id never becomes a share with a future colleague.
 */
export function dropPendingGrants(kind: 'user' | 'team', idParam: string): string {
  return `pending AS (DELETE FROM grants WHERE principal = '${kind}:' || ${idParam})`;
}

export async function listUsers(ctx: StoreContext): Promise<User[]> {
  return (await ctx.db.query('SELECT id, name, admin, created_at FROM users ORDER BY id')).map(
    toUser,
  );
}

export async function createGroup(
  ctx: StoreContext,
  table: 'teams' | 'projects',
  input: { id: string; name?: string },
): Promise<Team | Project> {
  const insert = `INSERT INTO ${table} (id, name) VALUES ($1, $2) RETURNING id, name, created_at`;
  return insertEntity(table, table === 'teams' ? 'team' : 'project', input.id, () =>
    ctx.db.query(
      table === 'teams'
        ? `WITH t AS (${insert}), ${dropPendingGrants('team', '$1')} SELECT * FROM t`
        : insert,
      [input.id, input.name ?? input.id],
    ),
  ).then(toGroup);
}

export async function listGroups(
  ctx: StoreContext,
  table: 'teams' | 'projects',
): Promise<(Team | Project)[]> {
  return (await ctx.db.query(`SELECT id, name, created_at FROM ${table} ORDER BY id`)).map(toGroup);
}

export async function members(
  ctx: StoreContext,
  kind: 'team' | 'project',
  id: string,
): Promise<Principal[]> {
  await assertGroup(ctx.db, kind, id);
  const rows =
    kind === 'team'
      ? await ctx.db.query<{ p: string }>(
          `SELECT 'user:' || user_id AS p FROM team_members WHERE team_id = $1 ORDER BY 1`,
          [id],
        )
      : await ctx.db.query<{ p: string }>(
          'SELECT principal AS p FROM project_members WHERE project_id = $1 ORDER BY 1',
          [id],
        );
  return rows.map((r) => parsePrincipal(r.p));
}

/**
 * Adds or removes a member. Either way every secret reachable through that membership gets a
 * change-feed row for the member, so their next sync brings the upserts or tombstones.
 */
export async function setMember(
  ctx: StoreContext,
  kind: 'team' | 'project',
  id: string,
  member: Principal,
  present: boolean,
): Promise<Principal[]> {
  if (kind === 'team' && member.kind !== 'user') {
    throw new HttpError(400, 'invalid_input', 'Team members are users; teams cannot be nested.', {
      field: 'user',
    });
  }
  const key = principalKey(member);
  await write(ctx, async (tx) => {
    await assertGroup(tx, kind, id);
    let touched: number;
    if (present) {
      await assertPrincipalsExist(tx, [member]);
      touched =
        kind === 'team'
          ? await tx.execute(
              'INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
              [id, member.id],
            )
          : await tx.execute(
              'INSERT INTO project_members (project_id, principal) VALUES ($1, $2) ON CONFLICT DO NOTHING',
              [id, key],
            );
    } else {
      touched =
        kind === 'team'
          ? await tx.execute('DELETE FROM team_members WHERE team_id = $1 AND user_id = $2', [
              id,
              member.id,
            ])
          : await tx.execute(
              'DELETE FROM project_members WHERE project_id = $1 AND principal = $2',
              [id, key],
            );
      if (touched === 0)
        throw new HttpError(404, 'not_found', `${key} is not a member of ${kind} '${id}'.`);
    }
    if (touched === 0) return { result: undefined, changes: [] };
    const secretIds =
      kind === 'team'
        ? await tx.query<{ id: string }>(
            `SELECT s.id FROM secrets s
             WHERE (s.scope_kind = 'team' AND s.scope_id = $1)
                OR s.id IN (SELECT g.secret_id FROM grants g WHERE g.principal = 'team:' || $1)
                OR (s.scope_kind = 'project' AND s.scope_id IN (
                      SELECT pm.project_id FROM project_members pm WHERE pm.principal = 'team:' || $1))`,
            [id],
          )
        : await tx.query<{ id: string }>(
            `SELECT s.id FROM secrets s WHERE s.scope_kind = 'project' AND s.scope_id = $1`,
            [id],
          );
    return {
      result: undefined,
      changes: [
        {
          secretIds: secretIds.map((r) => r.id),
          kind: present ? 'member_added' : 'member_removed',
          audience: [key],
        },
      ],
    };
  });
  return members(ctx, kind, id);
}

export async function assertGroup(
  tx: SqlExecutor,
  kind: 'team' | 'project',
  id: string,
): Promise<void> {
  const rows = await tx.query(
    `SELECT 1 FROM ${kind === 'team' ? 'teams' : 'projects'} WHERE id = $1`,
    [id],
  );
  if (rows.length === 0) throw new HttpError(404, 'not_found', `There is no ${kind} '${id}'.`);
}

export async function insertEntity<T extends Row>(
  table: string,
  what: string,
  id: string,
  insert: () => Promise<T[]>,
): Promise<T> {
  try {
    return (await insert())[0]!;
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new HttpError(409, 'already_exists', `A ${what} with id '${id}' already exists.`, {
        field: 'id',
      });
    }
    throw error;
  }
}

function toUser(row: Row): User {
  return {
    id: String(row.id),
    name: String(row.name),
    admin: Boolean(row.admin),
    created_at: iso(row.created_at),
  };
}

function toGroup(row: Row): Team {
  return { id: String(row.id), name: String(row.name), created_at: iso(row.created_at) };
}
