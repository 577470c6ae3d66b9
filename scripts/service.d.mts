// Types for scripts/service.mjs.
import type { ChildProcess, SpawnOptions } from 'node:child_process';

export function spawnService(
  command: string,
  args: string[],
  options: SpawnOptions,
  onData?: (text: string) => void,
): { child: ChildProcess; output(): string; stop(): Promise<void> };
