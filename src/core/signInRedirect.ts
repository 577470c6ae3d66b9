/**
 * Where a browser sign-in may come back to, for the team server (which checks a client's
 * `redirect_uri`) and the extension (which builds one). The one-time code rides on that redirect,
 * and whoever started the sign-in chose the PKCE verifier that redeems it, so the server must only
 * send codes where nobody but the person signing in can read them:
 *
 * - a loopback `http://` address (the CLI's and desktop VS Code's own port, RFC 8252);
 * - the extension's own URI in an editor (`vscode://notebook-secrets.notebook-secrets/…`), which
 *   the editor hands to the extension's URI handler only, also in a remote window;
 * - a URL under one of the prefixes the administrator allowed (a VS Code for the Web such as
 *   code-server, whose callback page forwards to that URI handler): same origin, and a path at or
 *   under the prefix's path, as the URL parser reads them (not a string prefix, which
 *   `https://code.example.com.evil.test/` would pass).
 */
import { isLoopbackHost } from './serverUrl';

/** The extension's id, the authority of its URIs (`<publisher>.<name>`). */
export const EXTENSION_AUTHORITY = 'notebook-secrets.notebook-secrets';

/** The path of the extension's URI a browser sign-in comes back to. */
export const SIGNED_IN_PATH = '/signed-in';

/**
 * The URI schemes (`vscode.env.uriScheme`) of VS Code's builds and of the editors built on it,
 * each of which hands `<scheme>://<extension id>/…` to that extension's URI handler.
 */
export const EDITOR_SCHEMES: readonly string[] = [
  'vscode',
  'vscode-insiders',
  'vscode-exploration',
  'vscode-wsl',
  'vscodium',
  'code-oss',
  'cursor',
  'windsurf',
  'positron',
];

function parse(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && isLoopbackHost(url.hostname);
}

/**
 * An allowed prefix as configured: an `https://` URL (or loopback `http://`), else a message that
 * says what is wrong with it.
 */
export function redirectPrefixProblem(prefix: string): string | undefined {
  const url = parse(prefix);
  if (!url || (url.protocol !== 'https:' && !isLoopbackHttp(url))) {
    return `'${prefix}' is not an https:// URL (plain http:// only for loopback addresses).`;
  }
  if (url.search || url.hash || url.username || url.password) {
    return `'${prefix}' must be an origin and a path, without a query, fragment or user name.`;
  }
  return undefined;
}

/** Whether a sign-in may come back to `redirectUri`, given the allowed prefixes. */
export function isAllowedRedirect(redirectUri: string, prefixes: readonly string[]): boolean {
  const url = parse(redirectUri);
  if (!url || url.username || url.password) return false;
  if (isLoopbackHttp(url)) return true;
  const scheme = url.protocol.slice(0, -1);
  if (EDITOR_SCHEMES.includes(scheme)) {
    return url.host.toLowerCase() === EXTENSION_AUTHORITY;
  }
  return prefixes.some((text) => {
    const prefix = parse(text);
    if (!prefix || prefix.origin !== url.origin || prefix.origin === 'null') return false;
    const base = prefix.pathname.endsWith('/') ? prefix.pathname : `${prefix.pathname}/`;
    return url.pathname === prefix.pathname || url.pathname.startsWith(base);
  });
}
