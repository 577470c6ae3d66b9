/** Administration (admin token): users, teams, projects, their members, and tokens. */
import { HttpError } from '../httpError';
import type { RouteHandlers } from '../http/register';

export const adminRoutes = {
  listUsers: async (_call, { store }) => ({ users: await store.listUsers() }),
  createUser: async (call, { store }) => store.createUser(call.body()),

  listTeams: async (_call, { store }) => ({ teams: await store.listGroups('teams') }),
  createTeam: async (call, { store }) => store.createGroup('teams', call.body()),
  teamMembers: async (call, { store }) => ({
    members: await store.members('team', call.params.id),
  }),
  addTeamMember: async (call, { store }) => {
    const { id } = call.params;
    const principal = { kind: 'user' as const, id: call.body().user };
    return { members: await store.setMember('team', id, principal, true) };
  },
  removeTeamMember: async (call, { store }) => {
    const { id, user } = call.params;
    return { members: await store.setMember('team', id, { kind: 'user', id: user }, false) };
  },

  listProjects: async (_call, { store }) => ({ projects: await store.listGroups('projects') }),
  createProject: async (call, { store }) => store.createGroup('projects', call.body()),
  projectMembers: async (call, { store }) => ({
    members: await store.members('project', call.params.id),
  }),
  addProjectMember: async (call, { store }) => {
    const { id } = call.params;
    const { principal } = call.body();
    return { members: await store.setMember('project', id, principal, true) };
  },
  removeProjectMember: async (call, { store }) => {
    const { id, kind, member } = call.params;
    if (kind !== 'user' && kind !== 'team') {
      throw new HttpError(400, 'invalid_input', "A project member is a 'user' or a 'team'.", {
        field: 'kind',
      });
    }
    return { members: await store.setMember('project', id, { kind, id: member }, false) };
  },

  listTokens: async (call, { store }) => ({ tokens: await store.listTokens(call.query().user) }),
  createToken: async (call, { store }) => store.createToken(call.caller, call.body()),
  revokeToken: async (call, { store }) => {
    await store.revokeToken(call.caller, call.params.id);
  },
} satisfies RouteHandlers;
