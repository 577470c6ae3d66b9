/**
 * TLS end to end with the real `notebook-secrets serve` and CLI: a self-signed certificate made
 * here with openssl, HTTPS with --tls-cert/--tls-key, clients that trust it only through the
 * custom-CA setting (NODE_EXTRA_CA_CERTS for the CLI, a CA file for the extension's fetch), a
 * start refused for a mismatched key, an expired certificate or an unreadable file, and plain
 * HTTP refused off loopback on both sides. Nothing is sent off this machine: 0.0.0.0 is only
 * bound, and reached as a client address that the rule refuses (it is not loopback).
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execCli, type CliResult } from '../sync/cliRunner';
import { ApiClient } from '../../../src/sync/client';
import { ServerUnreachable } from '../../../src/sync/errors';
import { makeNodeFetch } from '../../../src/sync/nodeFetch';
import { buildServerCli, freePort, serve, type ServeProcess } from './serverProcess';

const ADMIN_TOKEN = `admin-${randomBytes(16).toString('hex')}`;
const dirs: string[] = [];
const procs: ServeProcess[] = [];
let certs: string;
let cli: string;

function tempDir(prefix = 'ns-tls-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** A self-signed certificate for localhost/127.0.0.1, a second key, and an expired certificate. */
function makeCertificates(dir: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(
    ['req', '-x509', ...ec, '-days', '1', '-subj', '/CN=localhost']
      .concat(['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'])
      .concat(['-keyout', 'key.pem', '-out', 'cert.pem']),
    dir,
  );
  openssl(
    ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'other-key.pem'],
    dir,
  );
  // `openssl req` cannot date a certificate in the past; `openssl ca` can.
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '01\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[ ca ]',
      'default_ca = ca_default',
      '[ ca_default ]',
      `database = ${join(dir, 'index.txt')}`,
      `new_certs_dir = ${dir}`,
      `serial = ${join(dir, 'serial')}`,
      'default_md = sha256',
      'policy = policy_any',
      '[ policy_any ]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  openssl(
    ['req', '-new', ...ec, '-subj', '/CN=localhost', '-keyout', 'old-key.pem', '-out', 'old.csr'],
    dir,
  );
  openssl(
    [
      'ca',
      '-batch',
      '-config',
      'ca.cnf',
      '-selfsign',
      '-keyfile',
      'old-key.pem',
      '-in',
      'old.csr',
    ].concat([
      '-out',
      'expired.pem',
      '-startdate',
      '20200101000000Z',
      '-enddate',
      '20200102000000Z',
    ]),
    dir,
  );
}

/** The built CLI with its config in `home`, no keyring, and only the environment given. */
function runCli(
  home: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  input?: string,
): Promise<CliResult> {
  return execCli(cli, args, {
    env: {
      HOME: home,
      NOTEBOOK_SECRETS_CONFIG_DIR: join(home, 'config'),
      NOTEBOOK_SECRETS_KEYRING: '0',
      ...env,
    },
    ...(input !== undefined && { input }),
  });
}

/** This machine's first address other than loopback (where a server on 0.0.0.0 answers too). */
const OTHER_ADDRESS = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && !a.internal && a.family === 'IPv4')?.address;
/** Whether this run may give a CLI run its own /etc/hosts (a mount namespace, as root). */
const CAN_UNSHARE_MOUNT =
  process.getuid?.() === 0 && spawnSync('unshare', ['-m', 'true']).status === 0;

/**
 * Runs the CLI with `hosts` as its /etc/hosts, bound over the real one in a mount namespace of
 * its own: the resolver then sends those names where the test says, and nothing else changes.
 */
function runCliResolving(
  hosts: string,
  home: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<CliResult> {
  const file = join(home, 'hosts');
  writeFileSync(file, hosts);
  return new Promise((resolve) => {
    execFile(
      'unshare',
      [
        '-m',
        'sh',
        '-c',
        'mount --bind "$0" /etc/hosts && exec "$@"',
        file,
        process.execPath,
      ].concat([cli, ...args]),
      {
        env: {
          PATH: process.env.PATH,
          HOME: home,
          NOTEBOOK_SECRETS_CONFIG_DIR: join(home, 'config'),
          NOTEBOOK_SECRETS_KEYRING: '0',
          ...env,
        },
        timeout: 30_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function start(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const p = await serve({
    dataDir: tempDir('ns-tls-data-'),
    port: await freePort(),
    args,
    env: { NOTEBOOK_SECRETS_ADMIN_TOKEN: ADMIN_TOKEN, ...env },
  });
  procs.push(p);
  return p;
}

beforeAll(async () => {
  certs = tempDir('ns-tls-certs-');
  makeCertificates(certs);
  cli = await buildServerCli();
});

afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('serve --tls-cert/--tls-key', () => {
  let server: ServeProcess;
  let port: string;

  beforeAll(async () => {
    server = await start([
      '--tls-cert',
      join(certs, 'cert.pem'),
      '--tls-key',
      join(certs, 'key.pem'),
    ]);
    port = new URL(server.url).port;
  });

  it('warns at start when others may read the TLS key, as for the encryption key', async () => {
    // The key made here is 0600: nothing to say.
    expect(server.stderr()).not.toMatch(/readable by others/);
    const shared = join(tempDir(), 'shared-key.pem');
    copyFileSync(join(certs, 'key.pem'), shared);
    chmodSync(shared, 0o640);
    const p = await start(['--tls-cert', join(certs, 'cert.pem'), '--tls-key', shared]);
    expect(p.stderr()).toContain(
      `warning: The TLS key file ${shared} is readable by others (mode 640); run chmod 600 on it.`,
    );
    expect(p.stderr()).not.toContain(readFileSync(shared, 'utf8').split('\n')[1]);
  });

  it('serves HTTPS, and nothing over plain HTTP on its port', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(server.stdout()).toMatch(/TLS certificate: CN=localhost, valid until \d{4}-/);
    const ca = readFileSync(join(certs, 'cert.pem'));
    const health = await makeNodeFetch({ ca })(`${server.url}/v1/health`);
    expect(health.status).toBe(200);
    const plain = await fetch(`http://127.0.0.1:${port}/v1/health`).then(
      (r) => r.status,
      () => 'no answer',
    );
    expect(plain).not.toBe(200);
  });

  it('the CLI signs in with NODE_EXTRA_CA_CERTS naming the CA, and keeps using it', async () => {
    const home = tempDir();
    const env = {
      NOTEBOOK_SECRETS_TOKEN: ADMIN_TOKEN,
      NODE_EXTRA_CA_CERTS: join(certs, 'cert.pem'),
    };
    const login = await runCli(home, ['login', '--server', `https://localhost:${port}`], env);
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);
    expect(login.stdout).toMatch(new RegExp(`Signed in to https://localhost:${port} as `));
    const whoami = await runCli(home, ['whoami'], env);
    expect(whoami.code).toBe(0);
  });

  it('without the CA, the CLI refuses the certificate and says to use NODE_EXTRA_CA_CERTS', async () => {
    const home = tempDir();
    const login = await runCli(home, ['login', '--server', `https://localhost:${port}`], {
      NOTEBOOK_SECRETS_TOKEN: ADMIN_TOKEN,
    });
    expect(login.code).not.toBe(0);
    expect(login.stderr).toMatch(
      /TLS certificate of https:\/\/localhost:\d+ is not trusted by this client \(DEPTH_ZERO_SELF_SIGNED_CERT\).*NODE_EXTRA_CA_CERTS/,
    );
    expect(login.stderr).not.toContain(ADMIN_TOKEN);
  });

  it('admin commands trust it through NODE_EXTRA_CA_CERTS, and without it say to use it', async () => {
    const home = tempDir();
    const server = `https://localhost:${port}`;
    const env = { NOTEBOOK_SECRETS_ADMIN_TOKEN: ADMIN_TOKEN };
    const trusted = await runCli(home, ['admin', 'user', 'list', '--server', server], {
      ...env,
      NODE_EXTRA_CA_CERTS: join(certs, 'cert.pem'),
    });
    expect(trusted.code).toBe(0);
    const untrusted = await runCli(home, ['admin', 'user', 'list', '--server', server], env);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stderr).toMatch(
      /not trusted.*DEPTH_ZERO_SELF_SIGNED_CERT.*NODE_EXTRA_CA_CERTS/,
    );
  });

  it("the extension's client trusts it through a CA file, and without it names the CA setting", async () => {
    const ca = readFileSync(join(certs, 'cert.pem'));
    const hint = 'set the setting notebookSecrets.server.caFile to the CA certificate file (PEM)';
    const trusting = new ApiClient({
      baseUrl: `https://localhost:${port}`,
      token: ADMIN_TOKEN,
      fetch: makeNodeFetch({ ca }),
      caHint: hint,
    });
    expect((await trusting.me()).user.id).toBeTruthy();
    const plain = new ApiClient({
      baseUrl: `https://localhost:${port}`,
      token: ADMIN_TOKEN,
      caHint: hint,
    });
    const error = (await plain.me().catch((e: unknown) => e)) as ServerUnreachable;
    expect(error).toBeInstanceOf(ServerUnreachable);
    expect(error.message).toContain('notebookSecrets.server.caFile');
  });
});

describe('serve refuses to start with bad TLS files', () => {
  async function refused(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
    const p = await start(args, env);
    expect(await p.exited).toBe(1);
    expect(p.stdout()).not.toContain('Listening on');
    return p;
  }

  it('a key that does not match the certificate (given in the environment)', async () => {
    const p = await refused([], {
      NOTEBOOK_SECRETS_TLS_CERT: join(certs, 'cert.pem'),
      NOTEBOOK_SECRETS_TLS_KEY: join(certs, 'other-key.pem'),
    });
    expect(p.stderr()).toContain(
      `The TLS key in ${join(certs, 'other-key.pem')} does not match the certificate in ${join(certs, 'cert.pem')}`,
    );
    expect(p.stderr()).not.toContain('PRIVATE KEY');
  });

  it('an expired certificate', async () => {
    const p = await refused([
      '--tls-cert',
      join(certs, 'expired.pem'),
      '--tls-key',
      join(certs, 'old-key.pem'),
    ]);
    expect(p.stderr()).toMatch(
      /The TLS certificate in .*expired\.pem expired on 2020-01-02T00:00:00\.000Z/,
    );
  });

  it('a file that cannot be read, or a certificate without its key', async () => {
    const missing = join(certs, 'missing.pem');
    const p = await refused(['--tls-cert', missing, '--tls-key', join(certs, 'key.pem')]);
    expect(p.stderr()).toContain(`Cannot read the TLS certificate file ${missing} (no such file)`);
    const q = await refused(['--tls-cert', join(certs, 'cert.pem')]);
    expect(q.stderr()).toMatch(/--tls-cert needs --tls-key too/);
  });
});

describe('plain HTTP off loopback', () => {
  it('serve refuses a non-loopback bind without --insecure-http', async () => {
    const p = await start(['--host', '0.0.0.0']);
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toMatch(
      /Refusing to serve plain HTTP on 0\.0\.0\.0.*--tls-cert.*--insecure-http/,
    );
  });

  describe('with --insecure-http', () => {
    let server: ServeProcess;
    let port: string;

    beforeAll(async () => {
      server = await start(['--host', '0.0.0.0', '--insecure-http']);
      port = new URL(server.url).port;
    });

    it('serve starts and warns that the connection is unencrypted', () => {
      expect(server.stdout()).toContain('Listening on http://0.0.0.0:');
      expect(server.stderr()).toMatch(
        /warning: serving plain HTTP on 0\.0\.0\.0 \(--insecure-http\).*TLS-terminating proxy/,
      );
    });

    it('the CLI refuses to log in over plain HTTP to a non-loopback address, and names the flag', async () => {
      const home = tempDir();
      const login = await runCli(home, ['login', '--server', `http://0.0.0.0:${port}`], {
        NOTEBOOK_SECRETS_TOKEN: ADMIN_TOKEN,
      });
      expect(login.code).not.toBe(0);
      expect(login.stderr).toMatch(
        /plain http:\/\/ to 0\.0\.0\.0:\d+, which is not a loopback address.*https:\/\/0\.0\.0\.0.*--insecure-http/,
      );
      expect(login.stderr).not.toContain(ADMIN_TOKEN);
      expect(login.stdout).not.toContain('Signed in');
    });

    it('login --insecure-http signs in, and it and later commands say the connection is insecure', async () => {
      const home = tempDir();
      const env = { NOTEBOOK_SECRETS_TOKEN: ADMIN_TOKEN };
      const login = await runCli(
        home,
        ['login', '--insecure-http', '--server', `http://0.0.0.0:${port}`],
        env,
      );
      expect(login.code).toBe(0);
      expect(login.stderr).toMatch(/warning: The connection to 0\.0\.0\.0:\d+ is INSECURE/);
      const whoami = await runCli(home, ['whoami'], env);
      expect(whoami.code).toBe(0);
      expect(whoami.stderr).toMatch(/INSECURE/);
    });

    it("NOTEBOOK_SECRETS_INSECURE_HTTP is serve's: clients take plain HTTP only to the server NOTEBOOK_SECRETS_INSECURE_HTTP_SERVER names", async () => {
      const home = tempDir();
      const server = `http://0.0.0.0:${port}`;
      const signedIn = { NOTEBOOK_SECRETS_SERVER: server, NOTEBOOK_SECRETS_TOKEN: ADMIN_TOKEN };
      // serve's variable opens nothing for a client, and the refusal says which one does.
      const serves = await runCli(home, ['whoami'], {
        ...signedIn,
        NOTEBOOK_SECRETS_INSECURE_HTTP: '1',
      });
      expect(serves.code).toBe(2);
      expect(serves.stderr).toMatch(
        /not a loopback address.*NOTEBOOK_SECRETS_INSECURE_HTTP_SERVER=http:\/\/0\.0\.0\.0:\d+ for this server alone \(NOTEBOOK_SECRETS_INSECURE_HTTP is for `notebook-secrets serve` only\)/,
      );
      expect(serves.stderr).not.toContain(ADMIN_TOKEN);
      // Naming this server lets every client command reach it, each time warned.
      const named = { ...signedIn, NOTEBOOK_SECRETS_INSECURE_HTTP_SERVER: `${server}/` };
      const whoami = await runCli(home, ['whoami'], named);
      expect(whoami.code).toBe(0);
      expect(whoami.stderr).toMatch(
        /warning: The connection to 0\.0\.0\.0:\d+ is INSECURE .*NOTEBOOK_SECRETS_INSECURE_HTTP_SERVER/,
      );
      const admin = await runCli(home, ['admin', 'user', 'list'], {
        ...named,
        NOTEBOOK_SECRETS_ADMIN_TOKEN: ADMIN_TOKEN,
      });
      expect(admin.code).toBe(0);
      expect(admin.stderr).toMatch(/INSECURE/);
      // Naming another server opens nothing here: not another port, not another host.
      for (const other of [`http://0.0.0.0:${Number(port) + 1}`, `http://127.0.0.2:${port}`]) {
        const refused = await runCli(home, ['whoami'], {
          ...signedIn,
          NOTEBOOK_SECRETS_INSECURE_HTTP_SERVER: other,
        });
        expect(refused.code, other).toBe(2);
        expect(refused.stderr).toMatch(/not a loopback address/);
      }
      const login = await runCli(home, ['login', '--server', server], {
        NOTEBOOK_SECRETS_TOKEN: ADMIN_TOKEN,
        NOTEBOOK_SECRETS_INSECURE_HTTP_SERVER: 'secrets.lab.internal',
      });
      expect(login.code).toBe(2);
      expect(login.stderr).toMatch(
        /NOTEBOOK_SECRETS_INSECURE_HTTP_SERVER must be the http:\/\/ URL/,
      );
    });

    it('admin commands refuse to send the admin token over plain HTTP off loopback', async () => {
      const home = tempDir();
      const env = { NOTEBOOK_SECRETS_ADMIN_TOKEN: ADMIN_TOKEN };
      const server = `http://0.0.0.0:${port}`;
      const refused = await runCli(home, ['admin', 'user', 'list', '--server', server], env);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/plain http:\/\/ to 0\.0\.0\.0.*--insecure-http/);
      const allowed = await runCli(
        home,
        ['admin', 'user', 'list', '--insecure-http', '--server', server],
        env,
      );
      expect(allowed.code).toBe(0);
      expect(allowed.stderr).toMatch(/warning: The connection to 0\.0\.0\.0:\d+ is INSECURE/);
    });

    describe.skipIf(!CAN_UNSHARE_MOUNT || !OTHER_ADDRESS)(
      'with loopback names that resolve to another address (a hosts file of the test)',
      () => {
        const hosts = () => `${OTHER_ADDRESS} localhost\n${OTHER_ADDRESS} team.localhost\n`;
        const refusal = (name: string) =>
          new RegExp(
            `Plain http:// to ${name} was refused: ${name} resolved to ${OTHER_ADDRESS!.replace(/\./g, '\\.')}, which is not a loopback address.*unencrypted`,
          );

        it('the CLI refuses to sign in to localhost there, and sends no token', async () => {
          const home = tempDir();
          const login = await runCliResolving(
            hosts(),
            home,
            ['login', '--server', `http://localhost:${port}`],
            { NOTEBOOK_SECRETS_TOKEN: ADMIN_TOKEN },
          );
          expect(login.code).toBe(2);
          expect(login.stderr).toMatch(refusal('localhost'));
          expect(login.stdout).not.toContain('Signed in');
          expect(login.stderr).not.toContain(ADMIN_TOKEN);
        });

        it('team.localhost and localhost. are not loopback names at all', async () => {
          for (const host of ['team.localhost', 'localhost.']) {
            const home = tempDir();
            const login = await runCliResolving(
              hosts(),
              home,
              ['login', '--server', `http://${host}:${port}`],
              { NOTEBOOK_SECRETS_TOKEN: ADMIN_TOKEN },
            );
            expect(login.code).toBe(2);
            expect(login.stderr).toMatch(
              /plain http:\/\/ to \S+:\d+, which is not a loopback address.*unencrypted.*--insecure-http/,
            );
            expect(login.stdout).not.toContain('Signed in');
          }
        });

        it('every client refuses it: a session, admin, and attach', async () => {
          const home = tempDir();
          const server = `http://localhost:${port}`;
          const whoami = await runCliResolving(hosts(), home, ['whoami'], {
            NOTEBOOK_SECRETS_SERVER: server,
            NOTEBOOK_SECRETS_TOKEN: ADMIN_TOKEN,
          });
          expect(whoami.code).toBe(2);
          expect(whoami.stderr).toMatch(refusal('localhost'));
          const admin = await runCliResolving(
            hosts(),
            home,
            ['admin', 'user', 'list', '--server', server],
            { NOTEBOOK_SECRETS_ADMIN_TOKEN: ADMIN_TOKEN },
          );
          expect(admin.code).toBe(2);
          expect(admin.stderr).toMatch(refusal('localhost'));
          const attach = await runCliResolving(
            hosts(),
            home,
            ['attach', '--jupyter', `${server}/`, '--from-env', 'NS_'],
            { JUPYTER_TOKEN: 'jupyter-token-not-sent' },
          );
          expect(attach.code).toBe(2);
          expect(attach.stderr).toMatch(refusal('localhost'));
        });

        it('serve refuses plain HTTP on --host localhost there', async () => {
          const home = tempDir();
          const serve = await runCliResolving(
            hosts(),
            home,
            ['serve', '--host', 'localhost', '--port', String(await freePort()), '--data', home],
            { NOTEBOOK_SECRETS_ADMIN_TOKEN: ADMIN_TOKEN },
          );
          expect(serve.code).toBe(1);
          expect(serve.stderr).toMatch(
            /Refusing to serve plain HTTP on localhost: it resolves to \S+, which is not a loopback address/,
          );
        });

        it('localhost that resolves to this machine works as before', async () => {
          const home = tempDir();
          const login = await runCliResolving(
            '127.0.0.1 localhost\n',
            home,
            ['login', '--server', `http://localhost:${port}`],
            { NOTEBOOK_SECRETS_TOKEN: ADMIN_TOKEN },
          );
          expect(login).toMatchObject({ code: 0 });
          expect(login.stdout).toContain('Signed in');
          expect(login.stderr).not.toMatch(/INSECURE/);
        });
      },
    );

    it('attach refuses a Jupyter URL over plain HTTP to a non-loopback address', async () => {
      const home = tempDir();
      const attach = await runCli(
        home,
        ['attach', '--jupyter', `http://0.0.0.0:${port}/`, '--from-env', 'NS_'],
        {
          JUPYTER_TOKEN: 'jupyter-token-not-sent',
        },
      );
      expect(attach.code).toBe(2);
      expect(attach.stderr).toMatch(
        /The Jupyter server URL uses plain http:\/\/ to 0\.0\.0\.0.*--insecure-http/,
      );
    });
  });
});
