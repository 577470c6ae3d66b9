/**
 * Sign-ins with the identity provider: the user a verified identity is (created on first sign-in,
 * or only if an admin added them), the teams of their groups kept in step, and sessions: a
 * refresh token (kept as a hash) with short-lived access tokens, and the provider's refresh
 * token sealed with the server's key.
 */
import { randomUUID } from 'node:crypto';
import type { TokenSet } from '../../core/api';
import { HttpError } from '../httpError';
import { generateToken, hashToken } from '../tokens';
import { auditSignIn, type SignInOrigin } from './audit';
import type { StoreContext } from './context';
import { dropPendingGrants, setMember } from './directory';

/** A person as the provider's ID token says: who, what to call them, their groups. */
export interface Identity {
  subject: string;
  userId: string;
  name: string;
  /** Team ids of the groups claim; undefined when no groups claim is configured. */
  teams?: string[];
}

export const REFRESH_PREFIX = 'nsr_';

export interface SessionPolicy {
  users: 'create' | 'existing';
  accessTokenMinutes: number;
  sessionDays: number;
}

/** The user an identity is: by subject, else a user of that id not yet linked, else a new one. */
export async function userFor(
  ctx: StoreContext,
  identity: Identity,
  policy: SessionPolicy,
): Promise<string> {
  return ctx.db.transaction(async (tx) => {
    const [linked] = await tx.query<{ id: string }>(
      'SELECT id FROM users WHERE oidc_subject = $1',
      [identity.subject],
    );
    if (linked) return linked.id;
    const [existing] = await tx.query<{ id: string; oidc_subject: string | null }>(
      'SELECT id, oidc_subject FROM users WHERE id = $1 FOR UPDATE',
      [identity.userId],
    );
    if (existing && existing.oidc_subject === null && existing.id !== 'admin') {
      await tx.query('UPDATE users SET oidc_subject = $1 WHERE id = $2', [
        identity.subject,
        existing.id,
      ]);
      return existing.id;
    }
    if (existing) {
      throw new HttpError(
        403,
        'access_denied',
        `The user id '${identity.userId}' belongs to someone else on this server; ask an administrator.`,
      );
    }
    if (policy.users === 'existing') {
      throw new HttpError(
        403,
        'access_denied',
        `'${identity.userId}' is not a user of this server; ask an administrator to add you (notebook-secrets admin user add ${identity.userId}).`,
      );
    }
    await tx.query(
      `WITH u AS (INSERT INTO users (id, name, admin, oidc_subject) VALUES ($1, $2, false, $3)),
            ${dropPendingGrants('user', '$1')}
       SELECT 1`,
      [identity.userId, identity.name, identity.subject],
    );
    return identity.userId;
  });
}

/**
 * Keeps the user's teams in step with their groups: joins the team of each group (made on first
 * use), and leaves each team made from a group they are no longer in. Each change goes through
 * the change feed, so a team's secrets come to, or leave, every device of theirs at its next sync.
 */
export async function syncTeams(ctx: StoreContext, userId: string, teams: string[]): Promise<void> {
  for (const team of teams) {
    await ctx.db.query(
      `WITH t AS (INSERT INTO teams (id, name, from_provider) VALUES ($1, $1, true)
                  ON CONFLICT (id) DO NOTHING RETURNING id),
            pending AS (DELETE FROM grants WHERE principal IN (SELECT 'team:' || id FROM t))
       SELECT 1`,
      [team],
    );
  }
  const current = await ctx.db.query<{ team_id: string; from_provider: boolean }>(
    `SELECT tm.team_id, t.from_provider FROM team_members tm JOIN teams t ON t.id = tm.team_id
     WHERE tm.user_id = $1`,
    [userId],
  );
  const has = new Set(current.map((r) => r.team_id));
  for (const team of teams) {
    if (!has.has(team)) await setMember(ctx, 'team', team, { kind: 'user', id: userId }, true);
  }
  for (const row of current) {
    if (row.from_provider && !teams.includes(row.team_id)) {
      await setMember(ctx, 'team', row.team_id, { kind: 'user', id: userId }, false);
    }
  }
}

/** A new session for a user: its first access and refresh tokens, audited as `sign_in`. */
export async function openSession(
  ctx: StoreContext,
  userId: string,
  providerRefresh: string | undefined,
  policy: SessionPolicy,
  signedIn: { how: 'browser' | 'device'; origin: SignInOrigin },
): Promise<TokenSet> {
  const id = randomUUID();
  const refresh = REFRESH_PREFIX + generateToken().slice(4);
  const sealed = providerRefresh === undefined ? undefined : ctx.keyring.seal(providerRefresh, id);
  return ctx.db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO sessions (id, user_id, refresh_hash, provider_key_id, provider_nonce, provider_refresh, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, now() + $7::float8 * interval '1 day')`,
      [
        id,
        userId,
        hashToken(refresh),
        sealed?.keyId ?? null,
        sealed?.nonce ?? null,
        sealed?.ciphertext ?? null,
        policy.sessionDays,
      ],
    );
    const access = await issueAccess(tx, id, userId, policy);
    await auditSignIn(tx, {
      action: 'sign_in',
      user: userId,
      tokenId: access.tokenId,
      detail: signedIn.how,
      origin: signedIn.origin,
    });
    return { ...access.tokens, refresh_token: refresh };
  });
}

export interface OpenedSession {
  id: string;
  userId: string;
  subject: string | null;
  /** The provider's refresh token, opened. */
  providerRefresh: string | undefined;
}

/** The session of a refresh token, or a 400 invalid_grant (unknown, used, expired or revoked). */
export async function sessionOf(ctx: StoreContext, refreshToken: string): Promise<OpenedSession> {
  const [row] = await ctx.db.query<{
    id: string;
    user_id: string;
    oidc_subject: string | null;
    provider_key_id: string | null;
    provider_nonce: Uint8Array | null;
    provider_refresh: Uint8Array | null;
  }>(
    `SELECT s.id, s.user_id, u.oidc_subject, s.provider_key_id, s.provider_nonce, s.provider_refresh
     FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.refresh_hash = $1 AND s.expires_at > now()`,
    [hashToken(refreshToken)],
  );
  if (!row)
    throw invalidGrant('This refresh token is unknown, used, expired or revoked: sign in again.');
  const providerRefresh =
    row.provider_key_id && row.provider_nonce && row.provider_refresh
      ? ctx.keyring.open(
          {
            keyId: row.provider_key_id,
            nonce: Buffer.from(row.provider_nonce),
            ciphertext: Buffer.from(row.provider_refresh),
          },
          row.id,
        )
      : undefined;
  return { id: row.id, userId: row.user_id, subject: row.oidc_subject, providerRefresh };
}

/**
 * Replaces a session's refresh token (the old one stops working) and access tokens, after the
 * provider confirmed the person at refresh, audited as `refresh`. Fails when another refresh used
 * the token meanwhile.
 */
export async function renewSession(
  ctx: StoreContext,
  session: OpenedSession,
  usedRefresh: string,
  providerRefresh: string | undefined,
  policy: SessionPolicy,
  origin: SignInOrigin,
): Promise<TokenSet> {
  const refresh = REFRESH_PREFIX + generateToken().slice(4);
  const sealed =
    providerRefresh === undefined ? undefined : ctx.keyring.seal(providerRefresh, session.id);
  return ctx.db.transaction(async (tx) => {
    const renewed = await tx.execute(
      `UPDATE sessions SET refresh_hash = $1, refreshed_at = now(),
         expires_at = now() + $2::float8 * interval '1 day',
         provider_key_id = COALESCE($3, provider_key_id),
         provider_nonce = COALESCE($4, provider_nonce),
         provider_refresh = COALESCE($5, provider_refresh)
       WHERE id = $6 AND refresh_hash = $7`,
      [
        hashToken(refresh),
        policy.sessionDays,
        sealed?.keyId ?? null,
        sealed?.nonce ?? null,
        sealed?.ciphertext ?? null,
        session.id,
        hashToken(usedRefresh),
      ],
    );
    if (renewed === 0) throw invalidGrant('This refresh token was already used: sign in again.');
    await tx.query('DELETE FROM tokens WHERE session_id = $1', [session.id]);
    const access = await issueAccess(tx, session.id, session.userId, policy);
    await auditSignIn(tx, {
      action: 'refresh',
      user: session.userId,
      tokenId: access.tokenId,
      detail: 'refresh',
      origin,
    });
    return { ...access.tokens, refresh_token: refresh };
  });
}

/** Ends a session: its refresh token and every access token of it stop working. */
export async function endSession(ctx: StoreContext, sessionId: string): Promise<void> {
  // Its tokens by name, in a transaction: the embedded backend forgets the callers it kept.
  await ctx.db.transaction(async (tx) => {
    await tx.query('DELETE FROM tokens WHERE session_id = $1', [sessionId]);
    await tx.query('DELETE FROM sessions WHERE id = $1', [sessionId]);
  });
}

async function issueAccess(
  tx: Pick<StoreContext['db'], 'query'>,
  sessionId: string,
  userId: string,
  policy: SessionPolicy,
): Promise<{ tokens: Omit<TokenSet, 'refresh_token'>; tokenId: string }> {
  const token = generateToken();
  const tokenId = randomUUID();
  await tx.query(
    `INSERT INTO tokens (id, user_id, name, hash, expires_at, session_id)
     VALUES ($1, $2, 'sign-in', $3, now() + $4::float8 * interval '1 minute', $5)`,
    [tokenId, userId, hashToken(token), policy.accessTokenMinutes, sessionId],
  );
  return {
    tokens: {
      access_token: token,
      token_type: 'Bearer',
      expires_in: Math.round(policy.accessTokenMinutes * 60),
      user: userId,
    },
    tokenId,
  };
}

export function invalidGrant(message: string): HttpError {
  return new HttpError(400, 'invalid_grant', message);
}
