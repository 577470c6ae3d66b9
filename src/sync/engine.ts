/**
 * The offline-first sync engine. The LocalSecretStore (values in SecretStorage, a value-free index)
 * stays the copy that everything reads; the engine pushes local changes with If-Match and pulls the
 * server's change feed from a stored cursor. It never drops either side of a conflict: the local
 * value stays in place, the server's stays on the server, and the entry is marked conflicted until
 * the user keeps one (see resolveConflict / compare).
 */
import type { SecretMetadata, SecretValue } from '../core/model';
import type { KeyValueSecretStore } from '../core/keyValueStore';
import { sharedBy, type LocalSecretStore, type SyncStep } from '../core/localStore';
import type { ApiClient } from './client';
import {
  saveState,
  whoAmI,
  type EngineContext,
  type SyncLogger,
  type SyncReport,
} from './engine/context';
import { adoptOwners, findOnServer, fromServer } from './engine/owners';
import {
  compare,
  conflictInfo,
  markConflict,
  resolveConflict,
  type Comparison,
} from './engine/conflicts';
import { pull } from './engine/pull';
import { fetchMeta, fetchRemote } from './engine/remote';
import { ApiError, isRetryable } from './errors';
import {
  emptyState,
  loadSyncState,
  outboxOf,
  saveSyncState,
  syncInfoOf,
  withSync,
  type ConflictInfo,
  type OutboxItem,
  type SyncInfo,
} from './syncState';

export type { Comparison, Side } from './engine/conflicts';
export type { LogLevel, SyncLogger, SyncReport } from './engine/context';

export interface SyncEngineOptions {
  client: ApiClient;
  store: LocalSecretStore;
  kv: KeyValueSecretStore;
  log?: SyncLogger;
  now?: () => Date;
  /** Page size of /v1/changes (server maximum 1000). */
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
      pageLimit: options.pageLimit ?? 500,
      concurrency: options.concurrency ?? 8,
      maxPages: options.maxPages ?? MAX_PAGES_PER_ROUND,
      state: emptyState(),
      me: undefined,
      batchValues: true,
    };
  }

  /** Loads the durable state and starts recording local deletes of synced secrets. */
  async init(): Promise<void> {
    this.ctx.state = await loadSyncState(this.ctx.kv);
    this.ctx.store.setDeleteHook(async (entry) => {
      // Another window may have written the state since: read, change, write.
      this.ctx.state = await loadSyncState(this.ctx.kv);
      const info = syncInfoOf(entry);
      const remote = info?.conflict?.remote;
      if (remote && remote.id !== entry.id) {
        // The local copy of a both-created conflict is gone: theirs must come back here.
        this.ctx.state = { ...this.ctx.state, refetch: [...this.ctx.state.refetch, remote.id] };
        await saveSyncState(this.ctx.kv, this.ctx.state);
      }
      if (!info || info.base === null) return;
      if (info.conflict?.kind === 'deleted_there') return;
      // Based on the version this copy came from: a change made there since makes it a conflict.
      const base = info.base;
      this.ctx.state = {
        ...this.ctx.state,
        deletes: [
          ...this.ctx.state.deletes.filter((d) => d.id !== entry.id),
          { id: entry.id, name: entry.name, scope: entry.scope, base },
        ],
      };
      await saveSyncState(this.ctx.kv, this.ctx.state);
    });
  }

  dispose(): void {
    this.ctx.store.setDeleteHook(undefined);
  }

  get lastSyncAt(): Date | undefined {
    return this.ctx.state.last_sync_at ? new Date(this.ctx.state.last_sync_at) : undefined;
  }

  /** Pending local changes (creates, updates, deletes), pointing at value keys, never values. */
  outbox(): OutboxItem[] {
    return outboxOf(this.ctx.store.list(), this.ctx.state);
  }

  conflicts(): ConflictView[] {
    const out: ConflictView[] = [];
    for (const entry of this.ctx.store.list()) {
      const conflict = syncInfoOf(entry)?.conflict;
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
      await this.push(report);
      await pull(this.ctx, report);
      this.ctx.state = { ...this.ctx.state, last_sync_at: this.ctx.now().toISOString() };
      await saveState(this.ctx);
      report.conflicts = this.conflicts().length;
      return report;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Push

  private async push(report: SyncReport): Promise<void> {
    for (const pending of [...this.ctx.state.deletes]) {
      await this.pushDelete(pending.id, pending.base, report);
    }
    for (const entry of [...this.ctx.store.list()]) {
      const info = syncInfoOf(entry);
      if (info?.conflict) continue;
      if (info?.error && info.error.lv === entry.version) continue;
      const create = !info || info.base === null;
      if (!create && entry.version === info.lv) continue;
      // Someone else's secret can only be edited in place, never created in their scope.
      if (create && sharedBy(entry) !== undefined) continue;
      await this.pushEntry(entry, create ? null : info.base!, report);
    }
  }

  private async pushDelete(id: string, base: number, report: SyncReport): Promise<void> {
    const drop = async (): Promise<void> => {
      this.ctx.state = {
        ...this.ctx.state,
        deletes: this.ctx.state.deletes.filter((d) => d.id !== id),
      };
      await saveState(this.ctx);
    };
    if (this.ctx.store.get(id)) return drop(); // the delete never happened (crash before it)
    try {
      await this.ctx.client.deleteSecret(id, base);
      report.pushed++;
      this.ctx.log('info', `Deleted ${id} on the server.`);
      return drop();
    } catch (error) {
      if (isRetryable(error) || !(error instanceof ApiError)) throw error;
      if (error.status === 404) return drop();
      if (error.status !== 412 && error.status !== 403) throw error;
      // Changed on the server since (412), or we may only read it (403): bring theirs back.
      const remote = await fetchRemote(this.ctx, id);
      if (remote) {
        const conflict =
          error.status === 412 ? conflictInfo(this.ctx, 'deleted_here', remote.meta) : undefined;
        const sync: SyncInfo = { base: remote.meta.version, lv: remote.meta.version, conflict };
        const [ok] = await this.ctx.store.applySync([
          { kind: 'put', entry: fromServer(this.ctx, remote.meta, sync), value: remote.value },
        ]);
        if (!ok)
          this.ctx.log(
            'warn',
            `Could not restore '${remote.meta.name}': a local secret has its name.`,
          );
        if (error.status === 403) {
          report.errors.push({
            name: remote.meta.name,
            message: `You can only read '${remote.meta.name}', so it was not deleted on the server; it is back.`,
          });
        }
      }
      return drop();
    }
  }

  private async pushEntry(
    entry: SecretMetadata,
    base: number | null,
    report: SyncReport,
  ): Promise<void> {
    let value: SecretValue;
    try {
      value = await this.ctx.store.getValue(entry.id);
    } catch (error) {
      this.ctx.log('warn', `Not pushing '${entry.name}': ${(error as Error).message}`);
      return;
    }
    try {
      const meta =
        base === null
          ? await this.ctx.client.createSecret({
              name: entry.name,
              value: value.value,
              encoding: value.encoding,
              type: entry.type,
              description: entry.description,
              scope: entry.scope,
            })
          : await this.ctx.client.updateSecret(entry.id, base, {
              value: value.value,
              encoding: value.encoding,
              type: entry.type,
              description: entry.description,
            });
      report.pushed++;
      this.ctx.log('info', `Pushed '${entry.name}' (server version ${meta.version}).`);
      await this.afterPush(entry.id, entry.version, meta);
    } catch (error) {
      if (isRetryable(error) || !(error instanceof ApiError) || error.status === 401) throw error;
      if (base === null && error.status === 409) {
        const remote = await findOnServer(this.ctx, entry);
        if (remote) return markConflict(this.ctx, entry, 'both_created', remote, report);
      }
      if (base !== null && error.status === 412) {
        const remote = await fetchMeta(this.ctx, entry.id);
        return markConflict(
          this.ctx,
          entry,
          remote ? 'both_edited' : 'deleted_there',
          remote ?? null,
          report,
        );
      }
      if (base !== null && error.status === 404) {
        return markConflict(this.ctx, entry, 'deleted_there', null, report, 'deleted');
      }
      if (base !== null && error.status === 403) {
        const remote = await fetchMeta(this.ctx, entry.id);
        return markConflict(this.ctx, entry, 'rejected', remote ?? null, report);
      }
      // Refused for good (bad input, too large, scope not allowed…): keep it, mark it, move on.
      const info = syncInfoOf(entry);
      await this.ctx.store.applySync([
        {
          kind: 'patch',
          id: entry.id,
          ifVersion: entry.version,
          fields: {
            sync: {
              base: info?.base ?? null,
              lv: info?.lv ?? 0,
              error: { lv: entry.version, code: error.code, message: error.message },
            } satisfies SyncInfo,
          },
        },
      ]);
      report.errors.push({ name: entry.name, message: error.message });
      this.ctx.log('warn', `The server refused '${entry.name}': ${error.message}`);
    }
  }

  /** Records a successful push; an edit made meanwhile stays pending on top of the new version. */
  private async afterPush(
    localId: string,
    pushedVersion: number,
    meta: SecretMetadata,
  ): Promise<void> {
    const clean: SyncInfo = { base: meta.version, lv: meta.version };
    const [ok] = await this.ctx.store.applySync([
      {
        kind: 'put',
        entry: fromServer(this.ctx, meta, clean),
        replaceId: localId,
        ifVersion: pushedVersion,
      },
    ]);
    if (ok) return;
    const current = this.ctx.store.get(localId);
    if (current) {
      const dirty: SyncInfo = { base: meta.version, lv: pushedVersion };
      await this.ctx.store.applySync([
        { kind: 'put', entry: withSync({ ...current, id: meta.id }, dirty), replaceId: localId },
      ]);
    } else {
      // Deleted here while the push was in flight: delete it on the server too.
      this.ctx.state = {
        ...this.ctx.state,
        deletes: [
          ...this.ctx.state.deletes,
          { id: meta.id, name: meta.name, scope: meta.scope, base: meta.version },
        ],
      };
      await saveState(this.ctx);
    }
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

  // ---------------------------------------------------------------------------------------------
  // Sign out

  /**
   * Forgets the server: removes local copies of other people's secrets and of team and project
   * secrets that have no local change, and turns the rest into local-only secrets. Never removes
   * a local change.
   */
  forget(): Promise<void> {
    return this.serial(async () => {
      const steps: SyncStep[] = [];
      for (const entry of this.ctx.store.list()) {
        const info = syncInfoOf(entry);
        if (!info) continue;
        const clean = info.base !== null && !info.conflict && entry.version === info.lv;
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
