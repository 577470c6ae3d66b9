/** A child process of a test (`notebook-secrets attach`) with its output watched. */
import type { ChildProcess } from 'node:child_process';
import { bounded } from './harness';

/** A child process whose stdout and stderr are collected as they come. */
export interface WatchedProcess {
  output(): string;
  /** Resolves once `text` has appeared `times` times; fails if the process exits first, or after `ms`. */
  until(text: string, times?: number): Promise<void>;
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>;
}

/** Watches `child` (named `name` in failures), waiting at most `ms` for any text. */
export function watchOutput(child: ChildProcess, ms: number, name: string): WatchedProcess {
  let output = '';
  const waiters: (() => void)[] = [];
  const onData = (d: Buffer) => {
    output += d.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return {
    output: () => output,
    until: (text, times = 1) =>
      bounded(
        ms,
        (async () => {
          while (output.split(text).length - 1 < times) {
            if (child.exitCode !== null) throw new Error(`${name} exited:\n${output}`);
            await new Promise<void>((r) => waiters.push(r));
          }
        })(),
        `'${text}' from ${name}:\n${output}`,
      ),
    exited,
  };
}
