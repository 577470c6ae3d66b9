/**
 * share, unshare, history and rename run in-process through each command's `run(…, io)` against
 * the fake server (see cliHarness.ts).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeOf } from '../../../src/cli/client/session';
import * as history from '../../../src/cli/commands/history';
import * as rename from '../../../src/cli/commands/rename';
import * as share from '../../../src/cli/commands/share';
import * as unshare from '../../../src/cli/commands/unshare';
import { ApiClient } from '../../../src/sync/client';
import { fakeServer, recordingIo, SERVER_URL } from './cliHarness';

const CANARY = `canary-${randomUUID()}`;

async function withSecret() {
  const server = fakeServer();
  const api = new ApiClient({ baseUrl: SERVER_URL, token: 'tok-alice', fetch: server.fetch });
  const secret = await api.createSecret({
    name: 'API_KEY',
    value: CANARY,
    encoding: 'text',
    scope: { kind: 'personal' },
  });
  return { server, secret };
}

describe('share and unshare', () => {
  it('share adds a grant and prints who has access now', async () => {
    const { server } = await withSecret();
    const io = recordingIo(server);
    await share.run('API_KEY', { user: 'bob', role: 'reader' }, io);
    expect(io.out).toBe(
      "Shared 'API_KEY' with user bob as reader. Access now:\n  user alice: owner\n  user bob: reader\n",
    );
    const bob = recordingIo(server, { token: 'tok-bob' });
    // A reader cannot change who has access: the server's 403 exits 6.
    const refused = await unshare.run('API_KEY', { user: 'bob' }, bob).catch(exitCodeOf);
    expect(refused).toBe(EXIT.denied);
  });

  it('refuses a bad role, or both --user and --team, with exit 2 before any request', async () => {
    const { server } = await withSecret();
    server.requests = [];
    const io = recordingIo(server);
    await expect(share.run('API_KEY', { user: 'bob', role: 'admin' }, io)).rejects.toMatchObject({
      exitCode: EXIT.usage,
      message: "The role 'admin' is not owner or reader.",
    });
    await expect(
      share.run('API_KEY', { user: 'bob', team: 'data', role: 'owner' }, io),
    ).rejects.toMatchObject({ exitCode: EXIT.usage });
    expect(server.requests).toEqual([]);
  });

  it('unshare removes a grant; the last owner stays with exit 6', async () => {
    const { server } = await withSecret();
    await share.run('API_KEY', { team: 'data', role: 'reader' }, recordingIo(server));
    const io = recordingIo(server);
    await unshare.run('API_KEY', { team: 'data', json: true }, io);
    expect(JSON.parse(io.out)).toMatchObject({
      name: 'API_KEY',
      access: [{ principal: { kind: 'user', id: 'alice' }, role: 'owner' }],
    });
    await expect(unshare.run('API_KEY', { user: 'alice' }, io)).rejects.toMatchObject({
      exitCode: EXIT.denied,
      code: 'last_owner',
    });
    await expect(unshare.run('API_KEY', { user: 'carol' }, io)).rejects.toMatchObject({
      exitCode: EXIT.notFound,
    });
  });
});

describe('history and rename', () => {
  it('history prints the versions as a table, never a value', async () => {
    const { server } = await withSecret();
    const io = recordingIo(server);
    await history.run('API_KEY', {}, io);
    const lines = io.out.trimEnd().split('\n');
    expect(lines[0]).toBe('API_KEY (personal)');
    expect(lines[1]).toMatch(/^VERSION +CHANGE +AUTHOR +AT +RESTORABLE$/);
    expect(lines[2]).toMatch(/^1 +update +alice +\S+ +yes$/);
    expect(io.out).not.toContain(CANARY);
  });

  it('rename keeps the id and says so; a bad new name exits 2 before any request', async () => {
    const { server, secret } = await withSecret();
    const io = recordingIo(server);
    await rename.run('API_KEY', 'OPENAI_KEY', {}, io);
    expect(io.out).toBe(
      "Renamed 'API_KEY' to 'OPENAI_KEY' in personal (now version 2; its history and sharing are kept).\n",
    );
    expect(server.rows.get(secret.id)!.meta.name).toBe('OPENAI_KEY');
    server.requests = [];
    await expect(rename.run('OPENAI_KEY', '1BAD', {}, io)).rejects.toMatchObject({
      exitCode: EXIT.usage,
    });
    expect(server.requests).toEqual([]);
  });
});
