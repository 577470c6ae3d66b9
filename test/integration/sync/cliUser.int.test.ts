/**
 * The built CLI as a user runs it, against the real server on PGlite and on PostgreSQL: no value
 * is lost by a change that did not name it, files it writes are private, imports are all or
 * nothing, exit codes are the documented ones, and what it writes as dotenv reads back the same.
 */
import { execFile, execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../src/sync/client';
import { backends } from './backends';
import { cliEnv, cliRunner, type RunCli } from './cliRunner';
import { addTeam, addUser, buildCli, startServer, type RunningServer } from './harness';

const CANARY = `canary-cliuser-${Math.random().toString(36).slice(2)}`;

/** Values that trip naive dotenv writers: quotes, expansions, comments, line breaks, spaces. */
const TRICKY: Record<string, string> = {
  T_PLAIN: 'plain-value_1.2/3:4@5%6+7,8=9',
  T_SPACE: 'two words',
  T_DOLLAR: 'a$HOME b',
  T_BRACES: 'costs $5 {about}',
  T_BACKTICK: 'run `id` now',
  T_DOUBLE: 'say "hi"',
  T_SINGLE: "it's",
  T_HASH: 'value # not a comment',
  T_LINES: 'line one\n\nline three',
  T_BACKSLASH: 'C:\\temp\\new',
  T_PADDED: '  padded  ',
  T_TAB: 'a\tb',
  T_UNICODE: 'grüße ✓',
  T_EMPTY: '',
  T_SHELL: 'a;b&c|d<e>f*g?h~i!j',
};

function sh(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { env: { PATH: process.env.PATH, ...env } }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} failed: ${stderr}`)) : resolve(stdout),
    ),
  );
}

function has(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}

const PRINT_ENV = `process.stdout.write(JSON.stringify(Object.fromEntries(${JSON.stringify(
  Object.keys(TRICKY),
)}.map((k) => [k, process.env[k]]))))`;

const pythonDotenv = has(() =>
  execFileSync('python3', ['-c', 'import dotenv; dotenv.dotenv_values'], { stdio: 'ignore' }),
);
const nodeDotenv = has(() => createRequire(__filename).resolve('dotenv'));
const dockerDaemon = has(() =>
  execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }),
);

describe.each(backends())('the CLI as a user runs it ($name)', ({ start }) => {
  let server: RunningServer;
  let cli: string;
  let home: string;
  let run: RunCli;
  let stopDatabase: (() => Promise<void>) | undefined;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    const database = start ? await start() : undefined;
    stopDatabase = database?.stop;
    server = await startServer(database ? { databaseUrl: database.databaseUrl } : {});
    cli = await buildCli();
    home = mkdtempSync(join(tmpdir(), 'ns-cliuser-'));
    run = cliRunner(cli, home);
    await addTeam(server, 'ops');
    await server.admin.createProject({ id: 'web' });
    await server.admin.addProjectMember('web', { kind: 'team', id: 'ops' });
    await server.admin.createProject({ id: 'api' });
    await server.admin.addProjectMember('api', { kind: 'team', id: 'ops' });
    for (const user of ['carol', 'dave']) {
      const token = await addUser(server, user, ['ops']);
      tokens[user] = token;
      expect(
        (await run(user, ['login', '--server', server.url, '--token-stdin'], token)).code,
      ).toBe(0);
    }
  });

  afterAll(async () => {
    expect(server.output()).not.toContain(CANARY);
    await server.dispose();
    await stopDatabase?.();
    rmSync(home, { recursive: true, force: true });
  });

  it('set --description with a piped stdin keeps the value; the value changes only from a named source', async () => {
    expect((await run('carol', ['set', 'KEEP_ME'], `${CANARY}\n`)).code).toBe(0);
    // A script changing the description, with stdin a pipe (as in CI): the value stays.
    const describe1 = await run('carol', ['set', 'KEEP_ME', '--description', 'the key'], '');
    expect(describe1.code).toBe(0);
    expect(describe1.stdout).toMatch(/description of 'KEEP_ME'.*the value is unchanged/);
    expect((await run('carol', ['get', 'KEEP_ME'])).stdout).toBe(CANARY);
    const typed = await run('carol', ['set', 'KEEP_ME', '--type', 'token'], 'ignored');
    expect(typed.code).toBe(0);
    const meta = JSON.parse((await run('carol', ['get', 'KEEP_ME', '--json'])).stdout);
    expect(meta).toMatchObject({
      value: CANARY,
      description: 'the key',
      type: 'token',
      version: 3,
    });
    // `-` names stdin even with a field.
    expect(
      (await run('carol', ['set', 'KEEP_ME', '-', '--description', 'rotated'], 'second\n')).code,
    ).toBe(0);
    expect((await run('carol', ['get', 'KEEP_ME'])).stdout).toBe('second');
    expect((await run('carol', ['get', 'KEEP_ME', '--scope', 'personal'])).stdout).toBe('second');
    expect((await run('carol', ['get', 'KEEP_ME', '--scope', 'team:ops'])).code).toBe(4);
    // An empty pipe that was not named as the source changes nothing.
    const empty = await run('carol', ['set', 'KEEP_ME'], '');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/stdin was empty.*set KEEP_ME -/);
    expect((await run('carol', ['get', 'KEEP_ME'])).stdout).toBe('second');
    // Named explicitly, an empty value is stored.
    expect((await run('carol', ['set', 'EMPTY_ON_PURPOSE', '-'], '')).code).toBe(0);
    // Only a field for a secret that does not exist: nothing to create it from.
    const missing = await run('carol', ['set', 'NOT_THERE', '--description', 'x'], 'v');
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/No secret named 'NOT_THERE' in personal to update/);
    const twoSources = await run('carol', ['set', 'KEEP_ME', '-', '--value', 'x']);
    expect(twoSources.code).toBe(2);
    expect((await run('carol', ['get', 'KEEP_ME'])).stdout).toBe('second');
  });

  it("someone else's shared secret never stands in for your own of the same name", async () => {
    const mine = `${CANARY}-carol-own`;
    const theirs = `${CANARY}-dave-own`;
    expect((await run('carol', ['set', 'SAME_NAME', '-'], mine)).code).toBe(0);
    expect((await run('dave', ['set', 'SAME_NAME', '-'], theirs)).code).toBe(0);
    expect(
      (await run('dave', ['share', 'SAME_NAME', '--user', 'carol', '--role', 'owner'])).code,
    ).toBe(0);
    // Reads, scoped reads and writes by name all mean carol's own.
    expect((await run('carol', ['get', 'SAME_NAME'])).stdout).toBe(mine);
    expect((await run('carol', ['get', 'SAME_NAME', '--scope', 'personal'])).stdout).toBe(mine);
    expect((await run('carol', ['set', 'SAME_NAME', '-'], `${mine}-2`)).code).toBe(0);
    expect(
      (await run('carol', ['set', 'SAME_NAME', '--description', 'carol edits hers'])).code,
    ).toBe(0);
    expect((await run('carol', ['get', 'SAME_NAME'])).stdout).toBe(`${mine}-2`);
    const daves = JSON.parse((await run('dave', ['get', 'SAME_NAME', '--json'])).stdout);
    expect(daves).toMatchObject({ value: theirs, description: '' });
    // Without a secret of her own by that name, carol reads the one dave shares.
    expect((await run('carol', ['delete', 'SAME_NAME', '--yes'])).code).toBe(0);
    expect((await run('carol', ['get', 'SAME_NAME'])).stdout).toBe(theirs);
  });

  it('restore NAME VERSION brings back an earlier value; history says which versions can be restored', async () => {
    await run('carol', ['set', 'ROTATED'], 'first-value');
    await run('carol', ['set', 'ROTATED'], 'second-value');
    const history = await run('carol', ['history', 'ROTATED']);
    expect(history.stdout).toMatch(/1\s+create\s+carol\s+\S+\s+yes/);
    expect(history.stdout).toMatch(/restore ROTATED VERSION/);
    const restored = await run('carol', ['restore', 'ROTATED', '1']);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toMatch(
      /Restored 'ROTATED' in personal to the value of version 1 \(now version 3\)/,
    );
    expect((await run('carol', ['get', 'ROTATED'])).stdout).toBe('first-value');
    const versions = JSON.parse((await run('carol', ['history', 'ROTATED', '--json'])).stdout);
    expect(versions.versions[0]).toMatchObject({ version: 3, kind: 'restore' });
    expect((await run('carol', ['restore', 'ROTATED', '9'])).code).toBe(4);
    expect((await run('carol', ['restore', 'ROTATED', 'two'])).code).toBe(2);
    expect((await run('dave', ['restore', 'ROTATED', '1'])).code).toBe(4);
  });

  it('writes 0600 files over an existing 0644 file and never through a symbolic link', async () => {
    await run('carol', ['set', 'FILE_TARGET'], CANARY);
    const dir = join(home, 'files');
    mkdirSync(dir, { recursive: true });
    for (const args of [
      (out: string) => ['get', 'FILE_TARGET', '-o', out],
      (out: string) => ['export', '--only', 'FILE_TARGET', '-o', out],
    ]) {
      const out = join(dir, `existing-${args('x')[0]}.txt`);
      writeFileSync(out, 'old content\n', { mode: 0o644 });
      chmodSync(out, 0o644);
      const result = await run('carol', args(out));
      expect(result.code).toBe(0);
      expect(statSync(out).mode & 0o777).toBe(0o600);
      expect(readFileSync(out, 'utf8')).toContain(CANARY);
      // A link planted where the file goes: refused, and the file it points to is untouched.
      const victim = join(dir, `victim-${args('x')[0]}.txt`);
      writeFileSync(victim, 'not yours\n', { mode: 0o644 });
      const link = join(dir, `link-${args('x')[0]}.txt`);
      symlinkSync(victim, link);
      const refused = await run('carol', args(link));
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/is a symbolic link/);
      expect(readFileSync(victim, 'utf8')).toBe('not yours\n');
      expect(statSync(victim).mode & 0o777).toBe(0o644);
    }
  });

  it('imports all or nothing: duplicate keys, bad names and taken names write nothing', async () => {
    const file = join(home, 'dup.env');
    writeFileSync(file, 'FRESH_ONE=1\nDUPKEY=first\nDUPKEY=second\n');
    const dup = await run('carol', ['import', file]);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toMatch(/DUPKEY is on lines 2 and 3.*Nothing was imported/);
    expect((await run('carol', ['get', 'DUPKEY'])).code).toBe(4);
    expect((await run('carol', ['get', 'FRESH_ONE'])).code).toBe(4);
    writeFileSync(file, `FRESH_ONE=1\nBIG=${'x'.repeat(70_000)}\n`);
    const big = await run('carol', ['import', file]);
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(/line 2 \(BIG\).*Nothing was imported/);
    expect((await run('carol', ['get', 'FRESH_ONE'])).code).toBe(4);
    // KEEP_ME exists: without --overwrite nothing is written, with it both are.
    writeFileSync(file, 'FRESH_ONE=1\nKEEP_ME=replaced\n');
    const taken = await run('carol', ['import', file]);
    expect(taken.code).toBe(5);
    expect(taken.stderr).toMatch(/KEEP_ME already exists in personal.*--overwrite.*Nothing/);
    expect((await run('carol', ['get', 'FRESH_ONE'])).code).toBe(4);
    expect((await run('carol', ['get', 'KEEP_ME'])).stdout).toBe('second');
    const overwrite = await run('carol', ['import', file, '--overwrite', '--json']);
    expect(overwrite.code).toBe(0);
    expect(JSON.parse(overwrite.stdout).imported).toMatchObject([
      { name: 'FRESH_ONE', created: true },
      { name: 'KEEP_ME', created: false },
    ]);
    expect((await run('carol', ['get', 'KEEP_ME'])).stdout).toBe('replaced');
  });

  it('exits with the documented codes: usage errors 2, admin without a token 3', async () => {
    for (const args of [['get'], ['list', '--no-such-option'], ['frobnicate'], ['set']]) {
      const result = await run('carol', args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
    }
    expect((await run('carol', ['--version'])).code).toBe(0);
    expect((await run('carol', ['get', '--help'])).code).toBe(0);
    const admin = await run('carol', ['admin', 'user', 'list', '--server', server.url]);
    expect(admin.code).toBe(3);
    expect(admin.stderr).toMatch(/No admin token/);
    const adminBad = await run('carol', ['admin', 'user', 'list', '--server', server.url], '', {
      NOTEBOOK_SECRETS_ADMIN_TOKEN: 'nsadmin_wrong',
    });
    expect(adminBad.code).toBe(3);
  });

  it('set at a terminal asks for the value without echoing it', async () => {
    const python = join(__dirname, 'ptyRun.py');
    const typed = `${CANARY}-typed`;
    const out = await sh(
      'python3',
      [python, 'Value for', typed, process.execPath, cli, 'set', 'TYPED_AT_TERMINAL'],
      cliEnv(home, 'carol'),
    );
    const { output, code } = JSON.parse(out) as { output: string; code: number };
    expect(code).toBe(0);
    expect(output).toMatch(/Value for TYPED_AT_TERMINAL \(hidden\)/);
    expect(output).toMatch(/Created 'TYPED_AT_TERMINAL'/);
    expect(output).not.toContain(typed);
    expect((await run('carol', ['get', 'TYPED_AT_TERMINAL'])).stdout).toBe(typed);
    // `-` at a terminal with another field: asked the same way, without echo.
    const again = `${typed}-again`;
    const second = JSON.parse(
      await sh(
        'python3',
        [
          python,
          'Value for',
          again,
          process.execPath,
          cli,
          'set',
          'TYPED_AT_TERMINAL',
          '-',
          '--description',
          'typed',
        ],
        cliEnv(home, 'carol'),
      ),
    ) as { output: string; code: number };
    expect(second.code).toBe(0);
    expect(second.output).not.toContain(again);
    expect((await run('carol', ['get', 'TYPED_AT_TERMINAL'])).stdout).toBe(again);
  });

  it('refuses a file over 48 KiB with the limit for files, and takes one of exactly 48 KiB', async () => {
    const big = join(home, 'big.bin');
    writeFileSync(big, Buffer.alloc(50_000, 7));
    const refused = await run('carol', ['set', 'BIG_FILE', '--from-file', big]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/is 48\.8 KiB; a file secret can be at most 48 KiB of file/);
    writeFileSync(big, Buffer.alloc(48 * 1024, 7));
    expect((await run('carol', ['set', 'BIG_FILE', '--from-file', big])).code).toBe(0);
    const help = await run('carol', ['set', '--help']);
    expect(help.stdout).toMatch(/at most 48 KiB\s+of\s+file/);
  });

  describe('dotenv export reads back the same in every reader available here', () => {
    let file: string;

    beforeAll(async () => {
      for (const [name, value] of Object.entries(TRICKY))
        expect((await run('dave', ['set', name, '-', '--scope', 'team:ops'], value)).code).toBe(0);
      file = join(home, 'tricky.env');
      const exported = await run('dave', [
        'export',
        '--only',
        Object.keys(TRICKY).join(','),
        '-o',
        file,
      ]);
      expect(exported.code).toBe(0);
    });

    for (const shell of ['sh', 'bash']) {
      it(`${shell}: set -a; . FILE`, async () => {
        const out = await sh(
          shell,
          ['-c', `set -a; . "$1"; exec "$2" -e "$3"`, shell, file, process.execPath, PRINT_ENV],
          { HOME: '/nonexistent-home' },
        );
        expect(JSON.parse(out)).toEqual(TRICKY);
      });
    }

    it.skipIf(!pythonDotenv)('python-dotenv: dotenv_values', async () => {
      const out = await sh('python3', [
        '-c',
        'import json, sys\nfrom dotenv import dotenv_values\nprint(json.dumps(dotenv_values(sys.argv[1])))',
        file,
      ]);
      expect(JSON.parse(out)).toEqual(TRICKY);
    });

    // Node's own reader (Node ≥ 20.12): the parser behind `node --env-file` and process.loadEnvFile.
    it("Node's reader: util.parseEnv and node --env-file", async () => {
      expect(parseEnv(readFileSync(file, 'utf8'))).toEqual(TRICKY);
      const out = await sh(process.execPath, [`--env-file=${file}`, '-e', PRINT_ENV]);
      expect(JSON.parse(out)).toEqual(TRICKY);
    });

    it.skipIf(!nodeDotenv)('the dotenv package: parse', () => {
      const dotenv = createRequire(__filename)('dotenv') as { parse(text: string): object };
      expect(dotenv.parse(readFileSync(file, 'utf8'))).toEqual(TRICKY);
    });

    it.skipIf(!dockerDaemon)('docker --env-file: the plain values', async () => {
      const out = await sh('docker', [
        'run',
        '--rm',
        '--env-file',
        file,
        'busybox',
        'printenv',
        'T_PLAIN',
      ]);
      expect(out).toBe(`${TRICKY.T_PLAIN}\n`);
    });

    it('notebook-secrets import', async () => {
      expect((await run('carol', ['import', file, '--json'])).code).toBe(0);
      const back = await run('carol', [
        'export',
        '--format',
        'json',
        '--scope',
        'personal',
        '--only',
        Object.keys(TRICKY).join(','),
      ]);
      const values = Object.fromEntries(
        (JSON.parse(back.stdout) as { secrets: { name: string; value: string }[] }).secrets.map(
          (s) => [s.name, s.value],
        ),
      );
      expect(values).toEqual(TRICKY);
    });

    it('refuses, naming it, a value no dotenv quoting carries to every reader', async () => {
      await run('dave', ['set', 'T_HOPELESS', '-'], `it's $HOME`);
      await run('dave', ['set', 'T_EXPANDED', '-'], '${HOME}');
      const refused = await run('dave', ['export', '--only', 'T_HOPELESS,T_PLAIN,T_EXPANDED']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/values of T_HOPELESS, T_EXPANDED .*--format json/);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).not.toContain('$HOME');
    });
  });

  it('audit shows who did what to your secrets, never values; others see nothing of them', async () => {
    const mine = await run('carol', ['audit', 'KEEP_ME', '--json']);
    expect(mine.code).toBe(0);
    const page = JSON.parse(mine.stdout) as { entries: { action: string; actor: string }[] };
    expect(page.entries.map((e) => e.action)).toEqual(
      expect.arrayContaining(['create', 'update', 'resolve']),
    );
    expect(page.entries.every((e) => e.actor === 'carol')).toBe(true);
    const table = await run('carol', ['audit', '--limit', '5']);
    expect(table.stdout).toMatch(/AT\s+ACTOR\s+ACTION\s+SECRET/);
    expect(table.stdout + mine.stdout).not.toContain(CANARY);
    expect((await run('dave', ['audit', 'KEEP_ME'])).code).toBe(4);
    expect((await run('carol', ['audit', '--limit', '0'])).code).toBe(2);
  });

  it('projects lists yours; use PROJECT makes one active for get, and --none clears it', async () => {
    const listed = JSON.parse((await run('carol', ['projects', '--json'])).stdout);
    expect(listed).toMatchObject({ active: null, projects: [{ id: 'api' }, { id: 'web' }] });
    await run('carol', ['set', 'DB_URL', '-', '--scope', 'project:web'], 'web-db');
    await run('carol', ['set', 'DB_URL', '-', '--scope', 'project:api'], 'api-db');
    const use = await run('carol', ['use', 'web']);
    expect(use.code).toBe(0);
    expect(use.stdout).toMatch(/Active project: web/);
    expect((await run('carol', ['projects'])).stdout).toMatch(/\*\s+web/);
    expect((await run('carol', ['get', 'DB_URL'])).stdout).toBe('web-db');
    expect((await run('carol', ['use', 'api'])).code).toBe(0);
    expect((await run('carol', ['get', 'DB_URL'])).stdout).toBe('api-db');
    const unknown = await run('carol', ['use', 'nope']);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toMatch(/not belong to a project 'nope'/);
    expect((await run('carol', ['get', 'DB_URL'])).stdout).toBe('api-db');
    expect((await run('carol', ['use', '--none'])).code).toBe(0);
    expect(JSON.parse((await run('carol', ['projects', '--json'])).stdout).active).toBeNull();
  });

  it('rename keeps the id, versions, value and sharing; a taken or bad name changes nothing', async () => {
    expect((await run('carol', ['set', 'OLD_KEY', '-'], `${CANARY}-1`)).code).toBe(0);
    expect((await run('carol', ['set', 'OLD_KEY', '-'], `${CANARY}-2`)).code).toBe(0);
    expect(
      (await run('carol', ['share', 'OLD_KEY', '--user', 'dave', '--role', 'reader'])).code,
    ).toBe(0);
    expect((await run('carol', ['set', 'OTHER_KEY', '-'], 'other')).code).toBe(0);
    const before = JSON.parse((await run('carol', ['get', 'OLD_KEY', '--json'])).stdout);

    const taken = await run('carol', ['rename', 'OLD_KEY', 'OTHER_KEY']);
    expect(taken.code).toBe(5);
    expect(taken.stderr).toMatch(
      /'OTHER_KEY' already exists in personal; 'OLD_KEY' keeps its name/,
    );
    const bad = await run('carol', ['rename', 'OLD_KEY', '9 lives']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/'9 lives' cannot be a secret name/);
    expect((await run('carol', ['rename', 'NO_SUCH_KEY', 'NEW_KEY'])).code).toBe(4);
    expect((await run('carol', ['rename', 'OLD_KEY'])).code).toBe(2);
    // A reader cannot rename what is shared with them.
    expect((await run('dave', ['rename', 'OLD_KEY', 'DAVES_NAME'])).code).toBe(6);
    expect((await run('carol', ['get', 'OLD_KEY'])).stdout).toBe(`${CANARY}-2`);

    const renamed = await run('carol', ['rename', 'OLD_KEY', 'NEW_KEY', '--json']);
    expect(renamed.code).toBe(0);
    expect(JSON.parse(renamed.stdout)).toMatchObject({
      id: before.id,
      name: 'NEW_KEY',
      version: before.version + 1,
    });
    expect(renamed.stdout).not.toContain(CANARY);
    expect((await run('carol', ['get', 'NEW_KEY'])).stdout).toBe(`${CANARY}-2`);
    expect((await run('carol', ['get', 'OLD_KEY'])).code).toBe(4);
    expect((await run('dave', ['get', 'NEW_KEY'])).stdout).toBe(`${CANARY}-2`);
    const history = JSON.parse((await run('carol', ['history', 'NEW_KEY', '--json'])).stdout);
    expect(JSON.stringify(history)).not.toContain(CANARY);
    expect((await run('carol', ['restore', 'NEW_KEY', '1'])).code).toBe(0);
    expect((await run('carol', ['get', 'NEW_KEY'])).stdout).toBe(`${CANARY}-1`);
    const text = await run('carol', ['rename', 'NEW_KEY', 'OLD_KEY']);
    expect(text.stdout).toMatch(/Renamed 'NEW_KEY' to 'OLD_KEY' in personal/);
    expect((await run('carol', ['rename', '--help'])).stdout).toMatch(/keeping its versions/);
  });

  it('completion prints scripts for bash, zsh and fish; the bash one completes commands and options', async () => {
    const script = join(home, 'completion.bash');
    const bash = await run('carol', ['completion', 'bash']);
    expect(bash.code).toBe(0);
    writeFileSync(script, bash.stdout);
    const out = await sh('bash', [
      '-c',
      `. "$1"; COMP_WORDS=(notebook-secrets res); COMP_CWORD=1; _notebook_secrets; echo "\${COMPREPLY[*]}"; COMP_WORDS=(notebook-secrets set --des); COMP_CWORD=2; _notebook_secrets; echo "\${COMPREPLY[*]}"`,
      'bash',
      script,
    ]);
    expect(out).toBe('restore\n--description\n');
    const zsh = await run('carol', ['completion', 'zsh']);
    expect(zsh.stdout).toMatch(/^#compdef notebook-secrets/);
    expect(zsh.stdout).toMatch(/'restore:Make an earlier version/);
    const fish = await run('carol', ['completion', 'fish']);
    expect(fish.stdout).toMatch(/-n __fish_use_subcommand -a audit /);
    expect(fish.stdout).toMatch(/__fish_seen_subcommand_from set' -l from-file -r -F/);
    expect((await run('carol', ['completion', 'tcsh'])).code).toBe(2);
  });

  it('logout revokes the token on the server', async () => {
    const credentials = JSON.parse(
      readFileSync(join(home, 'dave', 'config', 'credentials.json'), 'utf8'),
    ) as { tokens: Record<string, string> };
    const token = Object.values(credentials.tokens)[0]!;
    const client = new ApiClient({ baseUrl: server.url, token });
    expect((await client.me()).user.id).toBe('dave');
    const logout = await run('dave', ['logout']);
    expect(logout.code).toBe(0);
    expect(logout.stdout).toMatch(/the token is revoked/);
    await expect(client.me()).rejects.toMatchObject({ status: 401 });
    expect(existsSync(join(home, 'dave', 'config', 'credentials.json'))).toBe(false);
  });

  it('speaks to a CLI user, not to an editor, when the server cannot be reached', async () => {
    // Something that is not an HTTP server at all.
    const sockets = new Set<Socket>();
    const garbage = createNetServer((socket) => {
      sockets.add(socket);
      socket.end('NOT HTTP\r\n\r\n');
    });
    await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r));
    try {
      const down = await run('carol', ['list'], undefined, {
        NOTEBOOK_SECRETS_SERVER: `http://127.0.0.1:${(garbage.address() as AddressInfo).port}`,
        NOTEBOOK_SECRETS_TOKEN: tokens.carol,
      });
      expect(down.code).toBe(7);
      expect(down.stderr).toMatch(/Could not reach the team server/);
      expect(down.stderr).not.toMatch(/local copy/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => garbage.close(r));
    }
  });

  it('get is one request, and the client bundle holds neither the server nor its database', async () => {
    // A forwarding proxy in front of the real server counts what the CLI asks.
    const target = new URL(server.url);
    let count = 0;
    const proxy = createServer((req, res) => {
      count++;
      const upstream = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const { port } = proxy.address() as AddressInfo;
    try {
      const got = await run('carol', ['get', 'ROTATED'], undefined, {
        NOTEBOOK_SECRETS_SERVER: `http://127.0.0.1:${port}`,
        NOTEBOOK_SECRETS_TOKEN: tokens.carol,
      });
      expect(got.stdout).toBe('first-value');
      expect(count).toBe(1);
    } finally {
      await new Promise((r) => proxy.close(r));
    }
    const bundle = readFileSync(cli, 'utf8');
    expect(bundle).not.toMatch(/fastify|@electric-sql\/pglite/);
    expect(bundle).not.toMatch(/@jupyterlab/);
  });
});
