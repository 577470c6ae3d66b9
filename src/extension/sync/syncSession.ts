/**
 * The signed-in session with a team server, for the extension: the token in SecretStorage (never
 * in settings), the API client, the sync engine on the same LocalSecretStore the tree shows, and
 * the scheduler. Users who never sign in get none of it: local-only use is unchanged.
 */
import * as vscode from 'vscode';
import * as z from '../../core/zod';
import type { Me } from '../../core/api';
import type { KeyValueSecretStore } from '../../core/keyValueStore';
import type { LocalSecretStore } from '../../core/localStore';
import { normalizeServerUrl } from '../../core/serverUrl';
import { ApiClient } from '../../sync/client';
import { ApiError } from '../../sync/errors';
import { signInWithProvider, type ProviderSignInOptions } from '../../sync/providerSignIn';
import { SyncEngine } from '../../sync/engine';
import { SyncScheduler, type SyncStatus } from '../../sync/scheduler';
import {
  serverFetch,
  checkServerTransport,
  EXTENSION_CA_HINT,
  insecureSignInWarning,
} from '../serverTrust';

import { TOKEN_KEY } from './syncSessionKeys';

export { TOKEN_KEY };
const StoredToken = z.object({
  server: z.string(),
  token: z.string().check(z.minLength(1)),
  /** The refresh token of a sign-in through the identity provider. */
  refresh: z.optional(z.string().check(z.minLength(1))),
});
type StoredToken = z.infer<typeof StoredToken>;

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
      await this.start(saved.data);
    } catch (error) {
      this.deps.log.error(`Could not resume the team-server session: ${messageOf(error)}`);
    }
  }

  /**
   * Checks the server and the token at once (`/v1/health`, `/v1/me`), then keeps the token in
   * SecretStorage and starts syncing. Throws a clear error (wrong URL, bad token, TLS, network).
   */
  async signIn(rawUrl: string, token: string, refresh?: string): Promise<Me> {
    const server = normalizeServerUrl(rawUrl);
    if (checkServerTransport(server) === 'insecure-http')
      this.deps.log.warn(insecureSignInWarning(server));
    const probe = this.newClient({ server, token });
    await probe.health();
    const me = await probe.me();
    await this.stopSession();
    const saved: StoredToken = { server, token, ...(refresh && { refresh }) };
    await this.deps.secrets.store(TOKEN_KEY, JSON.stringify(saved));
    await this.start(saved, me);
    this.deps.log.info(`Signed in to ${server} as ${me.user.id}.`);
    return me;
  }

  /** How the server at `rawUrl` signs people in: its identity provider, or null (tokens only). */
  async providerOf(rawUrl: string): Promise<{ name: string; device: boolean } | null> {
    const server = normalizeServerUrl(rawUrl);
    try {
      return (await this.newClient({ server }).signInConfig()).oidc;
    } catch (error) {
      // A server from before sign-in with a provider has no /v1/auth/config.
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  /** Signs in through the server's identity provider in the browser, then as `signIn`. */
  async signInWithProvider(
    rawUrl: string,
    options: Omit<ProviderSignInOptions, 'device'>,
  ): Promise<Me> {
    const server = normalizeServerUrl(rawUrl);
    const tokens = await signInWithProvider(this.newClient({ server }), {
      ...options,
      device: false,
    });
    return this.signIn(server, tokens.access_token, tokens.refresh_token);
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

  private newClient(saved: { server: string; token?: string; refresh?: string }): ApiClient {
    const fetch = this.deps.fetch ?? serverFetch();
    const { server, token } = saved;
    return new ApiClient({
      baseUrl: server,
      ...(token !== undefined && { token }),
      ...(saved.refresh !== undefined && { refresh: () => this.renew(server) }),
      userAgent: `notebook-secrets-vscode/${vscode.version ?? 'unknown'}`,
      caHint: EXTENSION_CA_HINT,
      fetch,
    });
  }

  /**
   * Renews the access token of a sign-in through the identity provider with its refresh token
   * (each refresh replaces it); undefined when the server refuses, so the 401 stands.
   */
  private async renew(server: string): Promise<string | undefined> {
    const raw = await this.deps.secrets.get(TOKEN_KEY);
    const saved = raw ? StoredToken.safeParse(JSON.parse(raw)) : undefined;
    if (!saved?.success || saved.data.server !== server || !saved.data.refresh) return undefined;
    try {
      const tokens = await this.newClient({ server }).redeem({
        grant_type: 'refresh_token',
        refresh_token: saved.data.refresh,
      });
      const next: StoredToken = {
        server,
        token: tokens.access_token,
        refresh: tokens.refresh_token,
      };
      await this.deps.secrets.store(TOKEN_KEY, JSON.stringify(next));
      return tokens.access_token;
    } catch (error) {
      this.deps.log.warn(`The team-server sign-in could not be renewed: ${messageOf(error)}`);
      return undefined;
    }
  }

  private async start(saved: StoredToken, me?: Me): Promise<void> {
    const { server } = saved;
    this.server = server;
    this.me = me;
    this.api = this.newClient(saved);
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
