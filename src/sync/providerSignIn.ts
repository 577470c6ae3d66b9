/**
 * Signing in through the team server's identity provider, for the CLI's `login` and the
 * extension's Sign in to Team Server: in the browser (code + PKCE), coming back to a loopback port
 * of this machine or, given another `receive`, to wherever the client listens (the extension's URI
 * handler); or, with no browser here, the device grant (a code to enter on another device).
 * Either way the server's tokens come back: a short-lived access token and a refresh token.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthorizeQuery, TokenSet as Tokens } from '../core/api';
import { SignInFailed } from '../core/errors';
import type { ApiClient } from './client';
import { ApiError } from './errors';

/** Where a browser sign-in comes back: the redirect URI, and the query that arrives there. */
export interface RedirectReceiver {
  readonly redirectUri: string;
  /** The query of the redirect back (`state`, and `code` or `error`), once it arrives. */
  readonly received: Promise<URLSearchParams>;
  /** Stops waiting. */
  dispose(): void;
}

/** Opens a receiver for the browser sign-in of `state`. */
export type Receive = (state: string) => Promise<RedirectReceiver>;

/** As long as the server keeps a browser sign-in open. */
const BROWSER_SIGN_IN_MS = 10 * 60_000;

export interface ProviderSignInOptions {
  provider: string;
  /** Use the device grant even where a browser could open. */
  device: boolean;
  /** Tells the person what to do (open a URL, enter a code). */
  say: (line: string) => void;
  /** Opens a URL in the browser; false when none can be opened here. */
  open: (url: string) => Promise<boolean>;
  /** Where the browser comes back to; by default a loopback port of this machine. */
  receive?: Receive;
  /** Ends a browser sign-in early; it then fails with the signal's reason. */
  signal?: AbortSignal;
  /** How long a browser sign-in may take (default: 10 minutes, as long as the server waits). */
  timeoutMs?: number;
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
  const receiver = await (options.receive ?? loopbackReceiver)(state);
  try {
    const url = await startUrl(api, {
      redirect_uri: receiver.redirectUri,
      state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });
    if (!(await options.open(url))) return undefined;
    options.say(
      `Sign in with ${options.provider} in your browser. If it did not open, visit:\n  ${url}`,
    );
    const query = await settled(receiver.received, options);
    const error = query.get('error_description') ?? query.get('error');
    if (error !== null) throw new SignInFailed(`Sign-in failed: ${error}`);
    const code = query.get('code');
    if (!code) throw new SignInFailed('The sign-in came back without a code: sign in again.');
    return await api.redeem({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: receiver.redirectUri,
    });
  } finally {
    receiver.dispose();
  }
}

/**
 * The URL the browser opens: a sign-in pushed to the server ahead, which carries only its id (an
 * editor that forwards or re-encodes URLs cannot alter it), or, from a server without pushed
 * sign-ins, the authorize URL with everything in its query.
 */
async function startUrl(api: ApiClient, query: AuthorizeQuery): Promise<string> {
  try {
    return api.signInRequestUrl((await api.pushSignIn(query)).id);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return api.authorizeUrl(query);
    throw error;
  }
}

/** `received`, unless the sign-in is cancelled or takes longer than the server waits. */
function settled(
  received: Promise<URLSearchParams>,
  options: Pick<ProviderSignInOptions, 'signal' | 'timeoutMs'>,
): Promise<URLSearchParams> {
  const { signal } = options;
  const ms = options.timeoutMs ?? BROWSER_SIGN_IN_MS;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new SignInFailed(
            `The sign-in was not finished in the browser within ${Math.round(ms / 60_000)} minutes: sign in again.`,
          ),
        ),
      ms,
    );
    const abort = () => {
      // The caller's own error (the extension's Cancelled), else the one AbortController makes.
      const reason: unknown = signal!.reason;
      reject(reason instanceof Error ? reason : new SignInFailed('The sign-in was cancelled.'));
    };
    if (signal?.aborted) abort();
    signal?.addEventListener('abort', abort, { once: true });
    void received.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
    });
  });
}

/** A loopback port of this machine, for a browser on this machine (the CLI, desktop VS Code). */
export const loopbackReceiver: Receive = async (state) => {
  let answer!: (query: URLSearchParams) => void;
  const received = new Promise<URLSearchParams>((resolve) => (answer = resolve));
  const loopback = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback' || url.searchParams.get('state') !== state) {
      response.writeHead(404).end();
      return;
    }
    const failed = url.searchParams.has('error') || url.searchParams.has('error_description');
    response
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(
        failed
          ? '<p>Sign-in failed; see where you started it.</p>'
          : '<p>Signed in to Notebook Secrets. You can close this tab.</p>',
      );
    answer(url.searchParams);
  });
  await new Promise<void>((resolve) => loopback.listen(0, '127.0.0.1', resolve));
  return {
    redirectUri: `http://127.0.0.1:${(loopback.address() as AddressInfo).port}/callback`,
    received,
    dispose: () => {
      loopback.closeAllConnections();
      loopback.close();
    },
  };
};

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
