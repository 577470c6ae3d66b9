/**
 * When to sync: now, every N minutes, soon after a local change, and again after a failure with
 * exponential backoff and jitter (so many clients coming back after an outage do not all retry at
 * the same moment). It also owns the status the UI shows (synced / syncing / offline / conflicts /
 * error) and never stops the local copy from working.
 */
import type { SyncEngine, SyncReport } from './engine';
import { ServerUnreachable, isRetryable, isUnauthorized } from './errors';

export type SyncStatusKind = 'idle' | 'syncing' | 'synced' | 'offline' | 'conflicts' | 'error';

export interface SyncStatus {
  kind: SyncStatusKind;
  conflicts: number;
  pending: number;
  lastSyncAt?: Date;
  /** The last failure's message (value-free), while the state is offline or error. */
  lastError?: string;
  /** True when the server refused the token: only signing in again helps. */
  unauthorized?: boolean;
  nextRetryAt?: Date;
  lastReport?: SyncReport;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface SchedulerOptions {
  /** 0 or undefined: no periodic sync. */
  intervalMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Delay between a local change and the push it triggers. */
  debounceMs?: number;
  random?: () => number;
  timers?: Timers;
}

/** Backoff with "equal jitter": half of the exponential step fixed, half random. */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return step / 2 + random() * (step / 2);
}

export class SyncScheduler {
  private current: SyncStatus = { kind: 'idle', conflicts: 0, pending: 0 };
  private readonly listeners = new Set<(status: SyncStatus) => void>();
  private readonly timers: Timers;
  private readonly random: () => number;
  private intervalMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly debounceMs: number;
  private timer: unknown;
  private attempt = 0;
  private running: Promise<SyncStatus> | undefined;
  private followUp: Promise<SyncStatus> | undefined;
  private stopped = true;

  constructor(
    private readonly engine: SyncEngine,
    options: SchedulerOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 0;
    this.baseDelayMs = options.baseDelayMs ?? 2_000;
    this.maxDelayMs = options.maxDelayMs ?? 5 * 60_000;
    this.debounceMs = options.debounceMs ?? 1_000;
    this.random = options.random ?? Math.random;
    this.timers = options.timers ?? {
      setTimeout: (fn, ms) => {
        const handle = setTimeout(fn, ms);
        (handle as { unref?: () => void }).unref?.();
        return handle;
      },
      clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    };
  }

  get status(): SyncStatus {
    return this.current;
  }

  onDidChange(listener: (status: SyncStatus) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Syncs now and then keeps syncing on the interval (and on retries after failures). */
  start(): Promise<SyncStatus> {
    this.stopped = false;
    return this.syncNow();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
  }

  setIntervalMs(ms: number): void {
    this.intervalMs = ms;
    if (!this.stopped && this.current.kind !== 'offline' && !this.running) this.schedule(ms);
  }

  /** A local change: push it soon (debounced), unless a retry is already pending. */
  notifyLocalChange(): void {
    this.refreshCounts();
    if (this.stopped || this.current.kind === 'offline' || this.current.unauthorized) return;
    this.schedule(this.debounceMs);
  }

  /**
   * Runs one round now. While a round runs, it answers with one more round after it (shared by
   * every caller meanwhile), so the answer always reflects changes made before the call.
   */
  syncNow(): Promise<SyncStatus> {
    if (this.running) {
      this.followUp ??= this.running.then(() => {
        this.followUp = undefined;
        return this.syncNow();
      });
      return this.followUp;
    }
    this.clearTimer();
    this.update({ kind: 'syncing' });
    this.running = this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async round(): Promise<SyncStatus> {
    try {
      const report = await this.engine.sync();
      this.attempt = 0;
      const conflicts = this.engine.conflicts().length;
      this.update({
        kind: conflicts > 0 ? 'conflicts' : 'synced',
        lastSyncAt: this.engine.lastSyncAt,
        lastError: report.errors[0]?.message,
        unauthorized: false,
        nextRetryAt: undefined,
        lastReport: report,
      });
      if (!this.stopped) this.schedule(this.intervalMs);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (isUnauthorized(error)) {
        this.update({
          kind: 'error',
          lastError: message,
          unauthorized: true,
          nextRetryAt: undefined,
        });
      } else if (isRetryable(error)) {
        const delay = backoffDelay(this.attempt++, this.baseDelayMs, this.maxDelayMs, this.random);
        this.update({
          kind: error instanceof ServerUnreachable ? 'offline' : 'error',
          lastError: message,
          nextRetryAt: new Date(Date.now() + delay),
        });
        if (!this.stopped) this.schedule(delay);
      } else {
        this.update({ kind: 'error', lastError: message, nextRetryAt: undefined });
        if (!this.stopped) this.schedule(this.intervalMs);
      }
    }
    return this.current;
  }

  private schedule(ms: number): void {
    this.clearTimer();
    if (!ms || ms <= 0) return;
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      void this.syncNow();
    }, ms);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private refreshCounts(): void {
    this.update({});
  }

  private update(patch: Partial<SyncStatus>): void {
    this.current = {
      ...this.current,
      ...patch,
      conflicts: this.engine.conflicts().length,
      pending: this.engine.outbox().length,
    };
    for (const listener of this.listeners) listener(this.current);
  }
}
