/**
 * A lock file for a read-modify-write of a file that several CLI processes may change at once
 * (the local index): created exclusively (`O_EXCL`), holding the owner's pid and host, removed
 * when the work is done. A lock whose owner is no longer running (a crash, a kill -9) is taken
 * over; a second lock file serialises the take-over, so two waiters can never both remove a live
 * lock. A lock of another host (a shared home folder) cannot be checked, so it is only taken over
 * after ten minutes.
 * Synchronous, like the store that uses it: the CLI does one write per run.
 */
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';

/** Another process held the lock for longer than the wait allows. */
export class FileLockTimeoutError extends Error {
  override readonly name = 'FileLockTimeoutError';
}

export interface FileLockOptions {
  /** How long to wait for the lock (ms). */
  timeoutMs?: number;
  /** Whether a process is running; overridable for tests. */
  isRunning?: (pid: number) => boolean;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number): void => void Atomics.wait(sleepCell, 0, 0, ms);

export function processIsRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates `path` if it does not exist, with our pid in it; false when it exists. */
function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, `${process.pid}@${hostname()}`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The pid and host in a lock file; undefined when it is gone, or is being written (empty). */
function ownerOf(path: string): { pid: number; host: string } | undefined {
  try {
    const m = /^(\d+)(?:@(.*))?$/.exec(readFileSync(path, 'utf8').trim());
    const pid = m ? Number.parseInt(m[1]!, 10) : NaN;
    return pid > 0 ? { pid, host: m?.[2] ?? hostname() } : undefined;
  } catch {
    return undefined;
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** Removes `lock` if its owner is gone, holding `<lock>.break` so only one waiter does it. */
function breakIfStale(lock: string, isRunning: (pid: number) => boolean): void {
  const breaker = `${lock}.break`;
  // The breaker is held for microseconds; one older than 10 s was left by a crash.
  if (!tryCreate(breaker)) {
    if (ageMs(breaker) > 10_000) rmSync(breaker, { force: true });
    return;
  }
  try {
    // Read again under the breaker: the lock may be a new one by now, whose owner runs.
    const owner = ownerOf(lock);
    const stale =
      owner === undefined
        ? ageMs(lock) > 10_000
        : owner.host !== hostname()
          ? ageMs(lock) > 600_000
          : // Our own pid in it is a lock of an earlier process (this one holds none).
            owner.pid === process.pid || !isRunning(owner.pid);
    if (stale) rmSync(lock, { force: true });
  } finally {
    rmSync(breaker, { force: true });
  }
}

/** Runs `work` holding the lock file `lock`, waiting for another process to release it. */
export function withFileLock<T>(lock: string, work: () => T, options: FileLockOptions = {}): T {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const isRunning = options.isRunning ?? processIsRunning;
  const deadline = Date.now() + timeoutMs;
  let wait = 5;
  while (!tryCreate(lock)) {
    breakIfStale(lock, isRunning);
    if (Date.now() > deadline) {
      const owner = ownerOf(lock);
      const where = owner && owner.host !== hostname() ? ` on ${owner.host}` : '';
      throw new FileLockTimeoutError(
        `Another notebook-secrets process${owner ? ` (pid ${owner.pid}${where})` : ''} has been changing ` +
          `the local secrets for more than ${Math.round(timeoutMs / 1000)} s, so nothing was ` +
          `written. Try again; if no such process runs, delete ${lock}.`,
      );
    }
    sleep(wait + Math.random() * wait);
    wait = Math.min(wait * 2, 100);
  }
  try {
    return work();
  } finally {
    rmSync(lock, { force: true });
  }
}
