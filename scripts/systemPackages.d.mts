// Types for scripts/systemPackages.mjs, which the unit tests import.
export interface Machine {
  hasDpkg(): boolean;
  isInstalled(name: string): boolean;
  isRoot(): boolean;
  aptGet(args: string[]): number | string | null;
  log(message: string): void;
}
export function systemPackages(command: 'start' | 'test'): string[];
export function ensureSystemPackages(command: 'start' | 'test', system?: Machine): boolean;
