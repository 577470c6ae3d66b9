/**
 * Signing in through the team server's identity provider, for the CLI's `login` and the
 * extension's Sign in to Team Server: in the browser (code + PKCE, back to a loopback port of
 * this machine), or, with no browser here, the device grant (a code to enter on another device).
 * Either way the server's tokens come back: a short-lived access token and a refresh token.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TokenSet as Tokens } from '../core/api';
import { SignInFailed } from '../core/errors';
import type { ApiClient } from './client';
import { ApiError } from './errors';

export interface ProviderSignInOptions {
  provider: string;
  /** Use the device grant even where a browser could open. */
  device: boolean;
  /** Tells the person what to do (open a URL, enter a code). */
  say: (line: string) => void;
  /** Opens a URL in the browser; false when none can be opened here. */
  open: (url: string) => Promise<boolean>;
}

export async function signInWithProvider(
  api: ApiClient,
  options: ProviderSignInOptions,
): Promise<Tokens> {
  if (!options.device) {
    const tokens = await browserSignIn(api, options);
    if (tokens) return tokens;
    options.say('No browser could be opened here: signing in with a code instead.');
  }
  return deviceSignIn(api, options);
}

/** The browser sign-in, or undefined when no browser opens. */
async function browserSignIn(
  api: ApiClient,
  options: ProviderSignInOptions,
): Promise<Tokens | undefined> {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  let answer!: (result: { code?: string; error?: string }) => void;
  const answered = new Promise<{ code?: string; error?: string }>((r) => (answer = r));
  const loopback = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback' || url.searchParams.get('state') !== state) {
      response.writeHead(404).end();
      return;
    }
    const error = url.searchParams.get('error_description') ?? url.searchParams.get('error');
    response
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(
        error
          ? '<p>Sign-in failed; see your terminal.</p>'
          : '<p>Signed in to Notebook Secrets. You can close this tab.</p>',
      );
    answer(error ? { error } : { code: url.searchParams.get('code') ?? '' });
  });
  await new Promise<void>((resolve) => loopback.listen(0, '127.0.0.1', resolve));
  try {
    const redirectUri = `http://127.0.0.1:${(loopback.address() as AddressInfo).port}/callback`;
    const url = api.authorizeUrl({
      redirect_uri: redirectUri,
      state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });
    if (!(await options.open(url))) return undefined;
    options.say(
      `Sign in with ${options.provider} in your browser. If it did not open, visit:\n  ${url}`,
    );
    const result = await answered;
    if (result.error !== undefined) throw new SignInFailed(`Sign-in failed: ${result.error}`);
    return await api.redeem({
      grant_type: 'authorization_code',
      code: result.code!,
      code_verifier: verifier,
      redirect_uri: redirectUri,
    });
  } finally {
    loopback.closeAllConnections();
    loopback.close();
  }
}

async function deviceSignIn(api: ApiClient, options: ProviderSignInOptions): Promise<Tokens> {
  const started = await api.startDeviceSignIn();
  options.say(
    `To sign in with ${options.provider}, open ${started.verification_uri} on any device and enter the code ${started.user_code}` +
      (started.verification_uri_complete
        ? `\n  (or open ${started.verification_uri_complete})`
        : ''),
  );
  let interval = Math.max(1, started.interval);
  const deadline = Date.now() + started.expires_in * 1000;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, interval * 1000));
    try {
      return await api.redeem({
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: started.device_code,
      });
    } catch (error) {
      if (error instanceof ApiError && error.apiCode === 'authorization_pending') continue;
      if (error instanceof ApiError && error.apiCode === 'slow_down') {
        interval += 5;
        continue;
      }
      throw error;
    }
  }
  throw new SignInFailed('The sign-in code expired before it was used: sign in again.');
}
