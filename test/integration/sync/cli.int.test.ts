/**
 * The `notebook-secrets` client subcommands as a user runs them: the bundled CLI in a child
 * process, against the real server, with the config in a temp dir (no keyring).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalSecretStore } from '../../../src/core/localStore';
import { ApiClient } from '../../../src/sync/client';
import { SyncEngine } from '../../../src/sync/engine';
import { MemoryKeyValueStore } from '../../../src/sync/memoryKeyValueStore';
import { cliRunner, type RunCli } from './cliRunner';
import { addTeam, addUser, buildCli, freePort, startServer, type RunningServer } from './harness';

const CANARY = `canary-cli-${Math.random().toString(36).slice(2)}`;

describe('notebook-secrets CLI client (built binary, real server)', () => {
  let server: RunningServer;
  let cli: string;
  let home: string;
  let aliceToken: string;
  let bobToken: string;
  const transcript: string[] = [];

  beforeAll(async () => {
    server = await startServer();
    cli = await buildCli();
    home = mkdtempSync(join(tmpdir(), 'ns-cli-'));
    await addTeam(server, 'data');
    aliceToken = await addUser(server, 'alice', ['data']);
    bobToken = await addUser(server, 'bob', ['data']);
  });

  afterAll(async () => {
    // No value in anything the CLI printed except where asked (get/export/run), nor on the server.
    expect(server.output()).not.toContain(CANARY);
    await server.dispose();
    rmSync(home, { recursive: true, force: true });
  });

  // cli and home are set in beforeAll.
  const run: RunCli = (...args) => cliRunner(cli, home, transcript)(...args);

  it('logs in with the token on stdin and keeps it out of config.json (0600 file)', async () => {
    const login = await run(
      'alice',
      ['login', '--server', server.url, '--token-stdin'],
      `${aliceToken}\n`,
    );
    expect(login.code).toBe(0);
    expect(login.stdout).toMatch(/Signed in to .* as alice/);
    const dir = join(home, 'alice', 'config');
    expect(readFileSync(join(dir, 'config.json'), 'utf8')).not.toContain(aliceToken);
    expect(statSync(join(dir, 'credentials.json')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(
      (await run('bob', ['login', '--server', server.url, '--token-stdin'], bobToken)).code,
    ).toBe(0);
    const who = await run('alice', ['whoami', '--json']);
    expect(JSON.parse(who.stdout)).toMatchObject({
      user: { id: 'alice' },
      teams: [{ id: 'data' }],
    });
  });

  it("shows the server's text without terminal controls", async () => {
    // A project name that would clear the screen, hide text and set the clipboard (OSC 52) if
    // printed as it is.
    const name = 'web\u001b[2J\u001b[8mhidden\u001b[0m\u001b]52;c;Y3VybCBldmls\u0007\u202eok';
    await server.admin.createProject({ id: 'controls', name });
    await server.admin.addProjectMember('controls', { kind: 'user', id: 'alice' });
    const projects = await run('alice', ['projects']);
    expect(projects.code).toBe(0);
    expect(projects.stdout).toMatch(/controls +webhidden\?ok/);
    const controls =
      // eslint-disable-next-line no-control-regex -- control characters are what it looks for
      /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/;
    expect(projects.stdout).not.toMatch(controls);
    // --json keeps the text as it is, escaped by JSON.
    const json = await run('alice', ['projects', '--json']);
    expect(JSON.parse(json.stdout).projects).toContainEqual(
      expect.objectContaining({ id: 'controls', name }),
    );
  });

  it('refuses a bad token with exit 3 and a clear message, and a wrong URL with exit 7', async () => {
    const bad = await run('eve', ['login', '--server', server.url, '--token-stdin'], 'not-a-token');
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/refused the token \(401\)/);
    const closed = await freePort();
    const down = await run(
      'eve',
      ['login', '--server', `http://127.0.0.1:${closed}`, '--token-stdin'],
      'x',
    );
    expect(down.code).toBe(7);
    expect(down.stderr).toMatch(/connection refused/);
    const notSignedIn = await run('eve', ['list']);
    expect(notSignedIn.code).toBe(3);
    expect(notSignedIn.stderr).toMatch(/Not signed in/);
  });

  it('set from stdin, list without values, get prints the value, history', async () => {
    const set = await run(
      'alice',
      ['set', 'API_KEY', '-', '--type', 'token', '--description', 'the key'],
      `${CANARY}\n`,
    );
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/Created 'API_KEY' in personal \(version 1\)/);
    expect(set.stdout + set.stderr).not.toContain(CANARY);
    const list = await run('alice', ['list']);
    expect(list.stdout).toMatch(/API_KEY\s+personal\s+token\s+owner\s+1/);
    expect(list.stdout).not.toContain(CANARY);
    const json = await run('alice', ['list', '--json', '--type', 'token']);
    expect(JSON.parse(json.stdout).secrets).toHaveLength(1);
    expect(json.stdout).not.toContain(CANARY);
    const get = await run('alice', ['get', 'API_KEY']);
    expect(get.stdout).toBe(CANARY);
    const history = await run('alice', ['history', 'API_KEY', '--json']);
    expect(JSON.parse(history.stdout).versions).toMatchObject([
      { version: 1, kind: 'create', author: 'alice' },
    ]);
  });

  it('warns when a value comes from argv', async () => {
    const set = await run('alice', ['set', 'FROM_ARGV', '--value', 'argv-value']);
    expect(set.code).toBe(0);
    expect(set.stderr).toMatch(/warning: .*shell history/);
  });

  it('stores a file as base64 and get --output writes its bytes back', async () => {
    const file = join(home, 'key.bin');
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252]);
    writeFileSync(file, bytes);
    expect((await run('alice', ['set', 'KEY_FILE', '--from-file', file])).code).toBe(0);
    const out = join(home, 'key.out');
    expect((await run('alice', ['get', 'KEY_FILE', '--output', out])).code).toBe(0);
    expect(readFileSync(out)).toEqual(bytes);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('shares with a user as reader, who can read but not change it; unshare removes access', async () => {
    const share = await run('alice', ['share', 'API_KEY', '--user', 'bob', '--role', 'reader']);
    expect(share.code).toBe(0);
    expect(share.stdout).toMatch(/user bob: reader/);
    expect((await run('bob', ['get', 'API_KEY'])).stdout).toBe(CANARY);
    const change = await run('bob', ['delete', 'API_KEY', '--yes']);
    expect(change.code).toBe(6);
    const lastOwner = await run('alice', ['unshare', 'API_KEY', '--user', 'alice']);
    expect(lastOwner.code).toBe(6);
    expect(lastOwner.stderr).toMatch(/last owner/);
    expect((await run('alice', ['unshare', 'API_KEY', '--user', 'bob'])).code).toBe(0);
    const gone = await run('bob', ['get', 'API_KEY']);
    expect(gone.code).toBe(4);
    expect(gone.stderr).toMatch(/No secret named 'API_KEY'/);
  });

  it('imports a .env file, exports dotenv and JSON, and runs a command with secrets in its env', async () => {
    const envFile = join(home, 'app.env');
    writeFileSync(envFile, `# app\nDB_USER=app\nexport DB_PASS="p w\\"d"\nEMPTY=\n`);
    const imported = await run('alice', ['import', envFile, '--scope', 'team:data', '--json']);
    expect(imported.code).toBe(0);
    expect(JSON.parse(imported.stdout).imported).toHaveLength(3);
    const exported = await run('alice', ['export', '--format', 'dotenv', '--scope', 'team:data']);
    expect(exported.stdout).toBe("DB_PASS='p w\"d'\nDB_USER=app\nEMPTY=\n");
    const asJson = await run('alice', ['export', '--format', 'json', '--only', 'DB_USER']);
    expect(JSON.parse(asJson.stdout).secrets).toMatchObject([{ name: 'DB_USER', value: 'app' }]);
    const ran = await run('bob', [
      'run',
      '--only',
      'DB_USER,DB_PASS',
      '--',
      'sh',
      '-c',
      'printf "%s|%s" "$DB_USER" "$DB_PASS"; exit 7',
    ]);
    expect(ran.stdout).toBe('app|p w"d');
    expect(ran.code).toBe(7); // the command's own exit code
    const missing = await run('bob', ['run', '--only', 'NOPE', '--', 'true']);
    expect(missing.code).toBe(4);
    const bad = await run('alice', ['import', join(home, 'nope.env')]);
    expect(bad.code).toBe(2);
  });

  it('a name in several scopes needs --scope for changes; get resolves by precedence', async () => {
    await run('alice', ['set', 'DB_USER', '--scope', 'personal'], 'mine');
    expect((await run('alice', ['get', 'DB_USER'])).stdout).toBe('mine');
    const ambiguous = await run('alice', ['delete', 'DB_USER', '--yes']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/several scopes \(.*\); pass --scope/);
    expect((await run('alice', ['delete', 'DB_USER', '--yes', '--scope', 'personal'])).code).toBe(
      0,
    );
    expect((await run('alice', ['get', 'DB_USER'])).stdout).toBe('app');
  });

  it('bad input gets exit 2 with the rule', async () => {
    const badName = await run('alice', ['set', 'my-key'], 'x');
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/cannot contain "-"/);
    const badRole = await run('alice', ['share', 'FROM_ARGV', '--user', 'bob', '--role', 'admin']);
    expect(badRole.code).toBe(2);
    const json = await run('alice', ['get', 'NOPE', '--json']);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'not_found', exit: 4 } });
  });

  it('the CLI and a synced client (as in VS Code) converge both ways', async () => {
    const kv = new MemoryKeyValueStore();
    const store = new LocalSecretStore(kv, { user: 'bob' });
    await store.load();
    const engine = new SyncEngine({
      client: new ApiClient({ baseUrl: server.url, token: bobToken }),
      store,
      kv,
    });
    await engine.init();
    await engine.sync();
    expect((await run('bob', ['set', 'FROM_CLI'], 'cli-value')).code).toBe(0);
    await engine.sync();
    const fromCli = store.list().find((e) => e.name === 'FROM_CLI')!;
    expect((await store.getValue(fromCli.id)).value).toBe('cli-value');
    await store.update(fromCli.id, { value: 'edited-in-editor' });
    await store.create({ name: 'FROM_EDITOR', value: 'editor-value' });
    await engine.sync();
    expect((await run('bob', ['get', 'FROM_CLI'])).stdout).toBe('edited-in-editor');
    expect((await run('bob', ['get', 'FROM_EDITOR'])).stdout).toBe('editor-value');
    expect((await run('bob', ['delete', 'FROM_EDITOR', '--yes'])).code).toBe(0);
    await engine.sync();
    expect(store.list().find((e) => e.name === 'FROM_EDITOR')).toBeUndefined();
  });

  it('logout removes the token; nothing in the config dir holds a value', async () => {
    expect((await run('alice', ['logout'])).code).toBe(0);
    expect((await run('alice', ['list'])).code).toBe(3);
    const dir = join(home, 'alice', 'config');
    for (const file of readdirSync(dir)) {
      const text = readFileSync(join(dir, file), 'utf8');
      expect(text).not.toContain(CANARY);
      expect(text).not.toContain(aliceToken);
    }
    // Values appear only in the output of commands that were asked for them.
    for (const entry of transcript) {
      if (entry.includes(CANARY)) expect(entry).toMatch(/\$ (get|export|run) /);
    }
  });
});
