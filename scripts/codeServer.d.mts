// Types for scripts/codeServer.mjs, which the e2e suite (TypeScript) imports.
import type { ChildProcess } from 'node:child_process';

export const NODE_SPEC: string;
export const CODE_SERVER_SPEC: string;
export const repoRoot: string;
export function cacheDir(): string;
export function ensureNode24(): Promise<string>;
export function ensureCodeServer(): Promise<{ node: string; entry: string }>;
export function freePort(): Promise<number>;

export interface StatePaths {
  stateDir: string;
  config: string;
  userDataDir: string;
  extensionsDir: string;
  xdg: string;
}
export function statePaths(stateDir: string): StatePaths;
export function installExtension(paths: StatePaths, vsix: string): Promise<void>;

export interface RunningCodeServer {
  url: string;
  port: number;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}
export function startCodeServer(options: {
  paths: StatePaths;
  port: number;
  folder?: string;
  userDataDir?: string;
  logFile?: string;
  env?: Record<string, string>;
}): Promise<RunningCodeServer>;
