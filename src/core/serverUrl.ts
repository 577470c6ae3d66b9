/**
 * The one rule for where a token or a value may travel: `https://` to any host, `http://` only to
 * this machine, unless the user opted in to plain HTTP explicitly. This machine means an IP
 * literal in 127.0.0.0/8 or ::1, or the exact name `localhost`; a name is only as local as the
 * address it resolves to, so `loopbackOnlyLookup` checks that address when the connection is made.
 * The team-server clients (extension, CLI, sync) and the Jupyter connections (attach, Add Jupyter
 * Server) all ask it, so the line sits in the same place for each of them.
 */
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { InvalidInput } from './errors';

/** The only name that counts as this machine; its answers are checked by loopbackOnlyLookup. */
const LOOPBACK_NAME = 'localhost';

/** True for an IP address of this machine: 127.0.0.0/8, ::1, or ::ffff:127.x.y.z (also in brackets). */
export function isLoopbackAddress(address: string): boolean {
  const ip = /^\[(.*)\]$/.exec(address)?.[1] ?? address;
  // WHATWG URLs write IPv4 hosts as four decimal parts (127.1 becomes 127.0.0.1).
  const v4 = /^(\d{1,3})\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.exec(ip);
  if (v4) return v4[1] === '127';
  const v6 = ip.toLowerCase();
  // URLs write IPv6 hosts compressed: [::1]; [::ffff:7f00:1] is ::ffff:127.0.0.1.
  return (
    v6 === '::1' ||
    v6 === '0:0:0:0:0:0:0:1' ||
    /^::ffff:(7f[0-9a-f]{2}:[0-9a-f]{1,4}|127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.test(v6)
  );
}

/**
 * True for hosts that never leave this machine: an IP literal in 127.0.0.0/8 or ::1, or exactly
 * `localhost` (not `localhost.`, not `*.localhost`: where those go is up to the resolver).
 */
export function isLoopbackHost(hostname: string): boolean {
  return hostname.toLowerCase() === LOOPBACK_NAME || isLoopbackAddress(hostname);
}

/** A loopback host whose address comes from the resolver (`localhost`), not from the URL. */
function isLoopbackName(hostname: string): boolean {
  return hostname.toLowerCase() === LOOPBACK_NAME;
}

/** A loopback name that resolved to an address of another machine. */
export class NotLoopbackError extends InvalidInput {
  constructor(hostname: string, addresses: readonly string[]) {
    super(
      `Plain http:// to ${hostname} was refused: ${hostname} resolved to ${addresses.join(', ') || 'no address'}, ` +
        'which is not a loopback address (127.0.0.0/8, ::1), so tokens and secret values would ' +
        `cross the network unencrypted. Use http://127.0.0.1 (or https://), or correct the hosts ` +
        `file or resolver that sends ${hostname} elsewhere.`,
    );
  }
}

/**
 * `lookup` (node:dns's, for node:http, node:net and ws) that refuses to connect a loopback name to
 * anything but a loopback address, so the check holds for the address actually connected to, not
 * only for the URL. Other names resolve as `lookup` says.
 */
export function loopbackOnlyLookup(lookup: LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    if (!isLoopbackName(hostname)) return lookup(hostname, options, callback);
    lookup(hostname, options, (error, address, family) => {
      if (error) return callback(error, address, family);
      const answers = typeof address === 'string' ? [address] : address.map((a) => a.address);
      const outside = answers.filter((a) => !isLoopbackAddress(a));
      if (outside.length > 0 || answers.length === 0) {
        callback(new NotLoopbackError(hostname, outside), [] as LookupAddress[], family);
        return;
      }
      callback(null, address, family);
    });
  };
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

/** The team server URL as typed, or why it is not one (before any rule of transport). */
function parseServerUrl(raw: string): URL | string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return 'The server URL is not a full URL: enter it as https://host[:port], or as http://127.0.0.1:PORT for a server on this machine.';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return 'The server URL must start with https:// or http://.';
  if (url.username || url.password)
    return 'Do not put credentials in the server URL: you sign in with a token, asked for separately.';
  if (url.search || url.hash) return "Enter the server's base URL, without ?query or #fragment.";
  return url;
}

/** Checks and normalizes a team server URL; throws InvalidInput with the rule when it is not one. */
export function normalizeServerUrl(raw: string): string {
  const url = parseServerUrl(raw);
  if (typeof url === 'string') throw new InvalidInput(url);
  return url.toString().replace(/\/+$/, '');
}

/** Why `text` may not be used as the team server URL under `policy` (syntax, then transport). */
export function serverUrlProblem(text: string, policy: TransportPolicy): string | undefined {
  const url = parseServerUrl(text);
  return typeof url === 'string' ? url : transportProblem(url, policy);
}
