import { describe, expect, it } from 'vitest';
import type { SyncEngine, SyncReport } from '../../../src/sync/engine';
import { ApiError, ServerUnreachable } from '../../../src/sync/errors';
import { SyncScheduler, type Timers } from '../../../src/sync/scheduler';

const OK: SyncReport = { pushed: 0, pulled: 0, removed: 0, conflicts: 0, errors: [] };

function fakeEngine(results: (SyncReport | Error)[]) {
  let calls = 0;
  const engine = {
    sync: () => {
      const next = results[Math.min(calls++, results.length - 1)]!;
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
    conflicts: () => [],
    outbox: () => [],
    lastSyncAt: new Date(0),
  } as unknown as SyncEngine;
  return { engine, calls: () => calls };
}

function manualTimers() {
  const pending: { fn: () => void; ms: number }[] = [];
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      const t = { fn, ms };
      pending.push(t);
      return t;
    },
    clearTimeout: (t) => {
      const i = pending.indexOf(t as (typeof pending)[number]);
      if (i >= 0) pending.splice(i, 1);
    },
  };
  return { timers, pending };
}

describe('SyncScheduler', () => {
  it('goes offline on a network failure and retries with growing, jittered delays', async () => {
    const down = new ServerUnreachable('refused', 'Could not connect (connection refused).');
    const { engine, calls } = fakeEngine([down, down, down, OK]);
    const { timers, pending } = manualTimers();
    const scheduler = new SyncScheduler(engine, {
      timers,
      baseDelayMs: 1000,
      maxDelayMs: 8000,
      random: () => 1,
      intervalMs: 60_000,
    });
    const seen: string[] = [];
    scheduler.onDidChange((s) => seen.push(s.kind));
    expect((await scheduler.start()).kind).toBe('offline');
    const delays: number[] = [];
    while (calls() < 4) {
      const timer = pending.shift()!;
      delays.push(timer.ms);
      timer.fn();
      await new Promise((r) => setTimeout(r, 0));
    }
    expect(delays).toEqual([1000, 2000, 4000]);
    expect(scheduler.status.kind).toBe('synced');
    expect(pending.map((p) => p.ms)).toEqual([60_000]); // back to the interval
    expect(seen).toContain('syncing');
    scheduler.stop();
    expect(pending).toEqual([]);
  });

  it('stops retrying when the token is refused, and says so', async () => {
    const refused = new ApiError(
      'unauthorized',
      'The server refused the token (401).',
      401,
      'unauthorized',
    );
    const { engine } = fakeEngine([refused]);
    const { timers, pending } = manualTimers();
    const scheduler = new SyncScheduler(engine, { timers, intervalMs: 60_000 });
    const status = await scheduler.start();
    expect(status).toMatchObject({ kind: 'error', unauthorized: true });
    expect(pending).toEqual([]);
    scheduler.notifyLocalChange();
    expect(pending).toEqual([]);
  });

  it('pushes soon after a local change, once for a burst', async () => {
    const { engine } = fakeEngine([OK]);
    const { timers, pending } = manualTimers();
    const scheduler = new SyncScheduler(engine, { timers, debounceMs: 500 });
    await scheduler.start();
    scheduler.notifyLocalChange();
    scheduler.notifyLocalChange();
    expect(pending.map((p) => p.ms)).toEqual([500]);
  });
});
