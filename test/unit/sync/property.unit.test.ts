import * as fc from 'fast-check';
import { describe, it } from 'vitest';
import { FakeServer } from './fakeServer';
import { opArb, runScenario } from './twoClients';

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
