// npm start: builds the .vsix, installs it into a cached code-server (a real VS Code in the browser)
// and serves the demo workspace on http://127.0.0.1:<port>. Loopback only, no password.
// NOTEBOOK_SECRETS_PORT picks the port (default 8765); NOTEBOOK_SECRETS_CACHE the cache folder.
// The first run installs Node 24 and code-server (minutes); later runs start in seconds.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  cacheDir,
  ensureCodeServer,
  installExtension,
  repoRoot,
  startCodeServer,
  statePaths,
} from './codeServer.mjs';
import { userSettings } from './workbenchSettings.mjs';

const port = Number(process.env.NOTEBOOK_SECRETS_PORT || 8765);
const vsix = join(repoRoot, 'dist', 'notebook-secrets.vsix');
const demo = join(repoRoot, 'demo');

function portIsFree(p) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(p, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`start: NOTEBOOK_SECRETS_PORT must be a port number, got "${port}"`);
  process.exit(2);
}
if (!(await portIsFree(port))) {
  console.error(
    `start: port ${port} on 127.0.0.1 is in use (another npm start?). ` +
      `Stop it, or pick another port: NOTEBOOK_SECRETS_PORT=8766 npm start`,
  );
  process.exit(1);
}

console.error('start: building the extension (npm run package)');
const build = spawnSync('npm', ['run', '--silent', 'package'], {
  cwd: repoRoot,
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (build.status !== 0) process.exit(build.status ?? 1);

await ensureCodeServer();
const paths = statePaths(join(cacheDir(), 'start'));

// Reinstalling the same .vsix costs seconds; skip it when nothing changed.
const digest = createHash('sha256').update(readFileSync(vsix)).digest('hex');
const stamp = join(paths.stateDir, 'installed-vsix.sha256');
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== digest) {
  console.error('start: installing dist/notebook-secrets.vsix into code-server');
  await installExtension(paths, vsix);
  writeFileSync(stamp, digest);
}

const settings = join(paths.userDataDir, 'User', 'settings.json');
if (!existsSync(settings)) {
  mkdirSync(join(paths.userDataDir, 'User'), { recursive: true });
  writeFileSync(settings, `${JSON.stringify(userSettings, null, 2)}\n`);
}

const logFile = join(paths.stateDir, 'code-server.log');
const server = await startCodeServer({ paths, port, folder: demo, logFile });
const url = `${server.url}?folder=${encodeURI(demo)}`;
console.log(`\nNotebook Secrets is running in VS Code at:\n\n  ${url}\n`);
console.log(`(log: ${logFile}; state: ${paths.stateDir}; Ctrl-C stops it)`);

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    void server.stop().then(() => process.exit(0));
  });
}
server.child.once('exit', (code) => {
  console.error(`start: code-server exited (${code}); see ${logFile}`);
  process.exit(code === 0 ? 0 : 1);
});
