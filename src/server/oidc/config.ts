/**
 * Sign-in with an identity provider (OpenID Connect): the settings, from the environment. With no
 * issuer, people sign in with tokens an administrator creates, as before.
 */
import { ENTITY_ID_PATTERN } from '../../core/api';
import { redirectPrefixProblem } from '../../core/signInRedirect';
import type { Identity } from '../store/sessions';

export interface OidcConfig {
  /** The provider's issuer URL (its discovery document is at /.well-known/openid-configuration). */
  issuer: string;
  clientId: string;
  /** For a confidential client; without, the server is a public client (PKCE only). */
  clientSecret?: string;
  /** The provider's name as people know it, shown on "Sign in with <name>". */
  name: string;
  scopes: string;
  /** The claim whose value becomes the user id (lowercased, e.g. preferred_username or email). */
  userClaim: string;
  /** The claim with the person's display name. */
  nameClaim: string;
  /** The claim that lists the person's groups; each group is a team. Unset: teams by hand. */
  groupsClaim?: string;
  /** `create`: a user is created on first sign-in; `existing`: only users an admin added. */
  users: 'create' | 'existing';
  /** The server's URL as browsers reach it: the provider sends them back to <url>/v1/auth/callback. */
  publicUrl?: string;
  /** URL prefixes a browser sign-in may also end at (see core/signInRedirect.ts). */
  clientRedirects: string[];
  /** Minutes an access token lives; refreshed with the refresh token. */
  accessTokenMinutes: number;
  /** Days a sign-in lasts without being refreshed. */
  sessionDays: number;
}

export class OidcConfigError extends Error {}

/** The OIDC settings from NOTEBOOK_SECRETS_OIDC_*, or undefined when no issuer is set. */
export function oidcConfigFromEnv(env: NodeJS.ProcessEnv): OidcConfig | undefined {
  const issuer = env.NOTEBOOK_SECRETS_OIDC_ISSUER;
  if (!issuer) return undefined;
  const clientId = env.NOTEBOOK_SECRETS_OIDC_CLIENT_ID;
  if (!clientId) {
    throw new OidcConfigError(
      'NOTEBOOK_SECRETS_OIDC_ISSUER is set but NOTEBOOK_SECRETS_OIDC_CLIENT_ID is not: register this server as a client at the provider and set its client id.',
    );
  }
  try {
    new URL(issuer);
  } catch {
    throw new OidcConfigError(
      'NOTEBOOK_SECRETS_OIDC_ISSUER must be a URL, e.g. https://id.example.com/realms/team.',
    );
  }
  const users = env.NOTEBOOK_SECRETS_OIDC_USERS ?? 'create';
  if (users !== 'create' && users !== 'existing') {
    throw new OidcConfigError("NOTEBOOK_SECRETS_OIDC_USERS must be 'create' or 'existing'.");
  }
  const minutes = Number(env.NOTEBOOK_SECRETS_ACCESS_TOKEN_MINUTES ?? 15);
  const days = Number(env.NOTEBOOK_SECRETS_SESSION_DAYS ?? 30);
  if (!(minutes > 0) || !(days > 0)) {
    throw new OidcConfigError(
      'NOTEBOOK_SECRETS_ACCESS_TOKEN_MINUTES and NOTEBOOK_SECRETS_SESSION_DAYS must be positive numbers.',
    );
  }
  const clientRedirects = (env.NOTEBOOK_SECRETS_OIDC_CLIENT_REDIRECTS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const prefix of clientRedirects) {
    const problem = redirectPrefixProblem(prefix);
    if (problem) throw new OidcConfigError(`NOTEBOOK_SECRETS_OIDC_CLIENT_REDIRECTS: ${problem}`);
  }
  return {
    issuer,
    clientId,
    ...(env.NOTEBOOK_SECRETS_OIDC_CLIENT_SECRET
      ? { clientSecret: env.NOTEBOOK_SECRETS_OIDC_CLIENT_SECRET }
      : {}),
    name: env.NOTEBOOK_SECRETS_OIDC_NAME || 'your identity provider',
    scopes: env.NOTEBOOK_SECRETS_OIDC_SCOPES || 'openid profile email offline_access',
    userClaim: env.NOTEBOOK_SECRETS_OIDC_USER_CLAIM || 'preferred_username',
    nameClaim: env.NOTEBOOK_SECRETS_OIDC_NAME_CLAIM || 'name',
    ...(env.NOTEBOOK_SECRETS_OIDC_GROUPS_CLAIM
      ? { groupsClaim: env.NOTEBOOK_SECRETS_OIDC_GROUPS_CLAIM }
      : {}),
    users,
    ...(env.NOTEBOOK_SECRETS_PUBLIC_URL ? { publicUrl: env.NOTEBOOK_SECRETS_PUBLIC_URL } : {}),
    clientRedirects,
    accessTokenMinutes: minutes,
    sessionDays: days,
  };
}

/** The id a claim value becomes: lowercased, other characters as '-', at most 64. */
export function toEntityId(text: string): string | undefined {
  const id = text
    .toLowerCase()
    .replace(/@.*$/, '')
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 64);
  return ENTITY_ID_PATTERN.test(id) ? id : undefined;
}

/** Reads the identity out of verified ID token claims. */
export function identityOf(claims: Record<string, unknown>, config: OidcConfig): Identity {
  const subject = String(claims.sub);
  const raw = claims[config.userClaim] ?? claims.email ?? claims.sub;
  const userId = typeof raw === 'string' ? toEntityId(raw) : undefined;
  if (!userId) {
    throw new OidcConfigError(
      `The provider's '${config.userClaim}' claim gives no usable user id; set NOTEBOOK_SECRETS_OIDC_USER_CLAIM to a claim it sends.`,
    );
  }
  const name =
    typeof claims[config.nameClaim] === 'string' ? String(claims[config.nameClaim]) : userId;
  if (!config.groupsClaim) return { subject, userId, name };
  const groups = claims[config.groupsClaim];
  const teams = (Array.isArray(groups) ? groups : [])
    .filter((g): g is string => typeof g === 'string')
    .map((g) => toEntityId(g.replace(/^\//, '')))
    .filter((g): g is string => g !== undefined);
  return { subject, userId, name: name.slice(0, 200), teams: [...new Set(teams)].sort() };
}
