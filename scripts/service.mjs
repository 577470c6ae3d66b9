// The long-running processes of the demo and the tests (servers), each in a process group of its
// own so that stopping one also ends what it started.
import { spawn } from 'node:child_process';

/**
 * Spawns a service in its own process group; `stop()` ends the group. `output()` is the last
 * 20,000 characters it printed; `onData` sees all of it.
 */
export function spawnService(command, args, options, onData = () => undefined) {
  const child = spawn(command, args, {
    ...options,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const keep = (d) => {
    output = (output + d).slice(-20_000);
    onData(String(d));
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((r) => child.once('exit', () => r()));
  const kill = (signal) => {
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
