// gnome-keyring's Secret Service in a D-Bus session of its own, unlocked with a fixed password:
// the OS keychain for the keychain tests and for npm start's JupyterLab, so neither touches the
// keychain of the person running them (and both work on a machine without a desktop).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

export const HAS_KEYRING =
  spawnSync('sh', ['-c', 'command -v dbus-run-session && command -v gnome-keyring-daemon'])
    .status === 0;

/**
 * @typedef {object} SecretService
 * @property {string} address DBUS_SESSION_BUS_ADDRESS of the session the keyring runs in.
 * @property {() => void} stop
 */

/**
 * Starts the keyring with its (encrypted) files under `dataHome`; `env` is the caller's.
 * Resolves to the session's DBUS_SESSION_BUS_ADDRESS and `stop()`.
 * @param {string} dataHome
 * @param {NodeJS.ProcessEnv} env
 * @param {number} [hungMs]
 * @returns {Promise<SecretService>}
 */
export async function startSecretService(dataHome, env, hungMs = 30_000) {
  mkdirSync(dataHome, { recursive: true });
  const bus = spawn(
    'dbus-run-session',
    [
      '--',
      'sh',
      '-c',
      // The daemon registers on the bus after it printed its variables: wait for its name.
      'eval "$(printf test-password | gnome-keyring-daemon --unlock --components=secrets)" >/dev/null; ' +
        'until dbus-send --session --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets | grep -q "boolean true"; do sleep 0.1; done; ' +
        'echo "BUS=$DBUS_SESSION_BUS_ADDRESS"; exec sleep 100000',
    ],
    {
      env: { PATH: process.env.PATH, ...env, XDG_DATA_HOME: dataHome },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  const stop = () => {
    // The session's processes (bus, daemon, sleep) share its process group.
    if (bus.pid && bus.exitCode === null) process.kill(-bus.pid, 'SIGTERM');
  };
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  /** @type {Promise<string>} */
  const started = new Promise((resolve, reject) => {
    let out = '';
    timer = setTimeout(() => {
      stop();
      reject(new Error(`The D-Bus session did not start within ${hungMs} ms:\n${out}`));
    }, hungMs);
    bus.stderr.on('data', (/** @type {Buffer} */ d) => (out += d.toString()));
    bus.stdout.on('data', (/** @type {Buffer} */ d) => {
      out += d.toString();
      const m = /BUS=(\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    bus.once('exit', (code) => reject(new Error(`dbus-run-session exited (${code}):\n${out}`)));
  });
  const address = await started.finally(() => clearTimeout(timer));
  return { address, stop };
}
