// npm start: the whole product on 127.0.0.1 (see demo.mjs): VS Code in the browser (code-server)
// with the extension and the demo notebook open (its cells run on local Python kernels), JupyterLab
// with the Secrets panel, and a team server with a demo user. Loopback only, no password.
// NOTEBOOK_SECRETS_PORT picks the VS Code port (default 8765; the team server takes the next one,
// JupyterLab the one after);
// NOTEBOOK_SECRETS_CACHE the cache folder. The first run installs Node 24 and code-server (minutes);
// later runs start in seconds.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { cacheDir, ensureCodeServer, repoRoot } from './codeServer.mjs';
import { DEMO_NOTEBOOK, startDemo } from './demo.mjs';
import { ensureSystemPackages } from './systemPackages.mjs';

/** @param {string} message */
const say = (message) => console.error(`start: ${message}`);
const port = Number(process.env.NOTEBOOK_SECRETS_PORT || 8765);

/**
 * @param {number} p
 * @returns {Promise<boolean>}
 */
function portIsFree(p) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(p, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

if (!Number.isInteger(port) || port < 1 || port > 65533) {
  say(`NOTEBOOK_SECRETS_PORT must be a port number below 65534, got "${port}"`);
  process.exit(2);
}
for (const p of [port, port + 1, port + 2]) {
  if (!(await portIsFree(p))) {
    say(
      `port ${p} on 127.0.0.1 is in use (another npm start?). ` +
        `Stop it, or pick other ports: NOTEBOOK_SECRETS_PORT=9765 npm start`,
    );
    process.exit(1);
  }
}
if (!ensureSystemPackages('start')) process.exit(1);

say('building the extension and the CLI');
for (const args of [
  ['run', '--silent', 'package'],
  ['run', '--silent', 'build'],
]) {
  const build = spawnSync('npm', args, { cwd: repoRoot, encoding: 'utf8' });
  if (build.status !== 0) {
    process.stderr.write(build.stdout + build.stderr);
    say(`npm ${args.join(' ')} failed`);
    process.exit(build.status ?? 1);
  }
}

/** @type {import('./demo.mjs').RunningDemo} */
let demo;
try {
  await ensureCodeServer();
  demo = await startDemo({
    stateDir: join(cacheDir(), 'start'),
    vsix: join(repoRoot, 'dist', 'notebook-secrets.vsix'),
    cli: join(repoRoot, 'dist', 'cli.js'),
    port,
    teamPort: port + 1,
    labPort: port + 2,
    log: say,
  });
} catch (error) {
  say(error instanceof Error ? error.message : String(error));
  process.exit(1);
}

console.log(`
Notebook Secrets is running on this machine only:

  VS Code      ${demo.url}
               opens ${DEMO_NOTEBOOK}: add OPENAI_API_KEY in the Secrets view, then run the cells
  JupyterLab   ${demo.jupyterLab.url}
               the same notebook in JupyterLab, with the Secrets panel in the left sidebar
  Team server  ${demo.teamServer.url}
               Sign in to Team Server as "${demo.teamServer.user}" with this token:
               ${demo.teamServer.token}
  Workspace    ${demo.workspace} (a fresh copy of demo/workspace)

Press Ctrl-C to stop all of it.`);

let stopping = false;
/** @param {string} why */
const shutDown = async (why) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${why}: stopping VS Code, JupyterLab and the team server…`);
  await demo.stop();
  console.log('Stopped. Run npm start to start again.');
  process.exit(0);
};
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
  process.once(signal, () => void shutDown(signal === 'SIGINT' ? 'Ctrl-C' : signal));
}
demo.codeServer.child.once('exit', (code) => {
  if (stopping) return;
  say(`code-server exited (${code}); see ${demo.logFile}`);
  void demo.stop().then(() => process.exit(1));
});
