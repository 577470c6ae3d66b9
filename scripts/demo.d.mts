// Types for scripts/demo.mjs, which the e2e suite (TypeScript) imports.
import type { RunningCodeServer } from './codeServer.mjs';

export const DEMO_NOTEBOOK: string;

export interface RunningDemo {
  /** The workbench, opened on the demo workspace. */
  url: string;
  workspace: string;
  logFile: string;
  teamServer: { url: string; user: string; token: string };
  /** JupyterLab with the Secrets panel: `url` opens it (with its token), `base` is the server. */
  jupyterLab: { url: string; base: string; token: string };
  codeServer: RunningCodeServer;
  stop(): Promise<void>;
}

export function startDemo(options: {
  stateDir: string;
  vsix: string;
  cli: string;
  port: number;
  teamPort: number;
  labPort: number;
  log?: (message: string) => void;
}): Promise<RunningDemo>;
