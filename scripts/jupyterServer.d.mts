// Types for scripts/jupyterServer.mjs, which the tests (TypeScript) import.
export function jupyterServerCommand(options: {
  python: string;
  port: number;
  token: string;
  rootDir: string;
  stateDir: string;
}): { command: string; args: string[]; env: NodeJS.ProcessEnv };
