/**
 * The signed-in session with a team server, for the extension: the token in SecretStorage (never
 * in settings), the API client, the sync engine on the same LocalSecretStore the tree shows, and
 * the scheduler. Users who never sign in get none of it: local-only use is unchanged.
 */
import * as vscode from 'vscode';
import * as z from 'zod';
import type { Me } from '../../core/api';
import type { KeyValueSecretStore } from '../../core/keyValueStore';
import type { LocalSecretStore } from '../../core/localStore';
import { normalizeServerUrl } from '../../core/serverUrl';
import { ApiClient } from '../../sync/client';
import { SyncEngine } from '../../sync/engine';
import { SyncScheduler, type SyncStatus } from '../../sync/scheduler';
import { SYNC_PREFIX } from '../../sync/syncState';
import {
  serverFetch,
  checkServerTransport,
  EXTENSION_CA_HINT,
  insecureSignInWarning,
} from './serverTrust';

export const TOKEN_KEY = `${SYNC_PREFIX}token`;
const StoredToken = z.object({ server: z.string(), token: z.string().min(1) });

export interface SessionDeps {
  secrets: KeyValueSecretStore;
  store: LocalSecretStore;
  log: vscode.LogOutputChannel;
  /** Minutes between syncs (0: only on start, focus, changes and Sync Now). */
  intervalMinutes: () => number;
  fetch?: typeof globalThis.fetch;
}

export type SessionState =
  { signedIn: false } | { signedIn: true; server: string; me?: Me; status: SyncStatus };

export class SyncSession implements vscode.Disposable {
  private api: ApiClient | undefined;
  private engine: SyncEngine | undefined;
  private scheduler: SyncScheduler | undefined;
  private me: Me | undefined;
  private server: string | undefined;
  private readonly changed = new vscode.EventEmitter<SessionState>();
  readonly onDidChange = this.changed.event;
  private readonly session: { dispose(): void }[] = [];

  constructor(private readonly deps: SessionDeps) {}

  get state(): SessionState {
    if (!this.server || !this.scheduler) return { signedIn: false };
    return {
      signedIn: true,
      server: this.server,
      ...(this.me && { me: this.me }),
      status: this.scheduler.status,
    };
  }

  get client(): ApiClient | undefined {
    return this.api;
  }

  get syncEngine(): SyncEngine | undefined {
    return this.engine;
  }

  get user(): Me | undefined {
    return this.me;
  }

  /** Resumes the session saved by an earlier sign-in, if any. Never throws. */
  async restore(): Promise<void> {
    try {
      const raw = await this.deps.secrets.get(TOKEN_KEY);
      if (!raw) return;
      const saved = StoredToken.safeParse(JSON.parse(raw));
      if (!saved.success) {
        this.deps.log.warn('The saved team-server sign-in could not be read; sign in again.');
        return;
      }
      // Settings may have changed since: the plain-HTTP rule holds for a resumed session too.
      if (checkServerTransport(saved.data.server) === 'insecure-http')
        this.deps.log.warn(insecureSignInWarning(saved.data.server));
      await this.start(saved.data.server, saved.data.token);
    } catch (error) {
      this.deps.log.error(`Could not resume the team-server session: ${messageOf(error)}`);
    }
  }

  /**
   * Checks the server and the token at once (`/v1/health`, `/v1/me`), then keeps the token in
   * SecretStorage and starts syncing. Throws a clear error (wrong URL, bad token, TLS, network).
   */
  async signIn(rawUrl: string, token: string): Promise<Me> {
    const server = normalizeServerUrl(rawUrl);
    if (checkServerTransport(server) === 'insecure-http')
      this.deps.log.warn(insecureSignInWarning(server));
    const probe = this.newClient(server, token);
    await probe.health();
    const me = await probe.me();
    await this.stopSession();
    await this.deps.secrets.store(TOKEN_KEY, JSON.stringify({ server, token }));
    await this.start(server, token, me);
    this.deps.log.info(`Signed in to ${server} as ${me.user.id}.`);
    return me;
  }

  /** Stops syncing and forgets the token; local copies of others' secrets are removed. */
  async signOut(): Promise<void> {
    const engine = this.engine;
    await this.stopSession();
    if (engine) {
      await engine.forget();
      engine.dispose();
    }
    await this.deps.secrets.delete(TOKEN_KEY);
    this.deps.log.info('Signed out of the team server.');
    this.fire();
  }

  syncNow(): Promise<SyncStatus> | undefined {
    return this.scheduler?.syncNow();
  }

  /** Sync on window focus, unless a sync ran in the last 30 seconds. */
  syncIfStale(): void {
    const last = this.scheduler?.status.lastSyncAt?.getTime() ?? 0;
    if (this.scheduler && Date.now() - last > 30_000) void this.scheduler.syncNow();
  }

  applyInterval(): void {
    this.scheduler?.setIntervalMs(Math.max(0, this.deps.intervalMinutes()) * 60_000);
  }

  private newClient(server: string, token: string): ApiClient {
    const fetch = this.deps.fetch ?? serverFetch();
    return new ApiClient({
      baseUrl: server,
      token,
      userAgent: `notebook-secrets-vscode/${vscode.version ?? 'unknown'}`,
      caHint: EXTENSION_CA_HINT,
      fetch,
    });
  }

  private async start(server: string, token: string, me?: Me): Promise<void> {
    this.server = server;
    this.me = me;
    this.api = this.newClient(server, token);
    this.engine = new SyncEngine({
      client: this.api,
      store: this.deps.store,
      kv: this.deps.secrets,
      log: (level, message) => this.deps.log[level](message),
    });
    await this.engine.init();
    this.scheduler = new SyncScheduler(this.engine, {
      intervalMs: Math.max(0, this.deps.intervalMinutes()) * 60_000,
    });
    this.session.push(
      this.scheduler.onDidChange(() => this.fire()),
      this.deps.store.onDidChange(() => this.scheduler?.notifyLocalChange()),
    );
    this.fire();
    void this.scheduler.start().then(async () => {
      if (!this.me && this.api) this.me = await this.api.me().catch(() => undefined);
      this.fire();
    });
  }

  private async stopSession(): Promise<void> {
    this.scheduler?.stop();
    for (const d of this.session.splice(0)) d.dispose();
    this.engine?.dispose();
    this.scheduler = undefined;
    this.engine = undefined;
    this.api = undefined;
    this.server = undefined;
    this.me = undefined;
    await Promise.resolve();
  }

  private fire(): void {
    this.changed.fire(this.state);
  }

  dispose(): void {
    void this.stopSession();
    this.changed.dispose();
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
