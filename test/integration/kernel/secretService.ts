/** gnome-keyring's Secret Service in a D-Bus session of its own, for the OS keychain tests. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { bounded } from './harness';

export const HAS_SECRET_SERVICE =
  spawnSync('sh', ['-c', 'command -v dbus-run-session && command -v gnome-keyring-daemon'])
    .status === 0;

export interface SecretService {
  /** The session bus address to put in DBUS_SESSION_BUS_ADDRESS. */
  address: string;
  stop(): void;
}

/**
 * Starts a D-Bus session with gnome-keyring unlocked by a test password; its keyrings live under
 * `dataHome` (XDG_DATA_HOME), a temp dir of the test.
 */
export async function startSecretService(
  env: NodeJS.ProcessEnv,
  dataHome: string,
  hungMs: number,
): Promise<SecretService> {
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
  const stop = (): void => {
    // The session's processes (bus, daemon, sleep) share its process group.
    if (bus.pid && bus.exitCode === null) process.kill(-bus.pid, 'SIGTERM');
  };
  try {
    const address = await bounded(
      hungMs,
      new Promise<string>((resolve, reject) => {
        let out = '';
        bus.stderr!.on('data', (d: Buffer) => (out += d.toString()));
        bus.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /BUS=(\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        bus.once('exit', (code) => reject(new Error(`dbus-run-session exited (${code}):\n${out}`)));
      }),
      'the D-Bus session',
    );
    return { address, stop };
  } catch (error) {
    stop();
    throw error;
  }
}
