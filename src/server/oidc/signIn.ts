/**
 * Sign-in with the identity provider, as the routes of /v1/auth/ run it. In the browser: the
 * client pushes its sign-in ahead (its redirect URI, state and PKCE challenge) and the browser
 * opens it by id, or the browser brings them in the authorize URL; the server sends the browser
 * to the provider with its own PKCE and nonce, checks what comes back,
 * and sends the browser on to the client's redirect URI with a one-time code, which the client
 * redeems with its own PKCE verifier. Without a browser: the device authorization grant. Either
 * way the server issues its own tokens: short-lived access tokens and a refresh token, and each
 * refresh asks the provider again, so a person disabled there, or gone from a group, loses that
 * access at their next refresh.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import * as z from 'zod';
import {
  AuthorizeQuery,
  type DeviceStart,
  type PushedSignIn,
  type SignInConfig,
  type TokenRequestBody,
  type TokenSet,
} from '../../core/api';
import { EXTENSION_AUTHORITY, isAllowedRedirect } from '../../core/signInRedirect';
import { HttpError } from '../httpError';
import type { Store } from '../store';
import { invalidGrant } from '../store/sessions';
import type { SignInOrigin } from '../store/audit';
import type { SignInRequestKind } from '../store/signInRequests';
import { identityOf, OidcConfigError, type OidcConfig } from './config';
import {
  OidcProvider,
  ProviderRefused,
  ProviderUnavailable,
  type ProviderTokens,
} from './provider';

const PUSHED_SECONDS = 10 * 60;
/** A device sign-in's answers while the person is not done yet: not failures. */
const STILL_SIGNING_IN = new Set(['authorization_pending', 'slow_down']);
const PENDING_SECONDS = 10 * 60;
const CODE_SECONDS = 2 * 60;

/** A browser sign-in at the provider, by the state sent there. */
const Pending = z.object({
  codeVerifier: z.string(),
  nonce: z.string(),
  redirectUri: z.string(),
  clientState: z.string(),
  clientChallenge: z.string(),
});

/** A one-time code the client redeems with its PKCE verifier. */
const Issued = z.object({
  userId: z.string(),
  providerRefresh: z.string().optional(),
  redirectUri: z.string(),
  clientChallenge: z.string(),
});

export class SignIn {
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

  /** Keeps a browser sign-in the client pushed ahead, for the browser to open by its id. */
  async push(query: AuthorizeQuery): Promise<PushedSignIn> {
    this.checkRedirect(query);
    const id = randomBytes(24).toString('base64url');
    await this.store.putSignInRequest('pushed', id, query, PUSHED_SECONDS);
    return { id, expires_in: PUSHED_SECONDS };
  }

  /** Where to send the browser that opened a pushed sign-in: as `authorize`, once. */
  async authorizePushed(id: string, serverUrl: string): Promise<URL> {
    const query = await this.take('pushed', id, AuthorizeQuery);
    if (!query) {
      throw new HttpError(
        400,
        'invalid_input',
        'This sign-in link is unknown, used or expired (a link is opened once, within 10 minutes): start the sign-in again.',
      );
    }
    return this.authorize(query, serverUrl);
  }

  /** Where to send the browser: the provider, asked to come back to this server. */
  async authorize(query: AuthorizeQuery, serverUrl: string): Promise<URL> {
    this.checkRedirect(query);
    const state = oidc.randomState();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const pending: z.infer<typeof Pending> = {
      codeVerifier,
      nonce,
      redirectUri: query.redirect_uri,
      clientState: query.state,
      clientChallenge: query.code_challenge,
    };
    await this.store.putSignInRequest('pending', state, pending, PENDING_SECONDS);
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
  async callback(search: string, serverUrl: string, origin: SignInOrigin): Promise<URL> {
    const params = new URLSearchParams(search);
    const state = params.get('state') ?? '';
    const pending = await this.take('pending', state, Pending);
    if (!pending) {
      const unknown = new HttpError(
        400,
        'invalid_input',
        'This sign-in is unknown or expired (a sign-in is finished once, within 10 minutes): start it again.',
      );
      await this.failed('sign_in_failed', unknown, origin);
      throw unknown;
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
      const issued: z.infer<typeof Issued> = {
        userId,
        ...(tokens.refreshToken !== undefined && { providerRefresh: tokens.refreshToken }),
        redirectUri: pending.redirectUri,
        clientChallenge: pending.clientChallenge,
      };
      await this.store.putSignInRequest('code', code, issued, CODE_SECONDS);
      back.searchParams.set('code', code);
    } catch (error) {
      const told =
        error instanceof HttpError ||
        error instanceof ProviderRefused ||
        error instanceof ProviderUnavailable;
      if (!told) throw error;
      await this.failed('sign_in_failed', error, origin);
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

  /**
   * Redeems a code, finishes a device sign-in or refreshes; every refusal but "not yet" and an
   * unavailable provider is audited, with the person once known.
   */
  async token(body: TokenRequestBody, origin: SignInOrigin): Promise<TokenSet> {
    const known: { user?: string } = {};
    try {
      return await this.grant(body, origin, known);
    } catch (error) {
      if (error instanceof HttpError && error.status < 500 && !STILL_SIGNING_IN.has(error.code)) {
        const action = body.grant_type === 'refresh_token' ? 'refresh_failed' : 'sign_in_failed';
        await this.failed(action, error, origin, known.user);
      }
      throw error;
    }
  }

  private async grant(
    body: TokenRequestBody,
    origin: SignInOrigin,
    known: { user?: string },
  ): Promise<TokenSet> {
    const policy = this.config;
    switch (body.grant_type) {
      case 'authorization_code': {
        // A code is redeemed once, whatever the outcome.
        const issued = await this.take('code', body.code, Issued);
        if (issued) known.user = issued.userId;
        if (
          !issued ||
          issued.redirectUri !== body.redirect_uri ||
          challengeOf(body.code_verifier) !== issued.clientChallenge
        ) {
          throw invalidGrant(
            'This sign-in code is unknown, used, expired, or not for this verifier: sign in again.',
          );
        }
        return this.store.openSession(issued.userId, issued.providerRefresh, policy, {
          how: 'browser',
          origin,
        });
      }
      case 'urn:ietf:params:oauth:grant-type:device_code': {
        const polled = await this.offline(() =>
          this.refusedAsGrant(() => this.provider.pollDevice(body.device_code)),
        );
        if (polled === 'pending') {
          throw new HttpError(400, 'authorization_pending', 'The sign-in is not finished yet.');
        }
        if (polled === 'slow_down') {
          throw new HttpError(400, 'slow_down', 'Ask less often.');
        }
        const userId = await this.admit(polled);
        return this.store.openSession(userId, polled.refreshToken, policy, {
          how: 'device',
          origin,
        });
      }
      case 'refresh_token': {
        const session = await this.store.sessionOf(body.refresh_token);
        known.user = session.userId;
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
          // Unavailable: a 503, and the sign-in stays for a later refresh.
          if (error instanceof ProviderUnavailable) throw this.unavailable(error);
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
          origin,
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
      throw asHttp(error, Error, (e) => this.unavailable(e));
    });
  }

  private unavailable(error: Error): HttpError {
    return new HttpError(
      503,
      'unavailable',
      `The identity provider at ${this.config.issuer} cannot be used now: ${error.message}`,
    );
  }

  private callbackUrl(serverUrl: string): string {
    return `${(this.config.publicUrl ?? serverUrl).replace(/\/+$/, '')}/v1/auth/callback`;
  }

  /** Audits a sign-in or refresh that failed, with the message its client got. */
  private failed(
    action: 'sign_in_failed' | 'refresh_failed',
    error: Error,
    origin: SignInOrigin,
    user?: string,
  ): Promise<void> {
    return this.store.auditSignIn({
      action,
      ...(user !== undefined && { user }),
      detail: error.message,
      origin,
    });
  }

  private checkRedirect(query: AuthorizeQuery): void {
    if (!isAllowedRedirect(query.redirect_uri, this.config.clientRedirects)) {
      throw new HttpError(
        400,
        'invalid_input',
        `'redirect_uri' must be a loopback http:// address, the extension's own editor URI (vscode://${EXTENSION_AUTHORITY}/…), or a URL under one of NOTEBOOK_SECRETS_OIDC_CLIENT_REDIRECTS.`,
        { field: 'redirect_uri' },
      );
    }
  }

  /** The sign-in request of `handle`, read once; undefined when unknown, used or expired. */
  private async take<T extends z.core.$ZodType>(
    kind: SignInRequestKind,
    handle: string,
    schema: T,
  ): Promise<z.infer<T> | undefined> {
    const found = await this.store.takeSignInRequest(kind, handle);
    return found === undefined ? undefined : z.parse(schema, found);
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
