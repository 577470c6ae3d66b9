/**
 * Sign-in with the identity provider, as the routes of /v1/auth/ run it. In the browser: the
 * server sends the browser to the provider with its own PKCE and nonce, checks what comes back,
 * and sends the browser on to the client's redirect URI with a one-time code, which the client
 * redeems with its own PKCE verifier. Without a browser: the device authorization grant. Either
 * way the server issues its own tokens: short-lived access tokens and a refresh token, and each
 * refresh asks the provider again, so a person disabled there, or gone from a group, loses that
 * access at their next refresh.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import type {
  AuthorizeQuery,
  DeviceStart,
  SignInConfig,
  TokenRequestBody,
  TokenSet,
} from '../../core/api';
import { EXTENSION_AUTHORITY, isAllowedRedirect } from '../../core/signInRedirect';
import { HttpError } from '../httpError';
import type { Store } from '../store';
import { invalidGrant } from '../store/sessions';
import { identityOf, OidcConfigError, type OidcConfig } from './config';
import { OidcProvider, ProviderRefused, type ProviderTokens } from './provider';

const PENDING_MS = 10 * 60_000;
const CODE_MS = 2 * 60_000;
const MAX_PENDING = 10_000;

interface Pending {
  codeVerifier: string;
  nonce: string;
  redirectUri: string;
  clientState: string;
  clientChallenge: string;
  expires: number;
}

interface Issued {
  userId: string;
  providerRefresh: string | undefined;
  redirectUri: string;
  clientChallenge: string;
  expires: number;
}

export class SignIn {
  private readonly pending = new Map<string, Pending>();
  private readonly issued = new Map<string, Issued>();

  constructor(
    readonly config: OidcConfig,
    private readonly store: Store,
    private readonly provider = new OidcProvider(config),
  ) {}

  async options(): Promise<NonNullable<SignInConfig['oidc']>> {
    return {
      name: this.config.name,
      device: await this.offline(() => this.provider.offersDevice()),
    };
  }

  /** Where to send the browser: the provider, asked to come back to this server. */
  async authorize(query: AuthorizeQuery, serverUrl: string): Promise<URL> {
    if (!isAllowedRedirect(query.redirect_uri, this.config.clientRedirects)) {
      throw new HttpError(
        400,
        'invalid_input',
        `'redirect_uri' must be a loopback http:// address, the extension's own editor URI (vscode://${EXTENSION_AUTHORITY}/…), or a URL under one of NOTEBOOK_SECRETS_OIDC_CLIENT_REDIRECTS.`,
        { field: 'redirect_uri' },
      );
    }
    this.prune();
    const state = oidc.randomState();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    this.pending.set(state, {
      codeVerifier,
      nonce,
      redirectUri: query.redirect_uri,
      clientState: query.state,
      clientChallenge: query.code_challenge,
      expires: Date.now() + PENDING_MS,
    });
    return this.offline(async () =>
      this.provider.authorizationUrl({
        redirectUri: this.callbackUrl(serverUrl),
        state,
        nonce,
        codeChallenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      }),
    );
  }

  /**
   * The provider's redirect back: checks it, finds or creates the user, keeps their teams in
   * step, and answers where to send the browser (the client's redirect URI, with a one-time code
   * or an error).
   */
  async callback(search: string, serverUrl: string): Promise<URL> {
    const params = new URLSearchParams(search);
    const state = params.get('state') ?? '';
    const pending = this.pending.get(state);
    this.pending.delete(state);
    if (!pending || pending.expires < Date.now()) {
      throw new HttpError(
        400,
        'invalid_input',
        'This sign-in is unknown or expired (a sign-in is finished once, within 10 minutes): start it again.',
      );
    }
    const back = new URL(pending.redirectUri);
    back.searchParams.set('state', pending.clientState);
    try {
      const tokens = await this.provider.redeemCode(
        new URL(`${this.callbackUrl(serverUrl)}?${params.toString()}`),
        { codeVerifier: pending.codeVerifier, nonce: pending.nonce, state },
      );
      const userId = await this.admit(tokens);
      const code = randomBytes(32).toString('base64url');
      this.issued.set(code, {
        userId,
        providerRefresh: tokens.refreshToken,
        redirectUri: pending.redirectUri,
        clientChallenge: pending.clientChallenge,
        expires: Date.now() + CODE_MS,
      });
      back.searchParams.set('code', code);
    } catch (error) {
      if (!(error instanceof HttpError || error instanceof ProviderRefused)) throw error;
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', error.message);
    }
    return back;
  }

  async device(): Promise<DeviceStart> {
    const started = await this.offline(() => this.provider.startDevice());
    return {
      device_code: started.device_code,
      user_code: started.user_code,
      verification_uri: started.verification_uri,
      ...(started.verification_uri_complete
        ? { verification_uri_complete: started.verification_uri_complete }
        : {}),
      expires_in: started.expires_in,
      interval: started.interval ?? 5,
    };
  }

  async token(body: TokenRequestBody): Promise<TokenSet> {
    const policy = this.config;
    switch (body.grant_type) {
      case 'authorization_code': {
        const issued = this.issued.get(body.code);
        // A code is redeemed once, whatever the outcome.
        this.issued.delete(body.code);
        if (
          !issued ||
          issued.expires < Date.now() ||
          issued.redirectUri !== body.redirect_uri ||
          challengeOf(body.code_verifier) !== issued.clientChallenge
        ) {
          throw invalidGrant(
            'This sign-in code is unknown, used, expired, or not for this verifier: sign in again.',
          );
        }
        return this.store.openSession(issued.userId, issued.providerRefresh, policy);
      }
      case 'urn:ietf:params:oauth:grant-type:device_code': {
        const polled = await this.refusedAsGrant(() => this.provider.pollDevice(body.device_code));
        if (polled === 'pending') {
          throw new HttpError(400, 'authorization_pending', 'The sign-in is not finished yet.');
        }
        if (polled === 'slow_down') {
          throw new HttpError(400, 'slow_down', 'Ask less often.');
        }
        const userId = await this.admit(polled);
        return this.store.openSession(userId, polled.refreshToken, policy);
      }
      case 'refresh_token': {
        const session = await this.store.sessionOf(body.refresh_token);
        if (session.providerRefresh === undefined) {
          await this.store.endSession(session.id);
          throw invalidGrant(
            'The identity provider gave no refresh token for this sign-in, so it cannot be renewed: sign in again.',
          );
        }
        let tokens: ProviderTokens;
        try {
          tokens = await this.provider.refresh(session.providerRefresh);
        } catch (error) {
          if (!(error instanceof ProviderRefused)) throw error;
          // Disabled at the provider, signed out there, or its consent withdrawn: the sign-in ends.
          await this.store.endSession(session.id);
          throw invalidGrant(`The identity provider no longer signs you in: ${error.message}`);
        }
        const identity = this.identity(tokens);
        if (identity.subject !== session.subject) {
          await this.store.endSession(session.id);
          throw invalidGrant('The identity provider answered for someone else: sign in again.');
        }
        if (identity.teams) await this.store.syncTeams(session.userId, identity.teams);
        return this.store.renewSession(
          session,
          body.refresh_token,
          tokens.refreshToken ?? session.providerRefresh,
          policy,
        );
      }
    }
  }

  /** The user of verified tokens, with their teams in step with their groups. */
  private async admit(tokens: ProviderTokens): Promise<string> {
    const identity = this.identity(tokens);
    const userId = await this.store.userFor(identity, this.config);
    if (identity.teams) await this.store.syncTeams(userId, identity.teams);
    return userId;
  }

  private identity(tokens: ProviderTokens) {
    try {
      return identityOf(tokens.claims, this.config);
    } catch (error) {
      throw asHttp(error, OidcConfigError, (e) => new HttpError(401, 'sign_in_failed', e.message));
    }
  }

  private async refusedAsGrant<T>(run: () => Promise<T>): Promise<T> {
    return run().catch((error: unknown) => {
      throw asHttp(error, ProviderRefused, (e) => new HttpError(401, 'sign_in_failed', e.message));
    });
  }

  /** Runs a call to the provider; a provider that cannot be reached is a 503. */
  private async offline<T>(run: () => Promise<T>): Promise<T> {
    return run().catch((error: unknown) => {
      throw asHttp(
        error,
        Error,
        (e) =>
          new HttpError(
            503,
            'unavailable',
            `The identity provider at ${this.config.issuer} cannot be used now: ${e.message}`,
          ),
      );
    });
  }

  private callbackUrl(serverUrl: string): string {
    return `${(this.config.publicUrl ?? serverUrl).replace(/\/+$/, '')}/v1/auth/callback`;
  }

  private prune(): void {
    const now = Date.now();
    for (const map of [this.pending, this.issued] as Map<string, { expires: number }>[]) {
      for (const [key, entry] of map) if (entry.expires < now) map.delete(key);
      if (map.size > MAX_PENDING) map.clear();
    }
  }
}

/** `error` as the HttpError `to` makes of it when it is a `kind`, else as it is. */
function asHttp<E extends Error>(
  error: unknown,
  kind: new (...args: never[]) => E,
  to: (error: E) => HttpError,
): unknown {
  return error instanceof kind && !(error instanceof HttpError) ? to(error) : error;
}

function challengeOf(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}
