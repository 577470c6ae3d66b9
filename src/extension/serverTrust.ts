/**
 * How the extension reaches a team server safely: plain http:// only to this machine unless
 * `notebookSecrets.server.allowInsecureHttp`, a private CA from `notebookSecrets.server.caFile`
 * for a server whose certificate the system does not trust, and the clients' one fetch
 * (src/sync/nodeFetch.ts: no redirects, `localhost` only at a loopback address).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { InvalidInput } from '../core/errors';
import { checkTransport, serverUrlProblem as urlProblem, type Transport } from '../core/serverUrl';
import { makeNodeFetch, nodeFetch } from '../sync/nodeFetch';
import { setting, settingId } from './settings';

export const INSECURE_SETTING = settingId('server.allowInsecureHttp');
export const CA_SETTING = settingId('server.caFile');
/** Said when a server's certificate is not trusted. */
export const EXTENSION_CA_HINT = `set the setting ${CA_SETTING} to the CA certificate file (PEM)`;
const OPT_IN = `the setting ${INSECURE_SETTING}`;

function policy() {
  return {
    allowInsecureHttp: setting('server.allowInsecureHttp') === true,
    optIn: OPT_IN,
    what: 'The team server URL',
  };
}

/** Why the text typed as the team server URL cannot be used (empty is allowed: no server). */
export function serverUrlProblem(text: string): string | undefined {
  return text.trim() === '' ? undefined : urlProblem(text, policy());
}

/** Throws InvalidInput naming the setting, or says how the URL connects. */
export function checkServerTransport(server: string): Transport {
  return checkTransport(new URL(server), policy());
}

/** The warning for a sign-in over plain HTTP to another machine. */
export function insecureSignInWarning(server: string): string {
  return (
    `The connection to ${new URL(server).host} is INSECURE: plain http:// to another machine ` +
    `(allowed by ${INSECURE_SETTING}). Your token and secret values cross the network unencrypted.`
  );
}

let cached: { key: string; fetch: typeof globalThis.fetch } | undefined;

/**
 * The fetch for the team server: one that also trusts the CA in `notebookSecrets.server.caFile`
 * when it is set. Throws InvalidInput when the file cannot be read or holds no certificate.
 */
export function serverFetch(): typeof globalThis.fetch {
  const file = setting('server.caFile').trim();
  if (!file) return nodeFetch;
  let pem: Buffer;
  let key: string;
  try {
    key = `${file}:${statSync(file).mtimeMs}`;
    if (cached?.key === key) return cached.fetch;
    pem = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new InvalidInput(`Cannot read the CA file in ${CA_SETTING}, ${file} (${code}).`);
  }
  try {
    new X509Certificate(pem);
  } catch {
    throw new InvalidInput(
      `The file in ${CA_SETTING}, ${file}, is not a PEM certificate (-----BEGIN CERTIFICATE-----).`,
    );
  }
  cached = { key, fetch: makeNodeFetch({ ca: pem }) };
  return cached.fetch;
}
