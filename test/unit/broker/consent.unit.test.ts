import { describe, expect, it } from 'vitest';
import {
  ConsentPolicy,
  GRANTS_KEY,
  type ConsentChoice,
  type ConsentRequest,
  type ConsentState,
} from '../../../src/broker/consent';

class State implements ConsentState {
  data = new Map<string, unknown>();
  get<T>(key: string) {
    return this.data.get(key) as T | undefined;
  }
  async update(key: string, value: unknown) {
    this.data.set(key, value);
  }
}

function setup(answer: ConsentChoice | undefined | (() => Promise<ConsentChoice | undefined>)) {
  const state = new State();
  const asked: ConsentRequest[] = [];
  const policy = new ConsentPolicy({
    state,
    now: () => new Date('2026-01-02T03:04:05Z'),
    ask: async (req) => {
      asked.push(req);
      return typeof answer === 'function' ? answer() : answer;
    },
  });
  return { state, asked, policy };
}

const req = (over: Partial<ConsentRequest> = {}): ConsentRequest => ({
  notebook: 'file:///nb.ipynb',
  label: 'nb.ipynb',
  name: 'API_KEY',
  sessionId: 's1',
  ...over,
});

describe('ConsentPolicy', () => {
  it('"Always for this notebook" persists a grant of names, never values, and stops asking', async () => {
    const { policy, asked, state } = setup('always');
    expect(await policy.decide(req())).toBe('allow');
    expect(await policy.decide(req({ sessionId: 's2' }))).toBe('allow');
    expect(asked).toHaveLength(1);
    expect(state.get(GRANTS_KEY)).toEqual([
      { notebook: 'file:///nb.ipynb', name: 'API_KEY', grantedAt: '2026-01-02T03:04:05.000Z' },
    ]);
    expect(await policy.decide(req({ notebook: 'file:///other.ipynb', sessionId: 's3' }))).toBe(
      'allow',
    );
    expect(asked).toHaveLength(2);
  });

  it('"Allow once" lasts for the kernel session only', async () => {
    const { policy, asked } = setup('once');
    expect(await policy.decide(req())).toBe('allow');
    expect(await policy.decide(req())).toBe('allow');
    expect(asked).toHaveLength(1);
    expect(policy.grants()).toEqual([]);
    expect(await policy.decide(req({ sessionId: 's2' }))).toBe('allow');
    expect(asked).toHaveLength(2);
  });

  it('"Deny" answers deny for the rest of the session without asking again', async () => {
    const { policy, asked } = setup('deny');
    expect(await policy.decide(req())).toBe('deny');
    expect(await policy.decide(req())).toBe('deny');
    expect(asked).toHaveLength(1);
    policy.forgetSession('s1');
    expect(await policy.decide(req())).toBe('deny');
    expect(asked).toHaveLength(2);
  });

  it('treats a dismissed or failed prompt as deny, asking again next time', async () => {
    const dismissed = setup(undefined);
    expect(await dismissed.policy.decide(req())).toBe('deny');
    expect(await dismissed.policy.decide(req())).toBe('deny');
    expect(dismissed.asked).toHaveLength(2);
    const failing = setup(() => Promise.reject(new Error('no UI')));
    expect(await failing.policy.decide(req())).toBe('deny');
  });

  it('shares one prompt among concurrent requests of a notebook for a name', async () => {
    let release!: (c: ConsentChoice) => void;
    const { policy, asked } = setup(() => new Promise((r) => (release = r)));
    const all = Promise.all([policy.decide(req()), policy.decide(req()), policy.decide(req())]);
    await new Promise((r) => setTimeout(r, 0));
    release('once');
    expect(await all).toEqual(['allow', 'allow', 'allow']);
    expect(asked).toHaveLength(1);
  });

  it("lists grants sorted, revokes one, a notebook's, or all, and notifies", async () => {
    const { policy } = setup('deny');
    let changes = 0;
    policy.onDidChange(() => changes++);
    await policy.grant('file:///b.ipynb', 'Z');
    await policy.grant('file:///a.ipynb', 'Y');
    await policy.grant('file:///a.ipynb', 'X');
    await policy.grant('file:///a.ipynb', 'X');
    expect(policy.grants().map((g) => `${g.notebook} ${g.name}`)).toEqual([
      'file:///a.ipynb X',
      'file:///a.ipynb Y',
      'file:///b.ipynb Z',
    ]);
    await policy.revoke('file:///a.ipynb', 'X');
    expect(policy.hasGrant('file:///a.ipynb', 'X')).toBe(false);
    expect(policy.hasGrant('file:///a.ipynb', 'Y')).toBe(true);
    await policy.revoke('file:///a.ipynb');
    expect(policy.grants().map((g) => g.name)).toEqual(['Z']);
    await policy.revokeAll();
    expect(policy.grants()).toEqual([]);
    expect(changes).toBe(6);
  });

  it('revoking forgets "Allow once" too, so the next call asks', async () => {
    const { policy, asked } = setup('once');
    await policy.decide(req());
    await policy.revoke('file:///nb.ipynb', 'API_KEY');
    await policy.decide(req());
    expect(asked).toHaveLength(2);
  });

  it('revoking an "Always" grant makes a running kernel ask again', async () => {
    const { policy, asked } = setup('always');
    await policy.decide(req());
    await policy.decide(req({ sessionId: 's2' }));
    expect(asked).toHaveLength(1);
    await policy.revoke('file:///nb.ipynb', 'API_KEY');
    await policy.decide(req({ sessionId: 's2' }));
    expect(asked).toHaveLength(2);
  });

  it('ignores corrupt stored grants instead of failing', async () => {
    const { policy, state, asked } = setup('deny');
    state.data.set(GRANTS_KEY, [{ notebook: 1 }]);
    expect(policy.grants()).toEqual([]);
    expect(await policy.decide(req())).toBe('deny');
    expect(asked).toHaveLength(1);
  });

  describe("several names at once (a notebook's environment)", () => {
    const batch = { notebook: 'file:///nb.ipynb', label: 'nb.ipynb', sessionId: 's1' };

    it('asks once for the names nothing decides, and records the answer for each', async () => {
      const { policy, asked } = setup('always');
      await policy.grant('file:///nb.ipynb', 'A_KEY');
      const decisions = await policy.decideAll(batch, ['A_KEY', 'B_KEY', 'C_KEY']);
      expect([...decisions]).toEqual([
        ['A_KEY', 'allow'],
        ['B_KEY', 'allow'],
        ['C_KEY', 'allow'],
      ]);
      expect(asked.map((r) => r.names)).toEqual([['B_KEY', 'C_KEY']]);
      expect(policy.grants().map((g) => g.name)).toEqual(['A_KEY', 'B_KEY', 'C_KEY']);
      await policy.decideAll(batch, ['B_KEY', 'C_KEY']);
      expect(asked).toHaveLength(1);
    });

    it('a dismissed dialog denies this time only; Deny holds for the session', async () => {
      const dismissed = setup(undefined);
      expect([...(await dismissed.policy.decideAll(batch, ['A_KEY']))]).toEqual([
        ['A_KEY', 'deny'],
      ]);
      expect(dismissed.policy.peek(batch.notebook, 's1', 'A_KEY')).toBeUndefined();
      const denied = setup('deny');
      await denied.policy.decideAll(batch, ['A_KEY']);
      expect(denied.policy.peek(batch.notebook, 's1', 'A_KEY')).toBe('deny');
    });

    it('peek never asks, and pre-approved names are allowed without asking', async () => {
      const state = new State();
      const asked: ConsentRequest[] = [];
      const policy = new ConsentPolicy({
        state,
        preapproved: (name) => name === 'ALLOWED',
        ask: async (r) => (asked.push(r), 'once'),
      });
      expect(policy.peek(batch.notebook, 's1', 'OTHER')).toBeUndefined();
      expect(await policy.decide(req({ name: 'ALLOWED' }))).toBe('allow');
      expect(asked).toEqual([]);
    });
  });
});
