import * as fc from 'fast-check';
import { describe, it } from 'vitest';
import { FakeServer } from './fakeServer';
import { fakeView, op3Arb, PROLOGUE, runThreeClients } from '../../support/threeClients';
import { opArb, runScenario } from '../../support/twoClients';

describe('two clients and a server (fake), random ops and disconnects', () => {
  it('loses no acknowledged write and converges', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
        const server = new FakeServer();
        server.addUser('alice');
        server.addUser('bob');
        server.addTeam('data', ['alice', 'bob']);
        await runScenario(
          {
            baseUrl: 'http://fake.test',
            fetch: server.fetch,
            tokens: ['tok-alice', 'tok-bob'],
            users: ['alice', 'bob'],
            scope: { kind: 'team', id: 'data' },
          },
          ops,
          `r${++run}`,
        );
      }),
      { numRuns: Number(process.env.NS_PROPERTY_RUNS ?? 300) },
    );
  }, 120_000);
});

describe('three clients of two users with the same names in every scope, sharing (fake server)', () => {
  it('keeps each secret under its id and owner, every synced entry as the server has it, and converges', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op3Arb, { maxLength: 40, size: 'medium' }), async (ops) => {
        const server = new FakeServer();
        server.addUser('alice');
        server.addUser('bob');
        server.addTeam('data', ['alice', 'bob']);
        await runThreeClients(fakeView(server), [...PROLOGUE, ...ops], `t${++run}`);
      }),
      { numRuns: Number(process.env.NS_PROPERTY_RUNS ?? 120) },
    );
  }, 120_000);
});
