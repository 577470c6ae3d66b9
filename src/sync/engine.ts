/**
 * The offline-first sync engine. The LocalSecretStore (values in SecretStorage, a value-free index)
 * stays the copy that everything reads; the engine pushes local changes with If-Match and pulls the
 * server's change feed from a stored cursor. It never drops either side of a conflict: the local
 * value stays in place, the server's stays on the server, and the entry is marked conflicted until
 * the user keeps one (see resolveConflict / compare).
 */
import type { SecretMetadata, SecretValue, UpdateSecret } from '../core/model';
import { MAX_VALUES_PER_REQUEST, type Change, type ChangesPage } from '../core/api';
import type { KeyValueSecretStore } from '../core/keyValueStore';
import {
  AccessDenied,
  InvalidInput,
  MalformedResponse,
  SecretNotFound,
  SecretsError,
  VersionConflict,
} from '../core/errors';
import { PERSONAL } from '../core/model';
import { sameScope } from '../core/scope';
import { sharedBy, valueKeyOf, type LocalSecretStore, type SyncStep } from '../core/localStore';
import type { ApiClient } from './client';
import { ApiError, isRetryable } from './errors';
import {
  emptyState,
  loadSyncState,
  outboxOf,
  saveSyncState,
  syncInfoOf,
  withSync,
  type ConflictInfo,
  type ConflictKind,
  type OutboxItem,
  type SyncInfo,
  type SyncStateFile,
} from './syncState';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Receives names, ids and counts only: the engine never passes a value or a token to it. */
export type SyncLogger = (level: LogLevel, message: string) => void;

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

export interface SyncReport {
  pushed: number;
  pulled: number;
  removed: number;
  conflicts: number;
  /** Entries the server refused for good (bad input, too large…), with the server's message. */
  errors: { name: string; message: string }[];
}

export interface ConflictView {
  id: string;
  name: string;
  scope: SecretMetadata['scope'];
  conflict: ConflictInfo;
}

export interface Side {
  /** Null when this side deleted the secret (or lost access to it). */
  version: number | null;
  /** Mine only: the server version the local edit started from (null: never on the server). */
  base?: number | null;
  author: string | null;
  at: string | null;
  deleted: boolean;
  value?: SecretValue;
}

export interface Comparison {
  id: string;
  name: string;
  kind: ConflictKind;
  mine: Side;
  theirs: Side;
}

export class SyncEngine {
  private state: SyncStateFile = emptyState();
  private readonly client: ApiClient;
  private readonly store: LocalSecretStore;
  private readonly kv: KeyValueSecretStore;
  private readonly log: SyncLogger;
  private readonly now: () => Date;
  private readonly pageLimit: number;
  private readonly concurrency: number;
  private readonly maxPages: number;
  private running: Promise<unknown> = Promise.resolve();
  private me: string | undefined;
  /** False once the server answered 404 to POST /v1/values (an older server), for the session. */
  private batchValues = true;

  constructor(options: SyncEngineOptions) {
    this.client = options.client;
    this.store = options.store;
    this.kv = options.kv;
    this.log = options.log ?? (() => undefined);
    this.now = options.now ?? (() => new Date());
    this.pageLimit = options.pageLimit ?? 500;
    this.concurrency = options.concurrency ?? 8;
    this.maxPages = options.maxPages ?? MAX_PAGES_PER_ROUND;
  }

  /** Loads the durable state and starts recording local deletes of synced secrets. */
  async init(): Promise<void> {
    this.state = await loadSyncState(this.kv);
    this.store.setDeleteHook(async (entry) => {
      // Another window may have written the state since: read, change, write.
      this.state = await loadSyncState(this.kv);
      const info = syncInfoOf(entry);
      const remote = info?.conflict?.remote;
      if (remote && remote.id !== entry.id) {
        // The local copy of a both-created conflict is gone: theirs must come back here.
        this.state = { ...this.state, refetch: [...this.state.refetch, remote.id] };
        await saveSyncState(this.kv, this.state);
      }
      if (!info || info.base === null) return;
      if (info.conflict?.kind === 'deleted_there') return;
      // Based on the version this copy came from: a change made there since makes it a conflict.
      const base = info.base;
      this.state = {
        ...this.state,
        deletes: [
          ...this.state.deletes.filter((d) => d.id !== entry.id),
          { id: entry.id, name: entry.name, scope: entry.scope, base },
        ],
      };
      await saveSyncState(this.kv, this.state);
    });
  }

  dispose(): void {
    this.store.setDeleteHook(undefined);
  }

  get lastSyncAt(): Date | undefined {
    return this.state.last_sync_at ? new Date(this.state.last_sync_at) : undefined;
  }

  /** Pending local changes (creates, updates, deletes), pointing at value keys, never values. */
  outbox(): OutboxItem[] {
    return outboxOf(this.store.list(), this.state);
  }

  conflicts(): ConflictView[] {
    const out: ConflictView[] = [];
    for (const entry of this.store.list()) {
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
      this.state = await loadSyncState(this.kv); // another window may have synced meanwhile
      const me = await this.whoAmI();
      if (this.state.user !== null && this.state.user !== me) {
        // Another account's cursor means nothing here: take a full listing.
        this.state = { ...this.state, cursor: null, deletes: [] };
      }
      this.state = { ...this.state, user: me };
      await this.adoptOwners(me);
      await this.push(report);
      await this.pull(report);
      this.state = { ...this.state, last_sync_at: this.now().toISOString() };
      await this.saveState();
      report.conflicts = this.conflicts().length;
      return report;
    });
  }

  /** The server's id of the signed-in user (asked once per session). */
  private async whoAmI(): Promise<string> {
    this.me ??= (await this.client.me()).user.id;
    return this.me;
  }

  /**
   * A server copy as a local index entry: someone else's personal secret carries its owner, so it
   * sits beside (never in place of) your own secret of the same name.
   */
  private fromServer(meta: SecretMetadata, sync: SyncInfo | undefined): SecretMetadata {
    const entry: Record<string, unknown> = { ...withSync(meta, sync) };
    delete entry.owner;
    if (meta.scope.kind === 'personal' && this.me !== undefined && meta.created_by !== this.me) {
      entry.owner = meta.created_by;
    }
    return entry as SecretMetadata;
  }

  /**
   * Stores written before entries carried an owner kept someone else's shared personal secret in
   * the place of your own secret of that name. Gives each its owner, and takes a full listing so
   * that a secret of yours it stood in for comes back.
   */
  private async adoptOwners(me: string): Promise<void> {
    const steps: SyncStep[] = [];
    for (const entry of this.store.list()) {
      if (entry.scope.kind !== 'personal' || sharedBy(entry) !== undefined) continue;
      const info = syncInfoOf(entry);
      if (!info || info.base === null || entry.created_by === me) continue;
      steps.push({ kind: 'put', entry: { ...entry, owner: entry.created_by } as SecretMetadata });
    }
    if (steps.length === 0) return;
    const done = await this.store.applySync(steps);
    this.log('info', `Marked ${done.filter(Boolean).length} shared secret(s) with their owner.`);
    this.state = { ...this.state, cursor: null };
    await this.saveState();
  }

  /** Your own secrets as the server lists them: someone else's shared personal ones left out. */
  private async findOnServer(entry: SecretMetadata): Promise<SecretMetadata | undefined> {
    const me = await this.whoAmI();
    return (await this.client.listSecrets({ q: entry.name })).find(
      (s) =>
        s.name === entry.name &&
        sameScope(s.scope, entry.scope) &&
        (s.scope.kind !== 'personal' || s.created_by === me),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Push

  private async push(report: SyncReport): Promise<void> {
    for (const pending of [...this.state.deletes]) {
      await this.pushDelete(pending.id, pending.base, report);
    }
    for (const entry of [...this.store.list()]) {
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
      this.state = { ...this.state, deletes: this.state.deletes.filter((d) => d.id !== id) };
      await this.saveState();
    };
    if (this.store.get(id)) return drop(); // the delete never happened (crash before it)
    try {
      await this.client.deleteSecret(id, base);
      report.pushed++;
      this.log('info', `Deleted ${id} on the server.`);
      return drop();
    } catch (error) {
      if (isRetryable(error) || !(error instanceof ApiError)) throw error;
      if (error.status === 404) return drop();
      if (error.status !== 412 && error.status !== 403) throw error;
      // Changed on the server since (412), or we may only read it (403): bring theirs back.
      const remote = await this.fetchRemote(id);
      if (remote) {
        const conflict =
          error.status === 412 ? this.conflictInfo('deleted_here', remote.meta) : undefined;
        const sync: SyncInfo = { base: remote.meta.version, lv: remote.meta.version, conflict };
        const [ok] = await this.store.applySync([
          { kind: 'put', entry: this.fromServer(remote.meta, sync), value: remote.value },
        ]);
        if (!ok)
          this.log('warn', `Could not restore '${remote.meta.name}': a local secret has its name.`);
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
      value = await this.store.getValue(entry.id);
    } catch (error) {
      this.log('warn', `Not pushing '${entry.name}': ${(error as Error).message}`);
      return;
    }
    try {
      const meta =
        base === null
          ? await this.client.createSecret({
              name: entry.name,
              value: value.value,
              encoding: value.encoding,
              type: entry.type,
              description: entry.description,
              scope: entry.scope,
            })
          : await this.client.updateSecret(entry.id, base, {
              value: value.value,
              encoding: value.encoding,
              type: entry.type,
              description: entry.description,
            });
      report.pushed++;
      this.log('info', `Pushed '${entry.name}' (server version ${meta.version}).`);
      await this.afterPush(entry.id, entry.version, meta);
    } catch (error) {
      if (isRetryable(error) || !(error instanceof ApiError) || error.status === 401) throw error;
      if (base === null && error.status === 409) {
        const remote = await this.findOnServer(entry);
        if (remote) return this.markConflict(entry, 'both_created', remote, report);
      }
      if (base !== null && error.status === 412) {
        const remote = await this.fetchMeta(entry.id);
        return this.markConflict(
          entry,
          remote ? 'both_edited' : 'deleted_there',
          remote ?? null,
          report,
        );
      }
      if (base !== null && error.status === 404) {
        return this.markConflict(entry, 'deleted_there', null, report, 'deleted');
      }
      if (base !== null && error.status === 403) {
        const remote = await this.fetchMeta(entry.id);
        return this.markConflict(entry, 'rejected', remote ?? null, report);
      }
      // Refused for good (bad input, too large, scope not allowed…): keep it, mark it, move on.
      const info = syncInfoOf(entry);
      await this.store.applySync([
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
      this.log('warn', `The server refused '${entry.name}': ${error.message}`);
    }
  }

  /** Records a successful push; an edit made meanwhile stays pending on top of the new version. */
  private async afterPush(
    localId: string,
    pushedVersion: number,
    meta: SecretMetadata,
  ): Promise<void> {
    const clean: SyncInfo = { base: meta.version, lv: meta.version };
    const [ok] = await this.store.applySync([
      {
        kind: 'put',
        entry: this.fromServer(meta, clean),
        replaceId: localId,
        ifVersion: pushedVersion,
      },
    ]);
    if (ok) return;
    const current = this.store.get(localId);
    if (current) {
      const dirty: SyncInfo = { base: meta.version, lv: pushedVersion };
      await this.store.applySync([
        { kind: 'put', entry: withSync({ ...current, id: meta.id }, dirty), replaceId: localId },
      ]);
    } else {
      // Deleted here while the push was in flight: delete it on the server too.
      this.state = {
        ...this.state,
        deletes: [
          ...this.state.deletes,
          { id: meta.id, name: meta.name, scope: meta.scope, base: meta.version },
        ],
      };
      await this.saveState();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Pull

  private async pull(report: SyncReport): Promise<void> {
    if (this.state.refetch.length > 0) {
      const again: Change[] = [];
      for (const id of this.state.refetch) {
        const meta = await this.fetchMeta(id);
        again.push(
          meta ? { kind: 'upsert', secret: meta } : { kind: 'tombstone', id, reason: 'deleted' },
        );
      }
      await this.applyChanges(again, report);
      this.state = { ...this.state, refetch: [] };
      await this.saveState();
    }
    let cursor = this.state.cursor ?? undefined;
    let seen: Set<string> | undefined;
    for (let pages = 0; ; pages++) {
      if (pages === this.maxPages) {
        throw new MalformedResponse(
          `The server's change feed did not end after ${this.maxPages} pages; sync stopped here and carries on from this point next time.`,
        );
      }
      const page: ChangesPage = await this.client.changes(cursor, this.pageLimit);
      if (page.more && page.next === cursor) {
        throw new MalformedResponse(
          "The server's change feed did not move past its cursor (it answered more changes at the same point); sync stopped. Check the server version, or sign out and in again.",
        );
      }
      if (page.reset && !seen) seen = new Set();
      if (seen) for (const c of page.changes) if (c.kind === 'upsert') seen.add(c.secret.id);
      await this.applyChanges(page.changes, report);
      cursor = page.next;
      if (!seen) {
        this.state = { ...this.state, cursor };
        await this.saveState();
      }
      if (!page.more) break;
    }
    if (seen) {
      // A full listing: what we hold from the server but it no longer lists is gone for us.
      const gone: Change[] = [];
      for (const entry of this.store.list()) {
        const info = syncInfoOf(entry);
        if (info && info.base !== null && !seen.has(entry.id)) {
          gone.push({ kind: 'tombstone', id: entry.id, reason: 'deleted' });
        }
      }
      await this.applyChanges(gone, report);
      this.state = { ...this.state, cursor: cursor ?? null };
      await this.saveState();
    }
  }

  private async applyChanges(changes: readonly Change[], report: SyncReport): Promise<void> {
    // Later changes of one id supersede earlier ones within a page.
    const latest = new Map<string, Change>();
    for (const c of changes) latest.set(c.kind === 'upsert' ? c.secret.id : c.id, c);

    // Lookups by id and by name+scope for the whole page (the store's own are linear scans).
    const byId = new Map(this.store.list().map((e) => [e.id, e] as const));
    const byKey = new Map(this.store.list().map((e) => [valueKeyOf(e), e] as const));
    const steps: SyncStep[] = [];
    const needValue: { meta: SecretMetadata; then: (value: SecretValue | null) => void }[] = [];
    const conflicts: (() => Promise<void>)[] = [];
    const dropDeletes = new Set<string>();
    // Brings the server's copy of `meta` here once its value is fetched, based on that version:
    // marked as deleted here (a conflict) or counted as pulled, applied with `guards`.
    const pull = (
      meta: SecretMetadata,
      deletedHere: boolean,
      guards: { replaceId?: string; ifVersion?: number } = {},
    ): void => {
      needValue.push({
        meta,
        then: (value) => {
          if (!value) return;
          const sync: SyncInfo = deletedHere
            ? {
                base: meta.version,
                lv: meta.version,
                conflict: this.conflictInfo('deleted_here', meta),
              }
            : { base: meta.version, lv: meta.version };
          steps.push({
            kind: 'put',
            entry: this.fromServer(meta, sync),
            value: toEnvelope(value),
            ...guards,
          });
          if (!deletedHere) report.pulled++;
        },
      });
    };
    // Entries this page removes do not block a new secret of the same name (delete, then re-create).
    const removing = new Set<string>();
    for (const change of latest.values()) {
      if (change.kind === 'tombstone') removing.add(change.id);
    }

    for (const change of latest.values()) {
      if (change.kind === 'tombstone') {
        dropDeletes.add(change.id);
        const local = byId.get(change.id);
        if (!local) continue;
        const info = syncInfoOf(local);
        const clean = info && info.base !== null && local.version === info.lv;
        // Access lost: the value may no longer be read here, whatever was edited locally.
        if (clean || info?.conflict?.kind === 'deleted_here' || change.reason === 'access_lost') {
          if (!clean && change.reason === 'access_lost') {
            this.log('warn', `Lost access to '${local.name}'; removed it from this machine.`);
          }
          const lost = change.reason === 'access_lost';
          steps.push({ kind: 'remove', id: local.id, ...(!lost && { ifVersion: local.version }) });
          report.removed++;
        } else {
          conflicts.push(() =>
            this.markConflict(local, 'deleted_there', null, report, change.reason),
          );
        }
        continue;
      }
      const meta = change.secret;
      const pendingDelete = this.state.deletes.find((d) => d.id === meta.id);
      if (pendingDelete) {
        if (meta.version !== pendingDelete.base) {
          // Deleted here, changed there: bring theirs back, marked, and forget the delete.
          dropDeletes.add(meta.id);
          pull(meta, true);
        }
        continue;
      }
      const local = byId.get(meta.id);
      if (!local) {
        const found = byKey.get(valueKeyOf(this.fromServer(meta, undefined)));
        const clash = found && removing.has(found.id) && isClean(found) ? undefined : found;
        if (!clash) {
          pull(meta, false);
          continue;
        }
        const clashInfo = syncInfoOf(clash);
        const clashClean =
          clashInfo &&
          clashInfo.base !== null &&
          !clashInfo.conflict &&
          clash.version === clashInfo.lv;
        if (clashClean) {
          // A stale copy of a secret the server has since replaced under a new id.
          pull(meta, false, { replaceId: clash.id, ifVersion: clash.version });
        } else {
          conflicts.push(() => this.markConflict(clash, 'both_created', meta, report));
        }
        continue;
      }
      const info = syncInfoOf(local);
      if (!info) continue;
      if (info.conflict) {
        if (info.conflict.kind === 'deleted_here' && local.version === info.lv) {
          pull(meta, true, { ifVersion: local.version });
        } else {
          const kind = info.conflict.kind === 'deleted_there' ? 'both_edited' : info.conflict.kind;
          steps.push({
            kind: 'patch',
            id: local.id,
            fields: { sync: { ...info, conflict: this.conflictInfo(kind, meta) } },
          });
        }
        continue;
      }
      if (info.base !== null && meta.version <= info.base) continue; // our own echo, or older
      if (local.version === info.lv) {
        pull(meta, false, { ifVersion: local.version });
      } else {
        conflicts.push(() => this.markConflict(local, 'both_edited', meta, report));
      }
    }

    await this.fetchValues(needValue);
    if (steps.length > 0) await this.store.applySync(steps);
    for (const mark of conflicts) await mark();
    if (dropDeletes.size > 0) {
      this.state = {
        ...this.state,
        deletes: this.state.deletes.filter((d) => !dropDeletes.has(d.id)),
      };
      await this.saveState();
    }
  }

  /**
   * Downloads the values of `jobs`: in chunks of up to MAX_VALUES_PER_REQUEST through
   * `POST /v1/values`, or one by one on a server without that route. A secret gone meanwhile or no
   * longer visible (`missing`, as a 404 of the single read) gives null.
   */
  private async fetchValues(
    jobs: { meta: SecretMetadata; then: (value: SecretValue | null) => void }[],
  ): Promise<void> {
    const results = new Map<string, SecretValue | null>();
    const ids = [...new Set(jobs.map((job) => job.meta.id))];
    let done = 0;
    while (this.batchValues && done < ids.length) {
      const chunk = ids.slice(done, done + MAX_VALUES_PER_REQUEST);
      let answer;
      try {
        answer = await this.client.getValues(chunk);
      } catch (error) {
        // An older server has no POST /v1/values: use the single reads for this session.
        if (!(error instanceof ApiError && error.status === 404)) throw error;
        this.batchValues = false;
        this.log(
          'info',
          'The server has no POST /v1/values (an older version); reading values one by one.',
        );
        break;
      }
      for (const { id, value, encoding, version } of answer.values) {
        results.set(id, { value, encoding, version });
      }
      for (const id of answer.missing) results.set(id, null);
      done += chunk.length;
    }
    if (done < ids.length) {
      const names = new Map(jobs.map((job) => [job.meta.id, job.meta.name]));
      await this.fetchValuesOneByOne(ids.slice(done), names, results);
    }
    for (const job of jobs) job.then(results.get(job.meta.id) ?? null);
  }

  /** The per-id path: a few `GET /v1/secrets/{id}/value` at a time; 404 (and 403) give null. */
  private async fetchValuesOneByOne(
    ids: string[],
    names: Map<string, string>,
    results: Map<string, SecretValue | null>,
  ): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length) {
        const id = ids[next++]!;
        try {
          results.set(id, await this.client.getValue(id));
        } catch (error) {
          // Gone meanwhile (404), or not readable after all (403): skip it rather than stall
          // every later round on it; a later change brings it again.
          if (error instanceof ApiError && (error.status === 404 || error.status === 403)) {
            results.set(id, null);
            if (error.status === 403)
              this.log('warn', `Skipped '${names.get(id) ?? id}': ${error.message}`);
          } else throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, ids.length) }, worker));
  }

  // ---------------------------------------------------------------------------------------------
  // Conflicts

  private conflictInfo(
    kind: ConflictKind,
    remote: SecretMetadata | null,
    reason?: 'deleted' | 'access_lost',
  ): ConflictInfo {
    return {
      kind,
      remote: remote ? withSync(remote, undefined) : null,
      ...(reason && { reason }),
      detected_at: this.now().toISOString(),
    };
  }

  /**
   * Marks a local entry conflicted. When both sides already agree (same value, type and
   * description), it takes the server's copy instead: there is nothing to choose.
   */
  private async markConflict(
    entry: SecretMetadata,
    kind: ConflictKind,
    remote: SecretMetadata | null,
    report: SyncReport,
    reason?: 'deleted' | 'access_lost',
  ): Promise<void> {
    if (remote && (kind === 'both_edited' || kind === 'both_created')) {
      const theirs = await this.tryValue(remote.id);
      const mine = await this.store.getValue(entry.id).catch(() => undefined);
      if (
        theirs &&
        mine &&
        theirs.value === mine.value &&
        theirs.encoding === mine.encoding &&
        remote.type === entry.type &&
        remote.description === entry.description
      ) {
        const sync: SyncInfo = { base: remote.version, lv: remote.version };
        const [ok] = await this.store.applySync([
          {
            kind: 'put',
            entry: this.fromServer(remote, sync),
            replaceId: entry.id,
            ifVersion: entry.version,
          },
        ]);
        if (ok) return;
      }
    }
    const info = syncInfoOf(entry);
    const sync: SyncInfo = {
      base: info?.base ?? null,
      lv: info?.lv ?? 0,
      conflict: this.conflictInfo(kind, remote, reason),
    };
    const [ok] = await this.store.applySync([
      { kind: 'patch', id: entry.id, ifVersion: entry.version, fields: { sync } },
    ]);
    if (ok) {
      report.conflicts++;
      this.log(
        'warn',
        `Conflict on '${entry.name}' (${kind}); both sides are kept until you choose.`,
      );
    }
  }

  /**
   * Resolves a conflict: "mine" makes the local side the server's newest version (or deletes it
   * there); "theirs" replaces the local side with the server's. Needs the server.
   */
  resolveConflict(id: string, choice: 'mine' | 'theirs'): Promise<void> {
    return this.serial(async () => {
      const entry = this.store.get(id);
      if (!entry) throw new SecretNotFound(id);
      const info = syncInfoOf(entry);
      const conflict = info?.conflict;
      if (!info || !conflict) throw new InvalidInput(`'${entry.name}' has no conflict to resolve.`);
      const remote = conflict.remote;
      await this.whoAmI();

      // Deleted here, changed there, and not edited here since: "mine" is the delete. (A copy
      // edited here since is an edit against theirs, resolved like both_edited below.)
      if (conflict.kind === 'deleted_here' && entry.version === info.lv && choice === 'mine') {
        try {
          await this.client.deleteSecret(id, remote?.version ?? info.base ?? undefined);
        } catch (error) {
          if (!(error instanceof ApiError && error.status === 404)) {
            await this.refreshAfter412(error, entry, info);
            throw error;
          }
        }
        await this.store.applySync([{ kind: 'remove', id }]);
        return;
      }

      if (choice === 'theirs') {
        // Always the server's copy as it is now, never the one the conflict recorded.
        if (!remote) {
          await this.store.applySync([{ kind: 'remove', id }]);
          return;
        }
        const fresh = await this.fetchRemote(remote.id);
        if (!fresh) {
          await this.store.applySync([{ kind: 'remove', id }]);
          return;
        }
        const sync: SyncInfo = { base: fresh.meta.version, lv: fresh.meta.version };
        const [ok] = await this.store.applySync([
          {
            kind: 'put',
            entry: this.fromServer(fresh.meta, sync),
            value: fresh.value,
            replaceId: id,
          },
        ]);
        if (!ok) throw new SecretsError('internal', `Could not take the server's '${entry.name}'.`);
        return;
      }

      // Keep mine.
      const mine = await this.store.getValue(id);
      let meta: SecretMetadata;
      if (!remote) {
        meta = await this.recreate(entry, mine);
      } else {
        if (conflict.kind === 'rejected') {
          throw new AccessDenied(
            `You can only read '${entry.name}' on the server, so your version cannot replace it. Keep theirs, or create a copy under another name.`,
          );
        }
        try {
          meta = await this.client.updateSecret(remote.id, remote.version, {
            value: mine.value,
            encoding: mine.encoding,
            type: entry.type,
            description: entry.description,
          } satisfies UpdateSecret);
        } catch (error) {
          if (error instanceof ApiError && error.status === 404) {
            meta = await this.recreate(entry, mine); // theirs is gone meanwhile: mine stays
          } else {
            await this.refreshAfter412(error, entry, info);
            throw error;
          }
        }
      }
      const sync: SyncInfo = { base: meta.version, lv: meta.version };
      const [ok] = await this.store.applySync([
        { kind: 'put', entry: this.fromServer(meta, sync), replaceId: id, value: toEnvelope(mine) },
      ]);
      if (!ok)
        throw new SecretsError(
          'internal',
          `Could not record the server's copy of '${entry.name}'.`,
        );
    });
  }

  /**
   * Creates the local side again on the server (its copy there was deleted or lost). When the
   * name was taken meanwhile, the conflict now points at that secret and the user chooses again.
   */
  private async recreate(entry: SecretMetadata, mine: SecretValue): Promise<SecretMetadata> {
    try {
      return await this.createAnywhere(entry, mine);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) throw error;
      const remote = await this.findOnServer(entry);
      const info = syncInfoOf(entry);
      await this.store.applySync([
        {
          kind: 'patch',
          id: entry.id,
          fields: {
            sync: {
              base: info?.base ?? null,
              lv: info?.lv ?? 0,
              conflict: this.conflictInfo('both_created', remote ?? null),
            } satisfies SyncInfo,
          },
        },
      ]);
      throw new VersionConflict(entry.name, remote?.version);
    }
  }

  private async createAnywhere(entry: SecretMetadata, mine: SecretValue): Promise<SecretMetadata> {
    const body = {
      name: entry.name,
      value: mine.value,
      encoding: mine.encoding,
      type: entry.type,
      description: entry.description,
    };
    try {
      return await this.client.createSecret({ ...body, scope: entry.scope });
    } catch (error) {
      // Access to the scope itself may be gone: keep it as a personal secret rather than lose it.
      if (
        entry.scope.kind !== 'personal' &&
        error instanceof ApiError &&
        (error.status === 403 || error.status === 404)
      ) {
        return this.client.createSecret({ ...body, scope: PERSONAL });
      }
      throw error;
    }
  }

  private async refreshAfter412(
    error: unknown,
    entry: SecretMetadata,
    info: SyncInfo,
  ): Promise<void> {
    if (!(error instanceof ApiError && error.status === 412) || !info.conflict) return;
    const remoteId = info.conflict.remote?.id ?? entry.id;
    const fresh = await this.fetchMeta(remoteId);
    await this.store.applySync([
      {
        kind: 'patch',
        id: entry.id,
        fields: {
          sync: { ...info, conflict: this.conflictInfo(info.conflict.kind, fresh ?? null) },
        },
      },
    ]);
    throw new VersionConflict(entry.name, fresh?.version);
  }

  /** Both sides of a conflict: versions, authors, times; values only when asked. */
  async compare(id: string, options: { values?: boolean } = {}): Promise<Comparison> {
    const entry = this.store.get(id);
    if (!entry) throw new SecretNotFound(id);
    const info = syncInfoOf(entry);
    const conflict = info?.conflict;
    if (!info || !conflict) throw new InvalidInput(`'${entry.name}' has no conflict to compare.`);
    let remote = conflict.remote;
    let author: string | null = remote?.created_by ?? null;
    if (remote) {
      try {
        const fresh = await this.client.getSecret(remote.id);
        remote = fresh;
        author = (await this.client.versions(remote.id))[0]?.author ?? author;
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) remote = null;
        else if (!isRetryable(error)) throw error;
      }
    }
    const deletedHere = conflict.kind === 'deleted_here' && entry.version === info.lv;
    const mine: Side = {
      version: deletedHere ? null : entry.version,
      base: info.base,
      author: deletedHere ? null : (this.me ?? 'you'),
      at: deletedHere ? null : entry.updated_at,
      deleted: deletedHere,
    };
    const theirs: Side = {
      version: remote?.version ?? null,
      author: remote ? author : null,
      at: remote?.updated_at ?? null,
      deleted: remote === null,
    };
    if (options.values) {
      if (!deletedHere) mine.value = await this.store.getValue(id);
      if (remote) theirs.value = (await this.tryValue(remote.id)) ?? undefined;
    }
    return { id, name: entry.name, kind: conflict.kind, mine, theirs };
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
      for (const entry of this.store.list()) {
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
      await this.store.applySync(steps);
      this.state = emptyState();
      await this.saveState();
      this.me = undefined;
    });
  }

  // ---------------------------------------------------------------------------------------------

  /** The server's metadata and value of a secret, or undefined when it is gone for us. */
  private async fetchRemote(
    id: string,
  ): Promise<{ meta: SecretMetadata; value: Envelope } | undefined> {
    const meta = await this.fetchMeta(id);
    if (!meta) return undefined;
    const value = await this.tryValue(id);
    return value ? { meta, value: toEnvelope(value) } : undefined;
  }

  private async fetchMeta(id: string): Promise<SecretMetadata | undefined> {
    try {
      return await this.client.getSecret(id);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  private async tryValue(id: string): Promise<SecretValue | undefined> {
    try {
      return await this.client.getValue(id);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 403))
        return undefined;
      throw error;
    }
  }

  private async saveState(): Promise<void> {
    await saveSyncState(this.kv, this.state);
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.running.then(work, work);
    this.running = run.catch(() => undefined);
    return run;
  }
}

function isClean(entry: SecretMetadata): boolean {
  const info = syncInfoOf(entry);
  return (
    (info !== undefined && info.base !== null && !info.conflict && entry.version === info.lv) ||
    info?.conflict?.kind === 'deleted_here'
  );
}

type Envelope = { value: string; encoding: SecretValue['encoding'] };

function toEnvelope(value: SecretValue): Envelope {
  return { value: value.value, encoding: value.encoding };
}
