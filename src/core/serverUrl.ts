/**
 * The one rule for where a token or a value may travel: `https://` to any host, `http://` only to
 * this machine (127.0.0.0/8, ::1, localhost), unless the user opted in to plain HTTP explicitly.
 * The team-server clients (extension, CLI, sync) and the Jupyter connections (attach, Add Jupyter
 * Server) all ask it, so the line sits in the same place for each of them.
 */
import { InvalidInput } from './errors';

/** True for hosts that never leave this machine: 127.0.0.0/8, ::1 and localhost (or *.localhost). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  // WHATWG URLs write IPv4 hosts as four decimal parts (127.1 becomes 127.0.0.1).
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return host.startsWith('127.');
  // IPv6 hosts come in brackets and compressed: [::1]; [::ffff:7f00:1] is ::ffff:127.0.0.1.
  const v6 = /^\[(.*)\]$/.exec(host)?.[1] ?? (host.includes(':') ? host : undefined);
  if (v6 === undefined) return false;
  return (
    v6 === '::1' || /^::ffff:(7f[0-9a-f]{2}:[0-9a-f]{1,4}|127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.test(v6)
  );
}

export interface TransportPolicy {
  /** The user's explicit opt-in to plain HTTP off this machine. */
  allowInsecureHttp?: boolean;
  /** How the user gives that opt-in, named in the refusal (`--insecure-http`, a setting). */
  optIn: string;
  /** What the URL is for, at the start of the refusal: "The team server URL", "The Jupyter URL". */
  what?: string;
}

export type Transport = 'https' | 'loopback-http' | 'insecure-http';

/**
 * Says how a URL would carry tokens and values, or why it may not: `insecure-http` only when the
 * caller opted in (the caller then warns each time it connects). Schemes other than http/https are
 * left to the caller's own URL checks.
 */
export function transportProblem(url: URL, policy: TransportPolicy): string | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'ws:') return undefined;
  if (isLoopbackHost(url.hostname) || policy.allowInsecureHttp) return undefined;
  const what = policy.what ?? 'The server URL';
  const secure = url.protocol === 'ws:' ? 'wss://' : 'https://';
  return (
    `${what} uses plain ${url.protocol === 'ws:' ? 'ws' : 'http'}:// to ${url.host}, which is not a loopback address (127.0.0.0/8, ::1, localhost): ` +
    `tokens and secret values would cross the network unencrypted. Use ${secure}${url.host}, ` +
    `or, only behind a trusted network or proxy you control, opt in with ${policy.optIn}.`
  );
}

/** Throws InvalidInput with the rule when `url` may not be used; else says how it connects. */
export function checkTransport(url: URL, policy: TransportPolicy): Transport {
  const problem = transportProblem(url, policy);
  if (problem) throw new InvalidInput(problem);
  if (url.protocol === 'https:' || url.protocol === 'wss:') return 'https';
  return isLoopbackHost(url.hostname) ? 'loopback-http' : 'insecure-http';
}

/** The warning shown each time a client connects over plain HTTP to another machine. */
export function insecureWarning(url: URL, optIn: string): string {
  return (
    `The connection to ${url.host} is INSECURE (plain http://, allowed by ${optIn}): ` +
    'your token and secret values cross the network unencrypted.'
  );
}
