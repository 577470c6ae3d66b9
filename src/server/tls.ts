/**
 * The server's TLS certificate and key, checked before the server listens: readable files, a PEM
 * certificate, a key that belongs to it, and a validity period that includes now. Each refusal
 * names the file and what to do; the key's contents never appear in a message.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isLoopbackHost } from '../core/serverUrl';
import { openKeyFileWarning } from './crypto';

export class TlsConfigError extends Error {}

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** The certificate's subject and expiry, for the start-up line. */
  summary: string;
  /** Said at start when others may read the key file, as for the encryption key's file. */
  warning?: string;
}

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : (code ?? 'unreadable');
    throw new TlsConfigError(`Cannot read the TLS ${what} file ${file} (${why}).`);
  }
}

/** Reads and checks the certificate and key; throws TlsConfigError with the reason. */
export function loadTls(files: TlsFiles, now = new Date()): TlsMaterial {
  const cert = read(files.certFile, 'certificate');
  const key = read(files.keyFile, 'key');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new TlsConfigError(
      `${files.certFile} is not a PEM (or DER) X.509 certificate. Pass the certificate (-----BEGIN CERTIFICATE-----) to --tls-cert.`,
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    const encrypted = /passphrase/i.test((error as Error).message);
    throw new TlsConfigError(
      encrypted
        ? `The TLS key in ${files.keyFile} is encrypted with a passphrase; pass an unencrypted key (kept 0600).`
        : `${files.keyFile} is not a PEM private key. Pass the key (-----BEGIN PRIVATE KEY-----) to --tls-key.`,
    );
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new TlsConfigError(
      `The TLS key in ${files.keyFile} does not match the certificate in ${files.certFile}. Pass the key the certificate was issued for.`,
    );
  }
  const validFrom = new Date(x509.validFrom);
  const validTo = new Date(x509.validTo);
  if (validTo.getTime() <= now.getTime()) {
    throw new TlsConfigError(
      `The TLS certificate in ${files.certFile} expired on ${validTo.toISOString()}. Renew it and start again.`,
    );
  }
  if (validFrom.getTime() > now.getTime()) {
    throw new TlsConfigError(
      `The TLS certificate in ${files.certFile} is not valid before ${validFrom.toISOString()}. Check the clock or the certificate.`,
    );
  }
  const subject = x509.subject.replace(/\n/g, ', ');
  const warning = openKeyFileWarning(files.keyFile, 'TLS key file');
  return {
    cert,
    key,
    summary: `${subject}, valid until ${validTo.toISOString()}`,
    ...(warning && { warning }),
  };
}

/** True for listen addresses only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopbackBind(host: string): boolean {
  return isLoopbackHost(host);
}
