/**
 * The server as a client of the identity provider, through openid-client: discovery, the
 * authorization code grant with PKCE and a nonce, the device authorization grant, and refresh.
 * Every ID token is checked (issuer, audience, expiry, nonce where one was sent) and its signature
 * verified against the provider's published keys.
 */
import * as oidc from 'openid-client';
import type { OidcConfig } from './config';
import { isLoopbackHost } from '../../core/serverUrl';

/** What a grant at the provider gives: the verified ID token's claims and its refresh token. */
export interface ProviderTokens {
  claims: Record<string, unknown>;
  refreshToken?: string;
}

/** A grant the provider refused, or an ID token that failed a check: the person is not signed in. */
export class ProviderRefused extends Error {
  constructor(
    message: string,
    /** The OAuth error code, when the provider sent one (`invalid_grant`, …). */
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * The provider could not answer (unreachable, or a server error of its own): nothing is known
 * about the person, so a sign-in stays as it was.
 */
export class ProviderUnavailable extends Error {}

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export class OidcProvider {
  private discovered: Promise<oidc.Configuration> | undefined;

  constructor(private readonly config: OidcConfig) {}

  private configuration(): Promise<oidc.Configuration> {
    this.discovered ??= (async () => {
      const issuer = new URL(this.config.issuer);
      const loopback = isLoopbackHost(issuer.hostname);
      const configuration = await oidc.discovery(
        issuer,
        this.config.clientId,
        this.config.clientSecret,
        this.config.clientSecret ? undefined : oidc.None(),
        // Plain HTTP to the provider only on this machine (a provider run for tests or a demo).
        loopback && issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {},
      );
      oidc.enableNonRepudiationChecks(configuration);
      return configuration;
    })();
    // A provider that was down at the first sign-in is asked again at the next.
    this.discovered.catch(() => (this.discovered = undefined));
    return this.discovered;
  }

  /** Whether the provider offers the device authorization grant. */
  async offersDevice(): Promise<boolean> {
    const metadata = (await this.configuration()).serverMetadata();
    return metadata.device_authorization_endpoint !== undefined;
  }

  async authorizationUrl(input: {
    redirectUri: string;
    state: string;
    nonce: string;
    codeChallenge: string;
  }): Promise<URL> {
    return oidc.buildAuthorizationUrl(await this.configuration(), {
      redirect_uri: input.redirectUri,
      scope: this.config.scopes,
      state: input.state,
      nonce: input.nonce,
      code_challenge: input.codeChallenge,
      code_challenge_method: 'S256',
      // A refresh token needs the person's consent at some providers.
      ...(this.config.scopes.split(' ').includes('offline_access') ? { prompt: 'consent' } : {}),
    });
  }

  /** Redeems the code of the provider's redirect back (`callbackUrl`) for verified tokens. */
  redeemCode(
    callbackUrl: URL,
    checks: { codeVerifier: string; nonce: string; state: string },
  ): Promise<ProviderTokens> {
    return this.grant(async (configuration) =>
      oidc.authorizationCodeGrant(configuration, callbackUrl, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedNonce: checks.nonce,
        expectedState: checks.state,
        idTokenExpected: true,
      }),
    );
  }

  async startDevice(): Promise<oidc.DeviceAuthorizationResponse> {
    try {
      return await oidc.initiateDeviceAuthorization(await this.configuration(), {
        scope: this.config.scopes,
      });
    } catch (error) {
      throw refusal(error);
    }
  }

  /** One poll of a device sign-in: tokens, or `pending` / `slow_down` while the person is not done. */
  async pollDevice(deviceCode: string): Promise<ProviderTokens | 'pending' | 'slow_down'> {
    try {
      return await this.grant((configuration) =>
        oidc.genericGrantRequest(configuration, DEVICE_GRANT, { device_code: deviceCode }),
      );
    } catch (error) {
      if (error instanceof ProviderRefused && error.code === 'authorization_pending')
        return 'pending';
      if (error instanceof ProviderRefused && error.code === 'slow_down') return 'slow_down';
      throw error;
    }
  }

  /** A refresh at the provider: refused when the person was disabled or signed out there. */
  refresh(refreshToken: string): Promise<ProviderTokens> {
    return this.grant((configuration) => oidc.refreshTokenGrant(configuration, refreshToken));
  }

  private async grant(
    run: (
      configuration: oidc.Configuration,
    ) => Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers>,
  ): Promise<ProviderTokens> {
    let response;
    try {
      response = await run(await this.configuration());
    } catch (error) {
      throw refusal(error);
    }
    const claims = response.claims();
    if (!claims) throw new ProviderRefused('The provider sent no ID token.');
    return {
      claims: { ...claims },
      ...(response.refresh_token ? { refreshToken: response.refresh_token } : {}),
    };
  }
}

/**
 * The provider's refusal or a failed check, or its being unavailable, as a message that never
 * quotes a token.
 */
function refusal(error: unknown): ProviderRefused | ProviderUnavailable {
  if (error instanceof ProviderRefused || error instanceof ProviderUnavailable) return error;
  const status =
    error instanceof oidc.ResponseBodyError
      ? error.status
      : error instanceof oidc.ClientError && error.cause instanceof Response
        ? error.cause.status
        : undefined;
  if (status !== undefined && status >= 500) {
    return new ProviderUnavailable(`The identity provider failed to answer (HTTP ${status}).`);
  }
  if (error instanceof oidc.ResponseBodyError) {
    return new ProviderRefused(
      `The identity provider refused: ${error.error}${error.error_description ? ` (${error.error_description})` : ''}.`,
      error.error,
    );
  }
  if (error instanceof oidc.ClientError || error instanceof oidc.AuthorizationResponseError) {
    // Messages name the check that failed (issuer, audience, expiry, nonce, signature), no token.
    return new ProviderRefused(`The identity provider's answer failed a check: ${error.message}`);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ProviderUnavailable(`The identity provider cannot be reached: ${message}`);
}
