/**
 * The offline-first sync engine. The LocalSecretStore (values in SecretStorage, a value-free index)
 * stays the copy that everything reads; the engine pushes local changes with If-Match and pulls the
 * server's change feed from a stored cursor. It never drops either side of a conflict: the local
 * value stays in place, the server's stays on the server, and the entry is marked conflicted until
 * the user keeps one (see resolveConflict / compare).
 *
 * The parts live in engine/: push.ts, pull.ts (the change feed), conflicts.ts, owners.ts (whose
 * secret an entry is), remote.ts (reads of one server copy) and context.ts (what they share).
 * `SyncEngine` binds them to one context and runs rounds, resolves and sign-out one at a time.
 */
import type { SecretMetadata } from '../core/model';
import type { KeyValueSecretStore } from '../core/keyValueStore';
import { sharedBy, type LocalSecretStore, type SyncStep } from '../core/localStore';
import type { ApiClient } from './client';
import { compare, resolveConflict, type Comparison } from './engine/conflicts';
import {
  saveState,
  whoAmI,
  type EngineContext,
  type SyncLogger,
  type SyncReport,
} from './engine/context';
import { adoptOwners } from './engine/owners';
import { pull } from './engine/pull';
import { push, recordDelete } from './engine/push';
import {
  emptyState,
  inStep,
  loadSyncState,
  outboxOf,
  type ConflictInfo,
  type OutboxItem,
} from './syncState';

export type { Comparison, Side } from './engine/conflicts';
export type { LogLevel, SyncLogger, SyncReport } from './engine/context';

export interface SyncEngineOptions {
  client: ApiClient;
  store: LocalSecretStore;
  kv: KeyValueSecretStore;
  log?: SyncLogger;
  now?: () => Date;
  /** Page size of /v1/changes (default and server maximum 1000). */
  pageLimit?: number;
  /** Parallel value downloads while pulling. */
  concurrency?: number;
  /** Most pages of /v1/changes one round reads; the next round carries on from the cursor. */
  maxPages?: number;
}

/** Default bound of change-feed pages per round (with 500 a page, a million changes). */
export const MAX_PAGES_PER_ROUND = 2000;

export interface ConflictView {
  id: string;
  name: string;
  scope: SecretMetadata['scope'];
  conflict: ConflictInfo;
}

export class SyncEngine {
  private readonly ctx: EngineContext;
  private running: Promise<unknown> = Promise.resolve();

  constructor(options: SyncEngineOptions) {
    this.ctx = {
      client: options.client,
      store: options.store,
      kv: options.kv,
      log: options.log ?? (() => undefined),
      now: options.now ?? (() => new Date()),
      pageLimit: options.pageLimit ?? 1000,
      concurrency: options.concurrency ?? 8,
      maxPages: options.maxPages ?? MAX_PAGES_PER_ROUND,
      state: emptyState(),
      me: undefined,
      batchValues: undefined,
      listingParts: undefined,
      ownersAdopted: undefined,
    };
  }

  /** Loads the durable state and starts recording local deletes of synced secrets. */
  async init(): Promise<void> {
    this.ctx.state = await loadSyncState(this.ctx.kv);
    this.ctx.store.setDeleteHook((entry) => recordDelete(this.ctx, entry));
  }

  dispose(): void {
    this.ctx.store.setDeleteHook(undefined);
  }

  get lastSyncAt(): Date | undefined {
    return this.ctx.state.last_sync_at ? new Date(this.ctx.state.last_sync_at) : undefined;
  }

  /** Pending local changes (creates, updates, deletes), pointing at value keys, never values. */
  outbox(): OutboxItem[] {
    return outboxOf(this.ctx.store.unsynced(), this.ctx.state);
  }

  conflicts(): ConflictView[] {
    const out: ConflictView[] = [];
    for (const entry of this.ctx.store.unsynced()) {
      const conflict = entry.sync?.conflict;
      if (conflict) out.push({ id: entry.id, name: entry.name, scope: entry.scope, conflict });
    }
    return out;
  }

  /**
   * One round: push local changes, then pull the server's. Rounds never overlap. Throws on a
   * failure that stops the round (server unreachable, 401, malformed answer); what was done
   * before it stays done, and the next round carries on from there.
   */
  sync(): Promise<SyncReport> {
    return this.serial(async () => {
      const report: SyncReport = { pushed: 0, pulled: 0, removed: 0, conflicts: 0, errors: [] };
      this.ctx.state = await loadSyncState(this.ctx.kv); // another window may have synced meanwhile
      const me = await whoAmI(this.ctx);
      if (this.ctx.state.user !== null && this.ctx.state.user !== me) {
        // Another account's cursor means nothing here: take a full listing.
        this.ctx.state = { ...this.ctx.state, cursor: null, deletes: [] };
      }
      this.ctx.state = { ...this.ctx.state, user: me };
      await adoptOwners(this.ctx, me);
      await push(this.ctx, report);
      await pull(this.ctx, report);
      this.ctx.state = { ...this.ctx.state, last_sync_at: this.ctx.now().toISOString() };
      await saveState(this.ctx);
      report.conflicts = this.conflicts().length;
      return report;
    });
  }

  /**
   * Resolves a conflict: "mine" makes the local side the server's newest version (or deletes it
   * there); "theirs" replaces the local side with the server's. Needs the server.
   */
  resolveConflict(id: string, choice: 'mine' | 'theirs'): Promise<void> {
    return this.serial(() => resolveConflict(this.ctx, id, choice));
  }

  /** Both sides of a conflict: versions, authors, times; values only when asked. */
  compare(id: string, options: { values?: boolean } = {}): Promise<Comparison> {
    return compare(this.ctx, id, options);
  }

  /**
   * Forgets the server: removes local copies of other people's secrets and of team and project
   * secrets that have no local change, and turns the rest into local-only secrets. Never removes
   * a local change.
   */
  forget(): Promise<void> {
    return this.serial(async () => {
      const steps: SyncStep[] = [];
      for (const entry of this.ctx.store.list()) {
        if (!entry.sync) continue;
        const clean = inStep(entry);
        const mineOnly = entry.scope.kind === 'personal' && sharedBy(entry) === undefined;
        if (clean && !mineOnly) {
          steps.push({ kind: 'remove', id: entry.id, ifVersion: entry.version });
        } else {
          steps.push({ kind: 'patch', id: entry.id, fields: { sync: undefined, role: undefined } });
        }
      }
      await this.ctx.store.applySync(steps);
      this.ctx.state = emptyState();
      await saveState(this.ctx);
      this.ctx.me = undefined;
    });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.running.then(work, work);
    this.running = run.catch(() => undefined);
    return run;
  }
}
