// Types for scripts/jupyterLab.mjs, which the e2e suite and the benchmarks (TypeScript) import.
import type { ChildProcess } from 'node:child_process';

export const SERVER_EXTENSION_PATH: string;
export const LAB_BUILD: string;
export function ensureLabApp(): Promise<string>;
export function typecheckExtension(): Promise<void>;
export function buildPrebuilt(): Promise<string>;
export function buildLabApp(options?: { outDir?: string; typecheck?: boolean }): Promise<string>;

export interface JupyterLabOptions {
  python: string;
  port: number;
  token: string;
  rootDir: string;
  stateDir: string;
  build?: string;
  /** The built CLI (dist/cli.js), run with this Node as the bridge. */
  cli?: string;
  env?: Record<string, string>;
  onOutput?: (text: string) => void;
}

export function jupyterLabCommand(options: JupyterLabOptions): {
  command: string;
  args: string[];
  env: Record<string, string>;
};

export interface RunningJupyterLab {
  url: string;
  labUrl: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}
export function startJupyterLab(options: JupyterLabOptions): Promise<RunningJupyterLab>;
