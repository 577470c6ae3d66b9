/**
 * The CLI's commands run in-process through their `run(…, io)`, with a recording io whose
 * session's ApiClient talks to the fake server: what each prints, its --json shape, and the exit
 * code and message of each failure. The bundled CLI is tested in test/integration/.
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { action, errorReport, type CliIo } from '../../../src/cli/client/io';
import { PrivateFileError } from '../../../src/cli/client/privateFile';
import { CliError, EXIT } from '../../../src/cli/client/session';
import * as del from '../../../src/cli/commands/delete';
import * as get from '../../../src/cli/commands/get';
import * as list from '../../../src/cli/commands/list';
import * as rename from '../../../src/cli/commands/rename';
import * as set from '../../../src/cli/commands/set';
import * as whoami from '../../../src/cli/commands/whoami';
import { SecretsError, type ErrorCode } from '../../../src/core/errors';
import type { Scope } from '../../../src/core/model';
import { ApiClient } from '../../../src/sync/client';
import { ApiError, ServerUnreachable } from '../../../src/sync/errors';
import type { FakeServer } from '../sync/fakeServer';
import { fakeServer, recordingIo, SERVER_URL, type RecordingIo } from './cliHarness';

/** A value made unique for the run: no code path has a reason to print it. */
const CANARY = `canary-${randomUUID()}`;

/** Stores a secret on the fake server as `user` (alice by default). */
async function seed(
  server: FakeServer,
  name: string,
  value: string,
  scope: Scope = { kind: 'personal' },
  user = 'alice',
) {
  const api = new ApiClient({ baseUrl: SERVER_URL, token: `tok-${user}`, fetch: server.fetch });
  return api.createSecret({ name, value, encoding: 'text', scope });
}

/** Runs `run` as commander would through action(): errors reported on the io's stderr. */
async function viaAction(io: CliIo, json: boolean, run: (io: CliIo) => Promise<void>) {
  const command = { optsWithGlobals: () => ({ json }) } as unknown as Command;
  await action<[Command]>((inner) => run(inner), io)(command);
}

/** The parsed JSON error line of --json on stderr. */
function jsonError(io: RecordingIo): { code: string; message: string; exit: number } {
  const lines = io.err.trim().split('\n');
  expect(lines).toHaveLength(1);
  return (JSON.parse(lines[0]!) as { error: { code: string; message: string; exit: number } })
    .error;
}

describe('get', () => {
  it('prints the value alone on a pipe, with no newline', async () => {
    const server = fakeServer();
    await seed(server, 'API_KEY', CANARY);
    const io = recordingIo(server);
    await get.run('API_KEY', {}, io);
    expect(io.out).toBe(CANARY);
    expect(io.err).toBe('');
    expect(io.exitCode).toBeUndefined();
  });

  it('ends the value with a newline at a terminal', async () => {
    const server = fakeServer();
    await seed(server, 'API_KEY', CANARY);
    const io = recordingIo(server, { stdoutIsTTY: true });
    await get.run('API_KEY', {}, io);
    expect(io.out).toBe(`${CANARY}\n`);
  });

  it('--json prints the value with its metadata', async () => {
    const server = fakeServer();
    const created = await seed(server, 'API_KEY', CANARY);
    const io = recordingIo(server);
    await get.run('API_KEY', { json: true }, io);
    const printed = JSON.parse(io.out) as Record<string, unknown>;
    expect(Object.keys(printed)).toEqual([
      'id',
      'name',
      'scope',
      'type',
      'encoding',
      'version',
      'description',
      'role',
      'created_at',
      'updated_at',
      'value',
    ]);
    expect(printed).toMatchObject({
      id: created.id,
      name: 'API_KEY',
      scope: 'personal',
      encoding: 'text',
      version: 1,
      role: 'owner',
      value: CANARY,
    });
  });

  it('takes the personal secret over the team one of the same name', async () => {
    const server = fakeServer();
    await seed(server, 'DB', 'team-value', { kind: 'team', id: 'data' });
    await seed(server, 'DB', CANARY);
    const io = recordingIo(server);
    await get.run('DB', {}, io);
    expect(io.out).toBe(CANARY);
  });

  it('a missing name exits 4 with a message that names it and holds no value', async () => {
    const server = fakeServer();
    await seed(server, 'API_KEY', CANARY);
    const io = recordingIo(server);
    await viaAction(io, false, (inner) => get.run('MISSING', {}, inner));
    expect(io.exitCode).toBe(EXIT.notFound);
    expect(io.err).toBe("notebook-secrets: No secret named 'MISSING' is available.\n");
    expect(io.out).toBe('');
  });

  it('a missing name in a scope says the scope', async () => {
    const server = fakeServer();
    await seed(server, 'API_KEY', CANARY);
    const io = recordingIo(server);
    await viaAction(io, false, (inner) => get.run('API_KEY', { scope: 'team:data' }, inner));
    expect(io.exitCode).toBe(EXIT.notFound);
    expect(io.err).toContain("No secret named 'API_KEY' in scope team:data.");
    expect(io.err).not.toContain(CANARY);
  });

  it('--json errors are one JSON line on stderr with code, message and exit', async () => {
    const server = fakeServer();
    const io = recordingIo(server);
    await viaAction(io, true, (inner) => get.run('MISSING', { json: true }, inner));
    expect(jsonError(io)).toEqual({
      code: 'not_found',
      message: "No secret named 'MISSING' is available.",
      exit: EXIT.notFound,
    });
    expect(io.exitCode).toBe(EXIT.notFound);
    expect(io.out).toBe('');
  });
});

describe('list', () => {
  it('prints a table of names and metadata, never values', async () => {
    const server = fakeServer();
    await seed(server, 'API_KEY', CANARY);
    await seed(server, 'DB_PASSWORD', CANARY, { kind: 'team', id: 'data' });
    const io = recordingIo(server);
    await list.run({}, io);
    const lines = io.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME +SCOPE +TYPE +ROLE +VERSION +UPDATED$/);
    expect(lines.slice(1).map((l) => l.split(/ +/).slice(0, 3))).toEqual([
      ['API_KEY', 'personal', 'generic'],
      ['DB_PASSWORD', 'team:data', 'generic'],
    ]);
    expect(io.out).not.toContain(CANARY);
  });

  it('--json prints {secrets: [...]} of metadata', async () => {
    const server = fakeServer();
    await seed(server, 'API_KEY', CANARY);
    const io = recordingIo(server);
    await list.run({ json: true }, io);
    const printed = JSON.parse(io.out) as { secrets: { name: string; value?: string }[] };
    expect(Object.keys(printed)).toEqual(['secrets']);
    expect(printed.secrets.map((s) => s.name)).toEqual(['API_KEY']);
    expect(io.out).not.toContain(CANARY);
  });

  it('says so when there is nothing to list', async () => {
    const io = recordingIo(fakeServer());
    await list.run({}, io);
    expect(io.out).toBe('No secrets.\n');
  });

  it('refuses an unknown --type with exit 2 before asking the server', async () => {
    const server = fakeServer();
    const io = recordingIo(server);
    await viaAction(io, false, (inner) => list.run({ type: 'nope' }, inner));
    expect(io.exitCode).toBe(EXIT.usage);
    expect(io.err).toMatch(/^notebook-secrets: The type 'nope' is not one of /);
    expect(server.requests).toEqual([]);
  });
});

describe('set', () => {
  it('stores a piped value without its trailing newline and says where', async () => {
    const server = fakeServer();
    const io = recordingIo(server, { stdin: `${CANARY}\n` });
    await set.run('API_KEY', undefined, {}, io);
    expect(io.out).toBe("Created 'API_KEY' in personal (version 1).\n");
    const row = [...server.rows.values()].find((r) => r.meta.name === 'API_KEY')!;
    expect(row.value).toBe(CANARY);
    expect(io.err).toBe('');
  });

  it("'-' reads stdin even with --description, and updates the one there", async () => {
    const server = fakeServer();
    await seed(server, 'API_KEY', 'old');
    const io = recordingIo(server, { stdin: CANARY });
    await set.run('API_KEY', '-', { description: 'prod key', json: true }, io);
    const printed = JSON.parse(io.out) as { created: boolean; value_changed: boolean };
    expect(printed).toMatchObject({ created: false, value_changed: true });
    const row = [...server.rows.values()].find((r) => r.meta.name === 'API_KEY')!;
    expect(row.value).toBe(CANARY);
    expect(row.meta.description).toBe('prod key');
    expect(io.out).not.toContain(CANARY);
  });

  it('asks for the value, hidden, at a terminal', async () => {
    const server = fakeServer();
    const io = recordingIo(server, { stdinIsTTY: true, answers: [CANARY] });
    await set.run('API_KEY', undefined, {}, io);
    expect(io.questions).toEqual(['Value for API_KEY (hidden): ']);
    expect([...server.rows.values()][0]!.value).toBe(CANARY);
  });

  it('refuses an empty pipe with exit 2 and changes nothing', async () => {
    const server = fakeServer();
    const io = recordingIo(server, { stdin: '' });
    await viaAction(io, false, (inner) => set.run('API_KEY', undefined, {}, inner));
    expect(io.exitCode).toBe(EXIT.usage);
    expect(io.err).toContain("stdin was empty, so 'API_KEY' was not changed.");
    expect(server.rows.size).toBe(0);
  });

  it('--value warns about shell history without echoing the value', async () => {
    const server = fakeServer();
    const io = recordingIo(server);
    await set.run('API_KEY', undefined, { value: CANARY }, io);
    expect(io.err).toMatch(/^warning: a value given with --value may be kept in your shell/);
    expect(io.err).not.toContain(CANARY);
  });
});

describe('delete', () => {
  it('--yes deletes without asking', async () => {
    const server = fakeServer();
    await seed(server, 'API_KEY', CANARY);
    const io = recordingIo(server);
    await del.run('API_KEY', { yes: true }, io);
    expect(io.out).toBe("Deleted 'API_KEY' from personal.\n");
    expect([...server.rows.values()][0]!.deleted).toBe(true);
  });

  it('asks at a terminal; anything but yes exits 1 and deletes nothing', async () => {
    const server = fakeServer();
    await seed(server, 'API_KEY', CANARY);
    const io = recordingIo(server, { stdinIsTTY: true, answers: ['n'] });
    await viaAction(io, false, (inner) => del.run('API_KEY', {}, inner));
    expect(io.questions).toEqual(["Delete 'API_KEY' from personal with all its versions? [y/N] "]);
    expect(io.exitCode).toBe(1);
    expect(io.err).toBe('notebook-secrets: Not deleted.\n');
    expect([...server.rows.values()][0]!.deleted).toBe(false);
  });

  it('a yes at the terminal deletes; --json says what', async () => {
    const server = fakeServer();
    const created = await seed(server, 'API_KEY', CANARY);
    const io = recordingIo(server, { stdinIsTTY: true, answers: ['yes'] });
    await del.run('API_KEY', { json: true }, io);
    expect(JSON.parse(io.out)).toEqual({
      deleted: true,
      id: created.id,
      name: 'API_KEY',
      scope: 'personal',
    });
  });

  it('without a terminal and without --yes, exits 2 and deletes nothing', async () => {
    const server = fakeServer();
    await seed(server, 'API_KEY', CANARY);
    const io = recordingIo(server);
    await viaAction(io, false, (inner) => del.run('API_KEY', {}, inner));
    expect(io.exitCode).toBe(EXIT.usage);
    expect(io.err).toContain('Pass --yes to delete without a terminal');
    expect([...server.rows.values()][0]!.deleted).toBe(false);
  });

  it("a reader's delete is refused with exit 6", async () => {
    const server = fakeServer();
    await seed(server, 'SHARED', CANARY);
    const row = [...server.rows.values()][0]!;
    row.meta.access.push({ principal: { kind: 'user', id: 'bob' }, role: 'reader' });
    const io = recordingIo(server, { token: 'tok-bob' });
    await viaAction(io, false, (inner) => del.run('SHARED', { yes: true }, inner));
    expect(io.exitCode).toBe(EXIT.denied);
    expect(io.err).not.toContain(CANARY);
  });
});

describe('whoami', () => {
  it('prints the user, server, teams and projects', async () => {
    const io = recordingIo(fakeServer());
    await whoami.run({}, io);
    expect(io.out).toBe(`alice on ${SERVER_URL}\nteams: data\nprojects: none\n`);
  });

  it('--json adds the server to the answer of /v1/me', async () => {
    const io = recordingIo(fakeServer());
    await whoami.run({ json: true }, io);
    const printed = JSON.parse(io.out) as { server: string; user: { id: string } };
    expect(printed.server).toBe(SERVER_URL);
    expect(printed.user.id).toBe('alice');
  });

  it('plain HTTP to another machine, allowed by its variable, warns on stderr', async () => {
    const remote = 'http://192.0.2.7:8787';
    const io = recordingIo(fakeServer(), {
      env: { NOTEBOOK_SECRETS_SERVER: remote, NOTEBOOK_SECRETS_INSECURE_HTTP_SERVER: remote },
    });
    await whoami.run({}, io);
    expect(io.err).toMatch(/^warning: .*192\.0\.2\.7/);
    expect(io.out).toBe(`alice on ${remote}\nteams: data\nprojects: none\n`);
  });

  it('not signed in exits 3 and says how to sign in', async () => {
    const io = recordingIo(fakeServer(), {
      env: { NOTEBOOK_SECRETS_SERVER: undefined, NOTEBOOK_SECRETS_TOKEN: undefined },
    });
    await viaAction(io, false, (inner) => whoami.run({}, inner));
    expect(io.exitCode).toBe(EXIT.unauthorized);
    expect(io.err).toContain('Not signed in. Run `notebook-secrets login --server URL` first');
  });
});

describe('exit codes', () => {
  const codes: [ErrorCode, number][] = [
    ['invalid_name', 2],
    ['invalid_input', 2],
    ['value_too_large', 2],
    ['unauthorized', 3],
    ['not_found', 4],
    ['name_taken', 5],
    ['version_conflict', 5],
    ['access_denied', 6],
    ['last_owner', 6],
    ['unavailable', 7],
    ['malformed_response', 8],
    ['internal', 1],
  ];
  it.each(codes)('%s exits %i', (code, exit) => {
    expect(errorReport(new SecretsError(code, 'what went wrong'), false)).toEqual({
      stderr: 'notebook-secrets: what went wrong\n',
      exitCode: exit,
    });
  });

  it('maps the other kinds: CliError, a private file, unreachable, 429, anything else', () => {
    expect(errorReport(new CliError('gone', EXIT.notFound, 'not_found'), false).exitCode).toBe(4);
    expect(errorReport(new CliError('bad flag'), false).exitCode).toBe(2);
    expect(errorReport(new PrivateFileError('a link'), false).exitCode).toBe(2);
    expect(errorReport(new ServerUnreachable('refused', 'down'), false).exitCode).toBe(7);
    const limited = new ApiError('invalid_input', 'slow down', 429, 'rate_limited');
    expect(errorReport(limited, false).exitCode).toBe(7);
    expect(errorReport(new Error('bug'), false).exitCode).toBe(1);
    expect(errorReport('thrown text', false)).toEqual({
      stderr: 'notebook-secrets: thrown text\n',
      exitCode: 1,
    });
  });

  it('--json gives the code of the error kind, or usage, or error', () => {
    const parse = (error: unknown) =>
      (JSON.parse(errorReport(error, true).stderr) as { error: unknown }).error;
    expect(parse(new SecretsError('name_taken', 'taken'))).toEqual({
      code: 'name_taken',
      message: 'taken',
      exit: 5,
    });
    expect(parse(new CliError('bad'))).toEqual({ code: 'usage', message: 'bad', exit: 2 });
    expect(parse(new Error('bug'))).toEqual({ code: 'error', message: 'bug', exit: 1 });
  });

  it('the server answering: a refused token 3, unreachable 7, a malformed answer 8', async () => {
    const server = fakeServer();
    await seed(server, 'API_KEY', CANARY);
    const refused = recordingIo(server, { token: 'tok-nobody' });
    await viaAction(refused, true, (inner) => list.run({ json: true }, inner));
    expect(jsonError(refused)).toMatchObject({ code: 'unauthorized', exit: 3 });

    server.offline = true;
    const offline = recordingIo(server);
    await viaAction(offline, false, (inner) => get.run('API_KEY', {}, inner));
    expect(offline.exitCode).toBe(EXIT.unreachable);

    server.offline = false;
    server.corruptNext = 'not json';
    const malformed = recordingIo(server);
    await viaAction(malformed, false, (inner) => get.run('API_KEY', {}, inner));
    expect(malformed.exitCode).toBe(EXIT.malformed);
    expect(malformed.out).toBe('');
  });

  it('a name taken by a rename exits 5', async () => {
    const server = fakeServer();
    await seed(server, 'OLD', CANARY);
    await seed(server, 'NEW', CANARY);
    const io = recordingIo(server);
    await viaAction(io, true, (inner) => rename.run('OLD', 'NEW', { json: true }, inner));
    expect(jsonError(io)).toMatchObject({ code: 'name_taken', exit: 5 });
  });
});

describe('canary', () => {
  it('a value reaches stdout only where asked, and never stderr or an error message', async () => {
    const server = fakeServer();
    await seed(server, 'API_KEY', CANARY);
    await seed(server, 'OTHER', CANARY, { kind: 'team', id: 'data' });
    const ios: RecordingIo[] = [];
    const run = async (json: boolean, work: (io: CliIo) => Promise<void>, script = {}) => {
      const io = recordingIo(server, script);
      ios.push(io);
      await viaAction(io, json, work);
      return io;
    };
    // Where a value may go: get's stdout.
    expect((await run(false, (io) => get.run('API_KEY', {}, io))).out).toBe(CANARY);
    // Everything else: listings, refusals, failures carrying the value in their request.
    const quiet = [
      await run(true, (io) => list.run({ json: true }, io)),
      await run(false, (io) => list.run({}, io)),
      await run(true, (io) => get.run('MISSING', { json: true }, io)),
      await run(false, (io) => set.run('API_KEY', undefined, { value: CANARY }, io)),
      await run(true, (io) => set.run('BAD NAME', '-', { json: true }, io), { stdin: CANARY }),
      await run(false, (io) => set.run('API_KEY', 'extra', {}, io), { stdin: CANARY }),
      await run(false, (io) => set.run('OTHER', '-', { scope: 'team:x' }, io), { stdin: CANARY }),
      await run(false, (io) => del.run('API_KEY', {}, io)),
      await run(true, (io) => rename.run('API_KEY', 'OTHER', { json: true }, io)),
      await run(false, (io) => whoami.run({}, io)),
    ];
    server.offline = true;
    quiet.push(await run(false, (io) => set.run('API_KEY', '-', {}, io), { stdin: CANARY }));
    for (const io of quiet) expect(io.out).not.toContain(CANARY);
    for (const io of ios) expect(io.err).not.toContain(CANARY);
    // The failing ones did fail, each with a message.
    expect(quiet.filter((io) => io.exitCode !== undefined).length).toBeGreaterThanOrEqual(6);
  });
});
