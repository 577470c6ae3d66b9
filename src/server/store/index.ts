/**
 * The server's domain operations over the storage driver, one module per concern: access.ts (who
 * sees what), secrets.ts, values.ts (audited reads), sharing.ts, versions.ts, feed.ts (the change
 * feed), audit.ts, auth.ts (tokens and callers), directory.ts (users, teams, projects), keys.ts,
 * sessions.ts and signInRequests.ts (sign-in with an identity provider), and transaction.ts (the
 * one way to write). Every change is one transaction that writes the
 * secret row, its version row, its audit row and its change-feed row together; updates are guarded
 * by version (`UPDATE … WHERE id = $ AND version = $`), never read-then-write.
 *
 * `Store` binds them to one database and keyring for the routes; it holds no logic of its own.
 */
import type {
  AccessList,
  AuditPage,
  ChangesPage,
  CreatedToken,
  IdentifiedValue,
  Me,
  Project,
  ResolvedSecret,
  Team,
  TokenInfo,
  TokenSet,
  User,
  VersionEntry,
} from '../../core/api';
import type { Grant, Principal, SecretMetadata, SecretValue } from '../../core/model';
import type { Keyring } from '../crypto';
import type { SqlDriver, SqlExecutor } from '../db/driver';
import { visibleSecret } from './access';
import { auditLog, auditSignIn } from './audit';
import * as auth from './auth';
import type { Caller, NewSecret, StoreContext, StoreOptions } from './context';
import * as directory from './directory';
import { changes } from './feed';
import { checkKeys } from './keys';
import type { JsonText } from './rows';
import * as secrets from './secrets';
import * as sessions from './sessions';
import { putSignInRequest, takeSignInRequest, type SignInRequestKind } from './signInRequests';
import { getAccess, putAccess } from './sharing';
import * as values from './values';
import { restore, versions } from './versions';
import type { Writer, Written } from './writer';

export type { Caller, NewSecret, SecretPatch, StoreOptions } from './context';
export { TokenRefused, type TokenWriter, type Writer, type Written } from './writer';

/** A store function's parameters after the context the facade passes. */
type WithoutContext<F> = F extends (ctx: StoreContext, ...rest: infer R) => unknown ? R : never;
export { JsonText, parsePrincipal, principalKey } from './rows';

export class Store {
  private readonly ctx: StoreContext;

  constructor(
    readonly db: SqlDriver,
    keyring: Keyring,
    readonly databaseId: string,
    options: StoreOptions,
  ) {
    this.ctx = { db, keyring, databaseId, options };
  }

  // Start-up
  checkKeys(): Promise<void> {
    return checkKeys(this.ctx);
  }
  bootstrapAdmin(envToken: string | undefined): Promise<string | undefined> {
    return auth.bootstrapAdmin(this.ctx, envToken);
  }

  // Sign-ins with the identity provider
  userFor(...args: WithoutContext<typeof sessions.userFor>): Promise<string> {
    return sessions.userFor(this.ctx, ...args);
  }
  syncTeams(userId: string, teams: string[]): Promise<void> {
    return sessions.syncTeams(this.ctx, userId, teams);
  }
  openSession(...args: WithoutContext<typeof sessions.openSession>): Promise<TokenSet> {
    return sessions.openSession(this.ctx, ...args);
  }
  sessionOf(refreshToken: string): Promise<sessions.OpenedSession> {
    return sessions.sessionOf(this.ctx, refreshToken);
  }
  renewSession(...args: WithoutContext<typeof sessions.renewSession>): Promise<TokenSet> {
    return this.revoking(sessions.renewSession(this.ctx, ...args));
  }
  endSession(sessionId: string): Promise<void> {
    return this.revoking(sessions.endSession(this.ctx, sessionId));
  }
  /** Audits a sign-in event (failures; successes are audited with their session). */
  auditSignIn(event: Parameters<typeof auditSignIn>[1]): Promise<void> {
    return auditSignIn(this.ctx.db, event);
  }
  putSignInRequest(
    kind: SignInRequestKind,
    handle: string,
    payload: unknown,
    seconds: number,
  ): Promise<void> {
    return putSignInRequest(this.ctx, kind, handle, payload, seconds);
  }
  takeSignInRequest(kind: SignInRequestKind, handle: string): Promise<unknown> {
    return takeSignInRequest(this.ctx, kind, handle);
  }

  // Callers and tokens
  authenticate(token: string, client: string, ip: string): Promise<Caller | undefined> {
    return auth.authenticate(this.ctx, token, client, ip);
  }
  createToken(
    caller: Caller,
    input: { user: string; name?: string; expires_in_days?: number },
  ): Promise<CreatedToken> {
    return auth.createToken(this.ctx, caller, input);
  }
  listTokens(user: string | undefined): Promise<TokenInfo[]> {
    return auth.listTokens(this.ctx, user);
  }
  revokeToken(caller: Caller, id: string): Promise<void> {
    return this.revoking(auth.revokeToken(this.ctx, caller, id));
  }

  /**
   * How many times this process has revoked tokens (a token revoked, a session renewed or ended),
   * for what keeps tokens found valid (Auth.recentlyValid) to forget them.
   */
  get revocations(): number {
    return this.revoked;
  }
  private revoked = 0;

  private async revoking<T>(write: Promise<T>): Promise<T> {
    try {
      return await write;
    } finally {
      this.revoked++;
    }
  }

  // Secrets
  /**
   * Whether create and update take a bearer token (TokenWriter) and check it in their own
   * statement: on PostgreSQL, where a token is read on every request (another process may have
   * revoked it). PGlite answers token lookups from memory, so there the caller comes first.
   */
  get checksTokensInWrites(): boolean {
    return this.ctx.db.kind === 'postgres';
  }
  /** Creates a secret as `who`; TokenRefused when `who` is a token that is no longer valid. */
  create(who: Writer, input: NewSecret): Promise<Written<SecretMetadata>> {
    return secrets.create(this.ctx, who, input);
  }
  list(
    caller: Caller,
    filter: { scope?: { kind: string; id?: string }; type?: string; q?: string },
  ): Promise<SecretMetadata[]> {
    return secrets.list(this.ctx, caller, filter);
  }
  /** The secret as the caller sees it, or undefined when it does not exist for them. */
  get(caller: Caller, id: string, db?: SqlExecutor): Promise<SecretMetadata | undefined> {
    return visibleSecret(this.ctx, caller, id, db);
  }
  /** Edits a secret: (who, id, ifMatch, patch, notBase64?), see secrets.update. */
  update(...args: WithoutContext<typeof secrets.update>): Promise<Written<SecretMetadata>> {
    return secrets.update(this.ctx, ...args);
  }
  remove(caller: Caller, id: string, ifMatch: number | undefined): Promise<void> {
    return secrets.remove(this.ctx, caller, id, ifMatch);
  }

  // Values
  readValue(caller: Caller, id: string): Promise<SecretValue> {
    return values.readValue(this.ctx, caller, id);
  }
  readValues(
    caller: Caller,
    ids: string[],
  ): Promise<{ values: IdentifiedValue[]; missing: string[] }> {
    return values.readValues(this.ctx, caller, ids);
  }
  resolve(
    caller: Caller,
    name: string,
    options: { project?: string; scope?: { kind: string; id?: string } },
  ): Promise<ResolvedSecret | undefined> {
    return values.resolve(this.ctx, caller, name, options);
  }
  /** authenticate and resolve together (on PostgreSQL in one statement); undefined: bad token. */
  resolveForToken(
    token: string,
    client: string,
    ip: string,
    name: string,
    options: { project?: string; scope?: { kind: string; id?: string } },
  ): Promise<{ caller: Caller; resolved: ResolvedSecret | undefined } | undefined> {
    return values.resolveForToken(this.ctx, token, client, ip, name, options);
  }
  /** How many resolveForToken calls ran grouped on PostgreSQL, and how many wait now. */
  resolveGroupStats(): { groups: number; grouped: number; waiting: number } {
    return values.resolveGroupStats(this.ctx);
  }

  // Sharing and versions
  getAccess(caller: Caller, id: string): Promise<AccessList> {
    return getAccess(this.ctx, caller, id);
  }
  putAccess(
    caller: Caller,
    id: string,
    grants: Grant[],
    ifMatch: number | undefined,
  ): Promise<AccessList> {
    return putAccess(this.ctx, caller, id, grants, ifMatch);
  }
  versions(caller: Caller, id: string): Promise<VersionEntry[]> {
    return versions(this.ctx, caller, id);
  }
  restore(
    caller: Caller,
    id: string,
    n: number,
    ifMatch: number | undefined,
  ): Promise<SecretMetadata> {
    return restore(this.ctx, caller, id, n, ifMatch);
  }

  // Change feed and audit
  changes(
    caller: Caller,
    since: string | undefined,
    limit: number,
    parts = 1,
  ): Promise<JsonText<ChangesPage>> {
    return changes(this.ctx, caller, since, limit, parts);
  }
  auditLog(
    caller: Caller,
    query: { secret?: string; before?: string; limit: number },
  ): Promise<AuditPage> {
    return auditLog(this.ctx, caller, query);
  }

  // Directory
  me(caller: Caller): Promise<Me> {
    return directory.me(this.ctx, caller);
  }
  createUser(input: { id: string; name?: string; admin: boolean }): Promise<User> {
    return directory.createUser(this.ctx, input);
  }
  listUsers(): Promise<User[]> {
    return directory.listUsers(this.ctx);
  }
  createGroup(
    table: 'teams' | 'projects',
    input: { id: string; name?: string },
  ): Promise<Team | Project> {
    return directory.createGroup(this.ctx, table, input);
  }
  listGroups(table: 'teams' | 'projects'): Promise<(Team | Project)[]> {
    return directory.listGroups(this.ctx, table);
  }
  members(kind: 'team' | 'project', id: string): Promise<Principal[]> {
    return directory.members(this.ctx, kind, id);
  }
  /** Adds or removes a member (see directory.setMember). */
  setMember(
    kind: 'team' | 'project',
    id: string,
    member: Principal,
    present: boolean,
  ): Promise<Principal[]> {
    return directory.setMember(this.ctx, kind, id, member, present);
  }
}
