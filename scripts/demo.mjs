// The demo that `npm start` runs, also started by the e2e suite: everything on 127.0.0.1.
//   - the demo's Jupyter extension (demo/jupyter/) in code-server, whose local kernels (Debian's
//     python3-ipykernel, through a Jupyter server it starts) run the demo notebook's cells;
//   - the team server (`notebook-secrets serve` on PGlite) with a demo user, "demo", and a second
//     user, "alex", who keeps a team secret for the team both are in and shares one of his own;
//   - code-server with the extension, opened on a copy of demo/workspace/ with the notebook open;
//   - JupyterLab with the Secrets panel (scripts/jupyterLab.mjs) on the same workspace copy and the
//     same team server, its secrets in a keychain of the demo's own (scripts/secretService.mjs).
// Its state lives in one folder outside the clone (code-server's profile, the team server's data,
// the workspace copy); the workspace is copied anew on each start, so the repo's demo/ is never
// written to.
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDemoJupyter } from '../demo/jupyter/build.mjs';
import { buildLabApp, startJupyterLab } from './jupyterLab.mjs';
import { spawnService } from './service.mjs';
import { HAS_KEYRING, startSecretService } from './secretService.mjs';
import { installExtension, repoRoot, startCodeServer, statePaths } from './codeServer.mjs';
import { userSettings } from './workbenchSettings.mjs';

export const DEMO_NOTEBOOK = 'getting-started.ipynb';
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/**
 * @typedef {object} RunningDemo
 * @property {string} url The workbench, opened on the demo workspace.
 * @property {string} workspace
 * @property {string} logFile
 * @property {{ url: string, user: string, token: string }} teamServer
 * @property {{ url: string, base: string, token: string }} jupyterLab JupyterLab with the Secrets
 *   panel: `url` opens it (with its token), `base` is the server.
 * @property {import('./codeServer.mjs').RunningCodeServer} codeServer
 * @property {() => Promise<void>} stop
 */

/** @typedef {(method: string, path: string, body?: unknown) => Promise<unknown>} Api */

/**
 * Polls `probe` until it returns true, the child exits, or `ms` pass.
 * @param {string} what
 * @param {import('node:child_process').ChildProcess} child
 * @param {() => string} output
 * @param {() => Promise<boolean>} probe
 * @param {number} [ms]
 */
async function waitUntil(what, child, output, probe, ms = 90_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${output()}`);
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not start in time:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Calls the team server's API; throws with the server's message on an error answer.
 * @param {string} url
 * @param {string} token
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<unknown>}
 */
async function api(url, token, method, path, body) {
  const res = await fetch(`${url}/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  /** @type {unknown} */
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const answer = /** @type {{ error?: { message?: string } } | undefined} */ (json);
    throw new Error(`${method} ${path}: ${res.status} ${answer?.error?.message ?? text}`);
  }
  return json;
}

/**
 * Creates the demo's users, team and alex's secrets on a new database; returns the demo user's
 * token. The tokens are kept in `tokens.json` (mode 0600) in the state folder.
 * @param {string} url
 * @param {string} adminToken
 * @param {string} file
 * @returns {Promise<string>}
 */
async function seedTeamServer(url, adminToken, file) {
  if (existsSync(file)) {
    /** @type {unknown} */
    const parsed = JSON.parse(readFileSync(file, 'utf8'));
    const saved = /** @type {{ demo: string }} */ (parsed);
    const me = await fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${saved.demo}` } });
    if (me.ok) return saved.demo;
  }
  /** @type {Api} */
  const admin = (method, path, body) => api(url, adminToken, method, path, body);
  const { users } = /** @type {{ users: { id: string }[] }} */ (await admin('GET', '/users'));
  const userIds = users.map((u) => u.id);
  for (const id of ['demo', 'alex']) {
    if (!userIds.includes(id)) await admin('POST', '/users', { id });
  }
  const { teams } = /** @type {{ teams: { id: string }[] }} */ (await admin('GET', '/teams'));
  if (!teams.some((t) => t.id === 'data')) {
    await admin('POST', '/teams', { id: 'data', name: 'Data team' });
    for (const user of ['demo', 'alex']) await admin('POST', '/teams/data/members', { user });
  }
  /** @param {string} user */
  const token = async (user) =>
    /** @type {{ token: string }} */ (
      await admin('POST', '/tokens', { user, name: 'npm start demo' })
    ).token;
  const tokens = { demo: await token('demo'), alex: await token('alex') };
  /** @type {Api} */
  const alex = (method, path, body) => api(url, tokens.alex, method, path, body);
  const { secrets } = /** @type {{ secrets: { name: string }[] }} */ (
    await alex('GET', '/secrets')
  );
  const names = secrets.map((s) => s.name);
  if (!names.includes('WAREHOUSE_URL')) {
    await alex('POST', '/secrets', {
      name: 'WAREHOUSE_URL',
      value: 'postgresql://analyst:demo-only-not-a-real-password@warehouse.invalid:5432/sales',
      type: 'password',
      description: "The data team's warehouse (a made-up demo value)",
      scope: { kind: 'team', id: 'data' },
    });
  }
  if (!names.includes('WEATHER_API_KEY')) {
    const shared = /** @type {{ id: string }} */ (
      await alex('POST', '/secrets', {
        name: 'WEATHER_API_KEY',
        value: `demo-${randomBytes(12).toString('hex')}`,
        type: 'token',
        description: "alex's key, shared with demo as a reader (a made-up demo value)",
      })
    );
    await alex('PUT', `/secrets/${shared.id}/access`, {
      access: [
        { principal: { kind: 'user', id: 'alex' }, role: 'owner' },
        { principal: { kind: 'user', id: 'demo' }, role: 'reader' },
      ],
    });
  }
  writeFileSync(file, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600 });
  return tokens.demo;
}

/**
 * The team server on `port` (the built CLI's `serve`, on PGlite in the state folder), seeded.
 * @param {string} stateDir
 * @param {string} cli
 * @param {number} port
 */
async function startTeamServer(stateDir, cli, port) {
  const dir = join(stateDir, 'team-server');
  mkdirSync(dir, { recursive: true });
  const adminFile = join(dir, 'admin-token');
  if (!existsSync(adminFile)) {
    writeFileSync(adminFile, `nsadmin_${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
  }
  const adminToken = readFileSync(adminFile, 'utf8').trim();
  /** @type {NodeJS.ProcessEnv} */
  const env = { ...process.env, NOTEBOOK_SECRETS_ADMIN_TOKEN: adminToken };
  delete env.DATABASE_URL;
  const service = spawnService(
    process.execPath,
    [cli, 'serve', '--host', '127.0.0.1', '--port', String(port), '--data', join(dir, 'data')],
    { env },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitUntil('The team server', service.child, service.output, async () => {
    const res = await fetch(`${url}/v1/health`);
    return res.ok;
  });
  const demoToken = await seedTeamServer(url, adminToken, join(dir, 'tokens.json'));
  return { ...service, url, demoToken };
}

/**
 * JupyterLab on `port` with the Secrets panel, its bridge the built CLI. Its CLI config (the team
 * server to sign in to) and its keychain (a gnome-keyring of its own, when installed) live in the
 * state folder, so the demo never touches the user's own.
 * @param {string} stateDir
 * @param {string} workspace
 * @param {string} cli
 * @param {number} port
 * @param {string} teamUrl
 * @param {string} build
 */
async function startLab(stateDir, workspace, cli, port, teamUrl, build) {
  const dir = join(stateDir, 'jupyterlab');
  const config = join(dir, 'config');
  mkdirSync(config, { recursive: true });
  writeFileSync(join(config, 'config.json'), `${JSON.stringify({ server: teamUrl })}\n`);
  const keyring = HAS_KEYRING
    ? await startSecretService(join(dir, 'keyring'), process.env)
    : undefined;
  const token = randomBytes(24).toString('hex');
  try {
    const lab = await startJupyterLab({
      python: PYTHON,
      port,
      token,
      rootDir: workspace,
      stateDir: join(dir, 'server'),
      build,
      cli,
      env: {
        NOTEBOOK_SECRETS_CONFIG_DIR: config,
        XDG_CACHE_HOME: join(dir, 'cache'),
        ...(keyring && { DBUS_SESSION_BUS_ADDRESS: keyring.address }),
      },
    });
    return {
      ...lab,
      token,
      async stop() {
        await lab.stop();
        keyring?.stop();
      },
    };
  } catch (error) {
    keyring?.stop();
    throw error;
  }
}

/**
 * Writes the code-server user settings: the workbench's quiet defaults and the team server URL.
 * @param {string} userDataDir
 * @param {string} serverUrl
 */
function writeSettings(userDataDir, serverUrl) {
  const file = join(userDataDir, 'User', 'settings.json');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  /** @type {unknown} */
  let current = {};
  try {
    current = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    // None yet, or edited into JSON with comments: start from the defaults.
  }
  const settings = {
    ...userSettings,
    .../** @type {Record<string, unknown>} */ (current),
    'notebookSecrets.server.url': serverUrl,
  };
  writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`);
}

/**
 * Starts the demo. `vsix` is the built extension, `cli` the built CLI (dist/cli.js); `port` is
 * code-server's port, `teamPort` the team server's. Resolves to what runs, with `stop()` that ends all of it.
 * @param {object} options
 * @param {string} options.stateDir
 * @param {string} options.vsix
 * @param {string} options.cli
 * @param {number} options.port
 * @param {number} options.teamPort
 * @param {number} options.labPort
 * @param {(message: string) => void} [options.log]
 * @returns {Promise<RunningDemo>}
 */
export async function startDemo({
  stateDir,
  vsix,
  cli,
  port,
  teamPort,
  labPort,
  log = () => undefined,
}) {
  const paths = statePaths(stateDir);
  const workspace = join(stateDir, 'workspace');
  rmSync(workspace, { recursive: true, force: true });
  cpSync(join(repoRoot, 'demo', 'workspace'), workspace, { recursive: true });

  log('installing the extension and the demo Jupyter into code-server; building JupyterLab');
  await installExtension(paths, vsix);
  await installExtension(paths, await buildDemoJupyter(join(stateDir, 'demo-jupyter')));
  const labBuild = await buildLabApp({
    outDir: join(stateDir, 'jupyterlab', 'build'),
    typecheck: false,
  });

  /** @type {{ stop(): Promise<void> }[]} */
  const running = [];
  const stop = async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
  };
  try {
    log('starting the team server');
    const team = await startTeamServer(stateDir, cli, teamPort);
    running.push(team);
    writeSettings(paths.userDataDir, team.url);
    log('starting JupyterLab');
    const lab = await startLab(stateDir, workspace, cli, labPort, team.url, labBuild);
    running.push(lab);
    log('starting code-server');
    const logFile = join(stateDir, 'code-server.log');
    const codeServer = await startCodeServer({
      paths,
      port,
      folder: workspace,
      logFile,
      env: { NOTEBOOK_SECRETS_DEMO_PYTHON: PYTHON, NOTEBOOK_SECRETS_DEMO_OPEN: DEMO_NOTEBOOK },
    });
    running.push(codeServer);
    return {
      url: `${codeServer.url}?folder=${encodeURI(workspace)}`,
      workspace,
      logFile,
      teamServer: { url: team.url, user: 'demo', token: team.demoToken },
      jupyterLab: { url: `${lab.labUrl}?token=${lab.token}`, base: lab.url, token: lab.token },
      codeServer,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
