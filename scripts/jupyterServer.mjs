// How the demo and the tests run Debian's Jupyter Server on loopback: one place for its command line.
import { join } from 'node:path';

/**
 * The command, arguments and environment that start `python -m jupyter_server` on 127.0.0.1:`port`,
 * serving `rootDir`, with its runtime, config and data folders under `stateDir`. The token goes
 * through the environment, never a command line that `ps` shows.
 * @param {{ python: string, port: number, token: string, rootDir: string, stateDir: string }} options
 * @returns {{ command: string, args: string[], env: NodeJS.ProcessEnv }}
 */
export function jupyterServerCommand({ python, port, token, rootDir, stateDir }) {
  return {
    command: python,
    args: [
      '-m',
      'jupyter_server',
      '--no-browser',
      '--ServerApp.ip=127.0.0.1',
      `--ServerApp.port=${port}`,
      '--ServerApp.port_retries=0',
      `--ServerApp.root_dir=${rootDir}`,
      // As root (CI containers), the server refuses to start unless told.
      ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
    ],
    env: {
      ...process.env,
      JUPYTER_TOKEN: token,
      JUPYTER_RUNTIME_DIR: join(stateDir, 'runtime'),
      JUPYTER_CONFIG_DIR: join(stateDir, 'config'),
      JUPYTER_DATA_DIR: join(stateDir, 'data'),
      IPYTHONDIR: join(stateDir, 'ipython'),
      PYTHONNOUSERSITE: '1',
    },
  };
}
