/**
 * The property behind "no acknowledged write is lost, and all sides converge": random operations
 * on two clients of one server, with random disconnects (including answers lost after the server
 * applied the request), then a final phase that syncs and resolves conflicts until quiet.
 *
 * The check: every value ever written on a client is either a final value, or was knowingly
 * superseded: overwritten or deleted on a client that held it, or the losing side of a conflict
 * the user was shown. A sync that silently overwrote an unpushed value, or pushed without
 * If-Match over someone else's, leaves a value in neither set. Used by the unit test (fake server)
 * and the integration test (real server).
 */
import * as fc from 'fast-check';
import { LocalSecretStore } from '../../src/core/localStore';
import type { Scope } from '../../src/core/model';
import { scopeKey } from '../../src/core/scope';
import { ApiClient } from '../../src/sync/client';
import { SyncEngine } from '../../src/sync/engine';
import { isRetryable } from '../../src/sync/errors';
import { MemoryKeyValueStore } from '../../src/sync/memoryKeyValueStore';

export const NAMES = ['S0', 'S1', 'S2'] as const;

export type Op =
  | { kind: 'set'; client: 0 | 1; name: string }
  | { kind: 'delete'; client: 0 | 1; name: string }
  | { kind: 'sync'; client: 0 | 1 }
  | { kind: 'offline'; client: 0 | 1; offline: boolean }
  | { kind: 'flaky'; client: 0 | 1; after: number; lostAnswer: boolean }
  | { kind: 'resolve'; client: 0 | 1; choice: 'mine' | 'theirs' };

const client01 = fc.constantFrom<0 | 1>(0, 1);
const name = fc.constantFrom(...NAMES);

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('set' as const), client: client01, name }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('delete' as const), client: client01, name }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('sync' as const), client: client01 }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('offline' as const),
      client: client01,
      offline: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('flaky' as const),
      client: client01,
      after: fc.nat(6),
      lostAnswer: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('resolve' as const),
      client: client01,
      choice: fc.constantFrom<'mine' | 'theirs'>('mine', 'theirs'),
    }),
  },
);

/** A client's link to the server that can go down, or fail after n requests (answer lost or not). */
export class Link {
  offline = false;
  private failIn: { left: number; lostAnswer: boolean } | undefined;

  constructor(private readonly inner: typeof fetch) {}

  failAfter(requests: number, lostAnswer: boolean): void {
    this.failIn = { left: requests, lostAnswer };
  }

  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (this.offline) throw networkError('ECONNREFUSED');
    if (this.failIn && this.failIn.left-- <= 0) {
      const { lostAnswer } = this.failIn;
      this.failIn = undefined;
      if (lostAnswer) {
        const response = await this.inner(input, init);
        await response.arrayBuffer();
      }
      throw networkError('ECONNRESET');
    }
    return this.inner(input, init);
  };
}

function networkError(code: string): Error {
  return Object.assign(new TypeError('fetch failed'), {
    cause: Object.assign(new Error(code), { code }),
  });
}

export interface ClientSide {
  user: string;
  kv: MemoryKeyValueStore;
  store: LocalSecretStore;
  engine: SyncEngine;
  api: ApiClient;
  link: Link;
}

export interface World {
  baseUrl: string;
  fetch: typeof fetch;
  /** Tokens of two users who may both edit secrets in `scope`. */
  tokens: [string, string];
  users: [string, string];
  scope: Scope;
  /**
   * On the real server, team members only read team secrets; owners are granted. When set, each
   * sync is followed by the client granting the team owner on the secrets it owns, so that both
   * users may edit (as a team would set it up), and the grant's version bump joins the mix.
   */
  shareWithTeam?: boolean;
}

/** Grants `team` the owner role on every secret of that scope the client owns (best effort). */
export async function shareOwnedWithTeam(api: ApiClient, team: string): Promise<void> {
  for (const secret of await api.listSecrets({ scope: `team:${team}` })) {
    if (secret.role !== 'owner') continue;
    if (secret.access.some((g) => g.principal.kind === 'team' && g.principal.id === team)) continue;
    try {
      await api.putAccess(
        secret.id,
        [...secret.access, { principal: { kind: 'team', id: team }, role: 'owner' }],
        secret.version,
      );
    } catch (error) {
      if (!isRetryable(error) && (error as { code?: string }).code !== 'version_conflict')
        throw error;
    }
  }
}

export async function makeClient(world: World, i: 0 | 1): Promise<ClientSide> {
  const kv = new MemoryKeyValueStore();
  const store = new LocalSecretStore(kv, { user: world.users[i] });
  await store.load();
  const link = new Link(world.fetch);
  const api = new ApiClient({ baseUrl: world.baseUrl, token: world.tokens[i], fetch: link.fetch });
  const engine = new SyncEngine({ client: api, store, kv, pageLimit: 3 });
  await engine.init();
  return { user: world.users[i], kv, store, engine, api, link };
}

/** Runs ops on two fresh clients and checks convergence and that no write was lost. */
export async function runScenario(world: World, ops: readonly Op[], label: string): Promise<void> {
  const clients = [await makeClient(world, 0), await makeClient(world, 1)] as const;
  const written = new Set<string>();
  const superseded = new Set<string>();
  let counter = 0;
  const local = async (
    c: ClientSide,
    n: string,
  ): Promise<{ id: string; value: string } | undefined> => {
    const entry = c.store
      .list()
      .find((e) => e.name === n && scopeKey(e.scope) === scopeKey(world.scope));
    if (!entry) return undefined;
    return { id: entry.id, value: (await c.store.getValue(entry.id)).value };
  };
  const trySync = async (c: ClientSide): Promise<void> => {
    try {
      await c.engine.sync();
      if (world.shareWithTeam && world.scope.kind === 'team')
        await shareOwnedWithTeam(c.api, world.scope.id);
    } catch (error) {
      if (!isRetryable(error)) throw error;
    }
  };
  const resolveOne = async (c: ClientSide, choice: 'mine' | 'theirs'): Promise<void> => {
    const conflict = c.engine.conflicts()[0];
    if (!conflict) return;
    let comparison;
    try {
      comparison = await c.engine.compare(conflict.id, { values: true });
    } catch (error) {
      if (isRetryable(error)) return;
      throw error;
    }
    // The side not kept was shown to the user and set aside on purpose (also when the answer to
    // the resolving request is lost and its outcome unknown).
    const mine = comparison.mine.value?.value;
    const theirs = comparison.theirs.value?.value;
    const loser =
      choice === 'mine' ? theirs : conflict.conflict.kind === 'deleted_here' ? undefined : mine;
    try {
      await c.engine.resolveConflict(conflict.id, choice);
    } catch (error) {
      if ((error as { code?: string }).code === 'version_conflict') return;
      if (!isRetryable(error)) throw error;
    }
    if (loser !== undefined) superseded.add(loser);
  };

  for (const op of ops) {
    const c = clients[op.client];
    switch (op.kind) {
      case 'set': {
        const value = `${label}-v${++counter}-${c.user}`;
        written.add(value);
        const current = await local(c, op.name);
        if (current) {
          superseded.add(current.value);
          await c.store.update(current.id, { value });
        } else {
          await c.store.create({ name: op.name, value, scope: world.scope });
        }
        break;
      }
      case 'delete': {
        const current = await local(c, op.name);
        if (current) {
          superseded.add(current.value);
          await c.store.delete(current.id);
        }
        break;
      }
      case 'sync':
        await trySync(c);
        break;
      case 'offline':
        c.link.offline = op.offline;
        break;
      case 'flaky':
        c.link.failAfter(op.after, op.lostAnswer);
        await trySync(c);
        break;
      case 'resolve':
        await resolveOne(c, op.choice);
        break;
    }
  }

  // Final phase: everyone back online; sync and resolve (A keeps mine, B keeps theirs) until quiet.
  for (const c of clients) {
    c.link.offline = false;
    c.link.failAfter(Number.MAX_SAFE_INTEGER, false);
  }
  for (let round = 0; round < 12; round++) {
    for (const c of clients) await trySync(c);
    for (const [i, c] of clients.entries()) {
      while (c.engine.conflicts().length > 0) await resolveOne(c, i === 0 ? 'mine' : 'theirs');
    }
    const quiet = clients.every(
      (c) => c.engine.conflicts().length === 0 && c.engine.outbox().length === 0,
    );
    if (quiet && round > 0) break;
  }
  for (const c of clients) await c.engine.sync();

  const snapshot = async (c: ClientSide): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    for (const e of c.store.list()) {
      if (scopeKey(e.scope) === scopeKey(world.scope))
        out[e.name] = (await c.store.getValue(e.id)).value;
    }
    return out;
  };
  const server: Record<string, string> = {};
  for (const s of await clients[0].api.listSecrets({ scope: scopeKey(world.scope) })) {
    server[s.name] = (await clients[0].api.getValue(s.id)).value;
  }
  const [a, b] = [await snapshot(clients[0]), await snapshot(clients[1])];
  const problems: string[] = [];
  if (JSON.stringify(sorted(a)) !== JSON.stringify(sorted(server))) {
    problems.push(
      `client A ${JSON.stringify(sorted(a))} != server ${JSON.stringify(sorted(server))}`,
    );
  }
  if (JSON.stringify(sorted(b)) !== JSON.stringify(sorted(server))) {
    problems.push(
      `client B ${JSON.stringify(sorted(b))} != server ${JSON.stringify(sorted(server))}`,
    );
  }
  for (const c of clients) {
    if (c.engine.conflicts().length > 0) problems.push(`${c.user} still has conflicts`);
    if (c.engine.outbox().length > 0) problems.push(`${c.user} still has pending changes`);
  }
  const finals = new Set(Object.values(server));
  const lost = [...written].filter((v) => !finals.has(v) && !superseded.has(v));
  if (lost.length > 0) problems.push(`lost writes: ${lost.join(', ')}`);
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

function sorted(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([x], [y]) => x.localeCompare(y));
}
