// The long-running processes of the demo and the tests (servers), each in a process group of its
// own so that stopping one also ends what it started.
import { spawn } from 'node:child_process';

/**
 * @typedef {object} Service
 * @property {import('node:child_process').ChildProcessByStdio<null, import('node:stream').Readable, import('node:stream').Readable>} child
 * @property {() => string} output
 * @property {() => Promise<void>} stop
 */

/**
 * Spawns a service in its own process group; `stop()` ends the group. `output()` is the last
 * 20,000 characters it printed; `onData` sees all of it.
 * @param {string} command
 * @param {readonly string[]} args
 * @param {import('node:child_process').SpawnOptions} options
 * @param {(text: string) => void} [onData]
 * @returns {Service}
 */
export function spawnService(command, args, options, onData = () => undefined) {
  const child = spawn(command, args, {
    ...options,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  /** @param {Buffer} d */
  const keep = (d) => {
    const text = String(d);
    output = (output + text).slice(-20_000);
    onData(text);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  /** @type {Promise<void>} */
  const exited = new Promise((r) => child.once('exit', () => r()));
  /** @param {NodeJS.Signals} signal */
  const kill = (signal) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  const onExit = () => kill('SIGKILL');
  process.once('exit', onExit);
  return {
    child,
    output: () => output,
    async stop() {
      process.off('exit', onExit);
      if (child.exitCode === null && child.signalCode === null) {
        kill('SIGTERM');
        const timer = setTimeout(() => kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      // What it started and left behind (kernels, helpers) goes with it.
      kill('SIGKILL');
    },
  };
}
