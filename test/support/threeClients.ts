/**
 * The property behind "a secret is known by its id and owner": three clients (two devices of
 * alice, one of bob) of one server, where both users use the same names in their personal scopes
 * and in a team, share their personal secrets with each other (as owner or reader) and unshare
 * them, edit what was shared with them, and resolve conflicts at random.
 *
 * After every step, each synced entry equals the server's copy at the version it is based on
 * (value, name, type, description, and whose it is). At the end every client holds exactly what
 * its user can see on the server, and no written value was lost unless it was knowingly set
 * aside: overwritten or deleted on a client that held it, the losing side of a conflict the user
 * was shown, or an unsynced edit of a secret its user lost access to.
 */
import * as fc from 'fast-check';
import { LocalSecretStore, sharedBy } from '../../src/core/localStore';
import type { Scope, SecretMetadata } from '../../src/core/model';
import { sameScope } from '../../src/core/scope';
import { ApiClient } from '../../src/sync/client';
import { SyncEngine } from '../../src/sync/engine';
import { isRetryable } from '../../src/sync/errors';
import { MemoryKeyValueStore } from '../../src/sync/memoryKeyValueStore';
import { syncMarkOf } from '../../src/sync/syncState';
import type { FakeServer, Snapshot } from '../unit/sync/fakeServer';
import { Link, shareOwnedWithTeam } from './twoClients';

type ClientNo = 0 | 1 | 2;
/** Your own personal secret, the team's, or the other user's personal secret shared with you. */
type Place = 'own' | 'team' | 'shared';

export type Op3 =
  | { kind: 'set'; client: ClientNo; name: string; place: Place }
  | { kind: 'delete'; client: ClientNo; name: string; place: Place }
  | { kind: 'sync'; client: ClientNo }
  | { kind: 'offline'; client: ClientNo; offline: boolean }
  | { kind: 'flaky'; client: ClientNo; after: number; lostAnswer: boolean }
  | { kind: 'resolve'; client: ClientNo; choice: 'mine' | 'theirs' }
  | { kind: 'share'; client: ClientNo; name: string; role: 'owner' | 'reader' }
  | { kind: 'unshare'; client: ClientNo; name: string };

const USERS = ['alice', 'alice', 'bob'] as const;

/** What a user sees of one secret on the server. */
export interface Seen {
  name: string;
  value: string;
  /** The owner of a personal secret. */
  owner?: string;
}

type Version = Snapshot & { owner?: string };

/** The server the three clients talk to, as the checks need it (the fake, or the real one). */
export interface ServerView {
  baseUrl: string;
  fetch: typeof fetch;
  tokens: { alice: string; bob: string };
  team: Scope & { kind: 'team' };
  /** The server's copy of `id` at `version`; 'unknown' when that version was never seen. */
  at(id: string, version: number): Version | undefined | 'unknown';
  /** Called after every step (the real server's view records what it sees). */
  observe(): Promise<void>;
  /** The secrets `user` can see now, by id. */
  visible(user: string): Promise<Map<string, Seen>>;
  /** On the real server team members only read: the team is granted owner after each sync. */
  grantTeam?: boolean;
}

/** The fake server as a ServerView: every version is in its history. */
export function fakeView(server: FakeServer): ServerView {
  return {
    baseUrl: 'http://fake.test',
    fetch: server.fetch,
    tokens: { alice: 'tok-alice', bob: 'tok-bob' },
    team: { kind: 'team', id: 'data' },
    at(id, version) {
      const row = server.rows.get(id);
      const snapshot = server.history.get(id)?.get(version);
      if (!row || !snapshot) return undefined;
      const owner = row.meta.scope.kind === 'personal' ? row.meta.created_by : undefined;
      return { ...snapshot, ...(owner && { owner }) };
    },
    observe: () => Promise.resolve(),
    visible(user) {
      const out = new Map<string, Seen>();
      for (const row of server.rows.values()) {
        if (row.deleted || !server.role(row, user)) continue;
        const owner = row.meta.scope.kind === 'personal' ? row.meta.created_by : undefined;
        out.set(row.meta.id, { name: row.meta.name, value: row.value, ...(owner && { owner }) });
      }
      return Promise.resolve(out);
    },
  };
}

/**
 * The real server as a ServerView. Versions are known from what alice and bob see after each
 * step; one made and replaced within a step is 'unknown', and its check is skipped.
 */
export function realView(
  baseUrl: string,
  tokens: { alice: string; bob: string },
  team: string,
): ServerView {
  const seen = new Map<string, Map<number, Version>>();
  const apis = {
    alice: new ApiClient({ baseUrl, token: tokens.alice }),
    bob: new ApiClient({ baseUrl, token: tokens.bob }),
  };
  const visible = async (user: string): Promise<Map<string, Seen>> => {
    const api = apis[user as 'alice' | 'bob'];
    const out = new Map<string, Seen>();
    const list = await api.listSecrets({});
    const values = list.length > 0 ? await api.getValues(list.map((s) => s.id)) : undefined;
    for (const meta of list) {
      const value = values?.values.find((v) => v.id === meta.id);
      if (!value || value.version !== meta.version) continue;
      const owner = meta.scope.kind === 'personal' ? meta.created_by : undefined;
      out.set(meta.id, { name: meta.name, value: value.value, ...(owner && { owner }) });
      const versions = seen.get(meta.id) ?? new Map<number, Version>();
      versions.set(meta.version, {
        name: meta.name,
        type: meta.type,
        description: meta.description,
        value: value.value,
        ...(owner && { owner }),
      });
      seen.set(meta.id, versions);
    }
    return out;
  };
  return {
    baseUrl,
    fetch: globalThis.fetch,
    tokens,
    team: { kind: 'team', id: team },
    at: (id, version) => seen.get(id)?.get(version) ?? 'unknown',
    async observe() {
      await visible('alice');
      await visible('bob');
    },
    visible,
    grantTeam: true,
  };
}

const client = fc.constantFrom<ClientNo>(0, 1, 2);
const name = fc.constantFrom('N0', 'N1');
const place = fc.constantFrom<Place>('own', 'team', 'shared');

export const op3Arb: fc.Arbitrary<Op3> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), client, name, place }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('delete' as const), client, name, place }),
  },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('sync' as const), client }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('offline' as const),
      client,
      offline: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('flaky' as const),
      client,
      after: fc.nat(6),
      lostAnswer: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('resolve' as const),
      client,
      choice: fc.constantFrom<'mine' | 'theirs'>('mine', 'theirs'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('share' as const),
      client,
      name,
      role: fc.constantFrom<'owner' | 'reader'>('owner', 'reader'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unshare' as const), client, name }) },
);

/**
 * Where every run starts: alice and bob each hold N0 in their own scope and in the team (so the
 * team's N0 is a conflict for whoever syncs second), and alice's N0 is shared with bob.
 */
export const PROLOGUE: readonly Op3[] = [
  { kind: 'set', client: 0, name: 'N0', place: 'own' },
  { kind: 'set', client: 0, name: 'N0', place: 'team' },
  { kind: 'set', client: 2, name: 'N0', place: 'own' },
  { kind: 'set', client: 2, name: 'N0', place: 'team' },
  { kind: 'sync', client: 0 },
  { kind: 'sync', client: 2 },
  { kind: 'share', client: 0, name: 'N0', role: 'owner' },
];

interface Device {
  user: string;
  other: string;
  store: LocalSecretStore;
  engine: SyncEngine;
  api: ApiClient;
  link: Link;
}

async function device(server: ServerView, i: ClientNo): Promise<Device> {
  const user = USERS[i];
  const kv = new MemoryKeyValueStore();
  const store = new LocalSecretStore(kv, { user });
  await store.load();
  const link = new Link(server.fetch);
  const api = new ApiClient({
    baseUrl: server.baseUrl,
    token: server.tokens[user],
    fetch: link.fetch,
  });
  const engine = new SyncEngine({ client: api, store, kv, pageLimit: 3 });
  await engine.init();
  return { user, other: user === 'alice' ? 'bob' : 'alice', store, engine, api, link };
}

function entryAt(d: Device, team: Scope, n: string, where: Place): SecretMetadata | undefined {
  return d.store.list().find((e) => {
    if (e.name !== n) return false;
    if (where === 'team') return sameScope(e.scope, team);
    if (e.scope.kind !== 'personal') return false;
    return where === 'own' ? sharedBy(e) === undefined : sharedBy(e) === d.other;
  });
}

/** Runs ops on three fresh clients of `server` (users alice and bob, team `data`). */
export async function runThreeClients(server: ServerView, ops: readonly Op3[], label: string) {
  const TEAM = server.team;
  const devices = [await device(server, 0), await device(server, 1), await device(server, 2)];
  const written = new Set<string>();
  const superseded = new Set<string>();
  const problems: string[] = [];
  let counter = 0;
  let step = 0;

  const valueOf = async (d: Device, id: string) => (await d.store.getValue(id)).value;

  /** Every synced entry equals the server's copy at its base version, and is known by owner. */
  const checkClean = async (): Promise<void> => {
    for (const [i, d] of devices.entries()) {
      for (const e of d.store.list()) {
        if (syncMarkOf(e) !== 'synced') continue;
        const base = e.sync!.base!;
        const at = server.at(e.id, base);
        const where = `step ${step}, client ${i} (${d.user}), ${e.name} ${e.id}@${base}`;
        if (at === 'unknown') continue;
        if (!at) {
          problems.push(`${where}: the server never had this version`);
          continue;
        }
        const mine = {
          name: e.name,
          type: e.type,
          description: e.description,
          value: await valueOf(d, e.id),
        };
        const { owner: atOwner, ...theirs } = at;
        if (JSON.stringify(mine) !== JSON.stringify(theirs)) {
          problems.push(`${where}: ${JSON.stringify(mine)} != server ${JSON.stringify(theirs)}`);
        }
        const owner = atOwner !== d.user ? atOwner : undefined;
        if (sharedBy(e) !== owner) {
          problems.push(`${where}: owner ${String(sharedBy(e))}, server says ${String(owner)}`);
        }
      }
    }
  };

  const trySync = async (d: Device): Promise<void> => {
    const before = new Map<string, string>();
    for (const e of d.store.list()) {
      before.set(e.id, await valueOf(d, e.id).catch(() => ''));
    }
    try {
      await d.engine.sync();
      if (server.grantTeam) await shareOwnedWithTeam(d.api, TEAM.id);
    } catch (error) {
      if (!isRetryable(error)) throw error;
    }
    // Access lost: an unsynced edit of that secret goes with it, on purpose.
    const mineNow = await server.visible(d.user);
    const live = new Set([...(await server.visible(d.other)).keys(), ...mineNow.keys()]);
    for (const [id, value] of before) {
      if (!d.store.get(id) && live.has(id) && !mineNow.has(id)) superseded.add(value);
    }
  };

  const resolveOne = async (d: Device, choice: 'mine' | 'theirs'): Promise<void> => {
    const conflict = d.engine.conflicts()[0];
    if (!conflict) return;
    let comparison;
    try {
      comparison = await d.engine.compare(conflict.id, { values: true });
    } catch (error) {
      if (isRetryable(error)) return;
      throw error;
    }
    const mine = comparison.mine.deleted ? undefined : comparison.mine.value?.value;
    const theirs = comparison.theirs.value?.value;
    let chosen = choice;
    for (;;) {
      try {
        await d.engine.resolveConflict(conflict.id, chosen);
      } catch (error) {
        const code = (error as { code?: string }).code;
        // A reader cannot keep theirs overwritten: the user is told, and keeps theirs.
        if (code === 'access_denied' && chosen === 'mine') {
          chosen = 'theirs';
          continue;
        }
        if (code === 'version_conflict') return;
        if (!isRetryable(error)) throw error;
      }
      break;
    }
    const loser = chosen === 'mine' ? theirs : mine;
    if (loser !== undefined) superseded.add(loser);
  };

  const serverSecret = async (d: Device, n: string) =>
    (await d.api.listSecrets({ q: n })).find(
      (s) => s.name === n && s.scope.kind === 'personal' && s.created_by === d.user,
    );

  for (const op of ops) {
    step++;
    const d = devices[op.client]!;
    switch (op.kind) {
      case 'set': {
        const current = entryAt(d, TEAM, op.name, op.place);
        const value = `${label}-v${++counter}-${d.user}`;
        if (current) {
          written.add(value);
          superseded.add(await valueOf(d, current.id).catch(() => ''));
          await d.store.update(current.id, { value });
        } else if (op.place !== 'shared') {
          written.add(value);
          await d.store.create({
            name: op.name,
            value,
            ...(op.place === 'team' && { scope: TEAM }),
          });
        }
        break;
      }
      case 'delete': {
        const current = entryAt(d, TEAM, op.name, op.place);
        if (current) {
          superseded.add(await valueOf(d, current.id).catch(() => ''));
          await d.store.delete(current.id);
        }
        break;
      }
      case 'sync':
        await trySync(d);
        break;
      case 'offline':
        d.link.offline = op.offline;
        break;
      case 'flaky':
        d.link.failAfter(op.after, op.lostAnswer);
        await trySync(d);
        break;
      case 'resolve':
        await resolveOne(d, op.choice);
        break;
      case 'share':
      case 'unshare': {
        try {
          const secret = await serverSecret(d, op.name);
          if (!secret) break;
          const access = await d.api.getAccess(secret.id);
          const others = access.access.filter(
            (g) => !(g.principal.kind === 'user' && g.principal.id === d.other),
          );
          const next =
            op.kind === 'share'
              ? [...others, { principal: { kind: 'user' as const, id: d.other }, role: op.role }]
              : others;
          await d.api.putAccess(secret.id, next, access.version);
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (!isRetryable(error) && code !== 'version_conflict') throw error;
        }
        break;
      }
    }
    await server.observe();
    await checkClean();
    if (problems.length > 0) throw new Error(problems.join('\n'));
  }

  // Final phase: everyone back online; sync and resolve (the first keeps mine, the others keep
  // theirs) until quiet.
  for (const d of devices) {
    d.link.offline = false;
    d.link.failAfter(Number.MAX_SAFE_INTEGER, false);
  }
  for (let round = 0; round < 12; round++) {
    for (const d of devices) await trySync(d);
    for (const [i, d] of devices.entries()) {
      while (d.engine.conflicts().length > 0) await resolveOne(d, i === 0 ? 'mine' : 'theirs');
    }
    const quiet = devices.every(
      (d) => d.engine.conflicts().length === 0 && d.engine.outbox().length === 0,
    );
    if (quiet && round > 0) break;
  }
  for (const d of devices) await d.engine.sync();
  await server.observe();
  await checkClean();

  // Each client holds exactly what its user sees on the server, each secret under its own id.
  for (const [i, d] of devices.entries()) {
    const local: Record<string, string> = {};
    for (const e of d.store.list()) local[e.id] = `${e.name}=${await valueOf(d, e.id)}`;
    const remote: Record<string, string> = {};
    for (const [id, seen] of await server.visible(d.user))
      remote[id] = `${seen.name}=${seen.value}`;
    if (JSON.stringify(sortedEntries(local)) !== JSON.stringify(sortedEntries(remote))) {
      problems.push(
        `client ${i} (${d.user}) ${JSON.stringify(sortedEntries(local))} != server ${JSON.stringify(sortedEntries(remote))}`,
      );
    }
    if (d.engine.conflicts().length > 0) problems.push(`client ${i} still has conflicts`);
    if (d.engine.outbox().length > 0) problems.push(`client ${i} still has pending changes`);
  }
  const finals = new Set<string>();
  for (const user of ['alice', 'bob']) {
    for (const seen of (await server.visible(user)).values()) finals.add(seen.value);
  }
  const lost = [...written].filter((v) => !finals.has(v) && !superseded.has(v));
  if (lost.length > 0) problems.push(`lost writes: ${lost.join(', ')}`);
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

function sortedEntries(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([x], [y]) => x.localeCompare(y));
}
