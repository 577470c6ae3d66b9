/**
 * `notebook-secrets run --kernels -- CMD` as a user runs it: the built CLI, signed in to a real
 * team server, running `jupyter nbconvert --execute` (whose kernel calls get_secret) and plain
 * Python scripts; not signed in, from the local store in a real Secret Service. No value may reach
 * the executed notebook, an environment or the CLI's output.
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execCli, type CliResult } from '../sync/cliRunner';
import { ApiClient } from '../../../src/sync/client';
import { buildCliInto } from '../server/serverProcess';
import { addTeam, addUser, startServer, type RunningServer } from '../sync/harness';
import { canary, sha256 } from './fixtures';
import { bounded, SYSTEM_PYTHON } from './harness';
import { HAS_KEYRING, startSecretService, type SecretService } from '../cli/secretService';

const VALUES = {
  personal: canary('run-personal'),
  team: canary('run-team'),
  local: canary('run-local'),
};
/** Far above anything expected: a wait that has not ended by then is hung, not slow. */
const HUNG_MS = 50_000;

let team: RunningServer;
let cli: string;
let home: string;
let alice: ApiClient;
let aliceToken: string;
/** Signed in with `login` (the token in the config dir, not in the environment). */
let loggedIn: NodeJS.ProcessEnv;
/** Everything every CLI run printed, checked for values at the end. */
let printed = '';

async function runCli(args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<CliResult> {
  const result = await execCli(cli, args, { env, input, timeoutMs: HUNG_MS, cwd: home });
  printed += result.stdout + result.stderr;
  return result;
}

/** The NUL-separated environment a process started with, as a map. */
function environ(path: string): Map<string, string> {
  const entries = readFileSync(path, 'utf8')
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1)] as [string, string];
    });
  return new Map(entries);
}

/** `jupyter nbconvert --execute` of `input`, written next to it as `output`. */
function nbconvert(input: string, output: string, ...options: string[]): string[] {
  return [
    SYSTEM_PYTHON,
    '-m',
    'nbconvert',
    '--to',
    'notebook',
    '--execute',
    ...options,
    input,
    '--output',
    output,
  ];
}

function notebook(cells: string[], choices?: Record<string, unknown>): string {
  return JSON.stringify({
    cells: cells.map((source) => ({
      cell_type: 'code',
      execution_count: null,
      metadata: {},
      outputs: [],
      source,
    })),
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
      ...(choices && { notebook_secrets: choices }),
    },
    nbformat: 4,
    nbformat_minor: 5,
  });
}

beforeAll(async () => {
  [team, cli] = await Promise.all([startServer(), buildCliInto('test-run-kernels-cli')]);
  home = mkdtempSync(join(tmpdir(), 'nbsec-run-kernels-'));
  await addTeam(team, 'data');
  aliceToken = await addUser(team, 'alice', ['data']);
  alice = new ApiClient({ baseUrl: team.url, token: aliceToken });
  await alice.createSecret({
    name: 'API_KEY',
    value: VALUES.team,
    scope: { kind: 'team', id: 'data' },
  });
  await alice.createSecret({ name: 'API_KEY', value: VALUES.personal });
  loggedIn = {
    HOME: join(home, 'alice'),
    NOTEBOOK_SECRETS_CONFIG_DIR: join(home, 'alice', 'config'),
    NOTEBOOK_SECRETS_KEYRING: '0',
  };
  const login = await runCli(
    ['login', '--server', team.url, '--token-stdin'],
    loggedIn,
    aliceToken,
  );
  expect(login.code, login.stderr).toBe(0);
});

afterAll(async () => {
  expect(printed).not.toContain(VALUES.personal);
  expect(printed).not.toContain(VALUES.team);
  expect(printed).not.toContain(VALUES.local);
  expect(team.output()).not.toContain(VALUES.personal);
  await team?.dispose();
  rmSync(home, { recursive: true, force: true });
});

describe('run --kernels', () => {
  it('lets a notebook run by jupyter nbconvert --execute call get_secret; the executed notebook, its environment and the logs hold no value', async () => {
    const dir = join(home, 'nbconvert');
    mkdirSync(dir);
    const envDump = join(dir, 'kernel.environ');
    writeFileSync(
      join(dir, 'in.ipynb'),
      notebook([
        "from notebook_secrets import get_secret\nkey = get_secret('API_KEY')\nkey",
        "import hashlib\nprint(hashlib.sha256(key.encode()).hexdigest(), hashlib.sha256(get_secret('API_KEY', scope='team').encode()).hexdigest())",
        'print(key)',
        `import shutil\nshutil.copyfile('/proc/self/environ', ${JSON.stringify(envDump)})`,
        "try:\n    get_secret('NOT_THERE')\nexcept Exception as e:\n    print(type(e).__name__, '|', e)",
      ]),
    );
    const before = new Set((await alice.audit({ limit: 1000 })).entries.map((e) => e.id));
    const run = await runCli(
      ['run', '--kernels', '--verbose', '--', ...nbconvert(join(dir, 'in.ipynb'), 'out.ipynb')],
      loggedIn,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`Serving get_secret from the team server at ${team.url}`);
    expect(run.stderr).toContain("get_secret('NOT_THERE') for python3: not found");

    const text = readFileSync(join(dir, 'out.ipynb'), 'utf8');
    expect(text).not.toContain(VALUES.personal);
    expect(text).not.toContain(VALUES.team);
    const outputs = (
      JSON.parse(text) as {
        cells: { outputs: { text?: string; data?: Record<string, string> }[] }[];
      }
    ).cells.map((c) => c.outputs.map((o) => o.text ?? o.data?.['text/plain'] ?? '').join(''));
    // The masked repr, the values by their hashes (personal wins), a print redacted.
    expect(outputs[0]).toBe("<secret 'API_KEY'>");
    expect(outputs[1]).toBe(`${sha256(VALUES.personal)} ${sha256(VALUES.team)}\n`);
    expect(outputs[2]).toBe('[secret API_KEY]\n');
    expect(outputs[4]).toMatch(
      /^SecretNotFoundError \| No secret named 'NOT_THERE'\. Add it with `notebook-secrets set NOT_THERE`/,
    );

    // The kernel's environment: an endpoint, a token and the helper's folder; no value.
    const raw = readFileSync(envDump, 'utf8');
    expect(raw).not.toContain(VALUES.personal);
    expect(raw).not.toContain(VALUES.team);
    const env = environ(envDump);
    expect(env.get('NOTEBOOK_SECRETS_BROKER')).toMatch(/^unix:\//);
    expect(env.get('NOTEBOOK_SECRETS_BROKER_TOKEN')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const helperDir = env.get('PYTHONPATH')!.split(':')[0]!;
    // Gone with the run: the helper's folder and the broker's socket.
    expect(existsSync(join(helperDir))).toBe(false);
    expect(existsSync(env.get('NOTEBOOK_SECRETS_BROKER')!.slice('unix:'.length))).toBe(false);

    // Each read is one audited resolve, named for this command.
    const resolves = (await alice.audit({ limit: 1000 })).entries.filter(
      (e) => !before.has(e.id) && e.action === 'resolve',
    );
    expect(resolves.map((e) => [e.secret_name, e.client]).sort()).toEqual([
      ['API_KEY', 'notebook-secrets-run'],
      ['API_KEY', 'notebook-secrets-run'],
    ]);
  });

  it("runs a Colab notebook unchanged and sets the environment its metadata lists; another notebook's Colab cell says how to serve it", async () => {
    const dir = join(home, 'colab');
    mkdirSync(dir);
    const cells = [
      "from google.colab import userdata\nimport hashlib, os\nprint(hashlib.sha256(userdata.get('API_KEY').encode()).hexdigest(), hashlib.sha256(os.environ['API_KEY'].encode()).hexdigest())",
      '!env | grep -c "^API_KEY=" || true',
    ];
    writeFileSync(
      join(dir, 'colab.ipynb'),
      notebook(cells, { serve_platform_calls: true, environment: ['API_KEY'] }),
    );
    writeFileSync(join(dir, 'plain.ipynb'), notebook([cells[0]!]));
    const execute = (name: string, ...flags: string[]) =>
      runCli(
        [
          'run',
          '--kernels',
          ...flags,
          '--',
          ...nbconvert(join(dir, name), `out-${name}`, '--allow-errors'),
        ],
        loggedIn,
      );
    const outputs = (name: string) =>
      (
        JSON.parse(readFileSync(join(dir, `out-${name}`), 'utf8')) as {
          cells: { outputs: { text?: string; ename?: string }[] }[];
        }
      ).cells.map((c) =>
        c.outputs
          .map((o) => o.text ?? o.ename ?? '')
          .join('')
          .replace(/\r/g, ''),
      );

    const run = await execute('colab.ipynb');
    expect(run.code, run.stderr).toBe(0);
    expect(outputs('colab.ipynb')).toEqual([
      `${sha256(VALUES.personal)} ${sha256(VALUES.personal)}\n`,
      '0\n',
    ]);

    const undecided = await execute('plain.ipynb');
    expect(undecided.code, undecided.stderr).toBe(0);
    const [cell] = outputs('plain.ipynb');
    expect(cell).toContain(
      'Notebook Secrets: this cell reads keys the Colab way. To serve them from your secrets, run `notebook-secrets run --kernels` with --platform-calls',
    );
    expect(cell).toContain('ModuleNotFoundError');

    // --platform-calls and --environment say the same for every notebook of the command.
    const flagged = await execute('plain.ipynb', '--platform-calls', '--environment', 'API_KEY');
    expect(flagged.code, flagged.stderr).toBe(0);
    expect(outputs('plain.ipynb')).toEqual([
      `${sha256(VALUES.personal)} ${sha256(VALUES.personal)}\n`,
    ]);
  });

  it('serves a plain python script, passes its exit code through and keeps the CLI token out of its environment', async () => {
    const dir = join(home, 'script');
    mkdirSync(dir);
    const envDump = join(dir, 'script.environ');
    const script = join(dir, 'script.py');
    writeFileSync(
      script,
      [
        'import hashlib, shutil, sys',
        'from notebook_secrets import get_secret',
        "print(hashlib.sha256(get_secret('API_KEY').encode()).hexdigest())",
        `shutil.copyfile('/proc/self/environ', ${JSON.stringify(envDump)})`,
        'sys.exit(3)',
      ].join('\n'),
    );
    // Signed in by the environment this time: that token must not reach the command.
    const run = await runCli(['run', '--kernels', '--', SYSTEM_PYTHON, script], {
      HOME: join(home, 'bob'),
      NOTEBOOK_SECRETS_CONFIG_DIR: join(home, 'bob', 'config'),
      NOTEBOOK_SECRETS_KEYRING: '0',
      NOTEBOOK_SECRETS_SERVER: team.url,
      NOTEBOOK_SECRETS_TOKEN: aliceToken,
    });
    expect(run.code, run.stderr).toBe(3);
    expect(run.stdout).toBe(`${sha256(VALUES.personal)}\n`);
    // Quiet without --verbose: nothing of its own on stderr.
    expect(run.stderr).toBe('');
    const raw = readFileSync(envDump, 'utf8');
    expect(raw).not.toContain(VALUES.personal);
    expect(raw).not.toContain(aliceToken);
    expect(environ(envDump).get('NOTEBOOK_SECRETS_SERVER')).toBe(team.url);
  });

  it('tells the command what to do when the team server refuses the sign-in', async () => {
    const script = join(home, 'refused.py');
    writeFileSync(
      script,
      [
        'from notebook_secrets import get_secret',
        'try:',
        "    get_secret('API_KEY')",
        'except Exception as e:',
        "    print(type(e).__name__, '|', e)",
      ].join('\n'),
    );
    const run = await runCli(['run', '--kernels', '--', SYSTEM_PYTHON, script], {
      HOME: join(home, 'refused'),
      NOTEBOOK_SECRETS_CONFIG_DIR: join(home, 'refused', 'config'),
      NOTEBOOK_SECRETS_KEYRING: '0',
      NOTEBOOK_SECRETS_SERVER: team.url,
      NOTEBOOK_SECRETS_TOKEN: 'nst_not-a-token',
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(
      `SecretsUnavailableError | The team server at ${team.url} no longer accepts the sign-in of \`notebook-secrets run --kernels\`. Run \`notebook-secrets login\` again, then run the command again.\n`,
    );
    expect(run.stderr).toContain('no longer accepts the sign-in');
  });

  it('with --only refuses other names with a SecretAccessError that says what to do', async () => {
    const script = join(home, 'only.py');
    writeFileSync(
      script,
      [
        'from notebook_secrets import get_secret',
        "get_secret('API_KEY')",
        'try:',
        "    get_secret('OTHER')",
        'except Exception as e:',
        "    print(type(e).__name__, '|', e)",
      ].join('\n'),
    );
    const run = await runCli(
      ['run', '--kernels', '--only', 'API_KEY', '--', SYSTEM_PYTHON, script],
      loggedIn,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(
      "SecretAccessError | `notebook-secrets run --kernels` was given --only without 'OTHER'. Add it to --only and run the command again.\n",
    );
  });

  it('refuses --scope with --kernels (exit 2) and a command that cannot start (127), cleaning up', async () => {
    const scoped = await runCli(
      ['run', '--kernels', '--scope', 'team', '--', SYSTEM_PYTHON, '-c', 'pass'],
      loggedIn,
    );
    expect(scoped.code).toBe(2);
    expect(scoped.stderr).toMatch(/--scope does not apply with --kernels/);
    // Its own temp dir, to see that the broker's folder goes.
    const tmp = join(home, 'tmp-127');
    mkdirSync(tmp);
    const missing = await runCli(['run', '--kernels', '--', join(home, 'no-such-command')], {
      ...loggedIn,
      TMPDIR: tmp,
    });
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/Could not run .*no-such-command: ENOENT/);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('tells a process that outlives the run that the run has ended and what to do', async () => {
    const dir = join(home, 'outlive');
    mkdirSync(dir);
    const go = join(dir, 'go');
    const result = join(dir, 'result');
    const ready = join(dir, 'ready');
    // Started by the command, it imports the helper at once but asks for a secret only once the
    // command (and the run) ended.
    const late = [
      'import os, time',
      'from notebook_secrets import get_secret',
      `open(${JSON.stringify(ready)}, 'w').close()`,
      `while not os.path.exists(${JSON.stringify(go)}): time.sleep(0.05)`,
      'try:',
      "    get_secret('API_KEY')",
      '    outcome = "served"',
      'except Exception as e:',
      "    outcome = type(e).__name__ + ' | ' + str(e)",
      `open(${JSON.stringify(result)} + '.tmp', 'w').write(outcome)`,
      `os.rename(${JSON.stringify(result)} + '.tmp', ${JSON.stringify(result)})`,
    ].join('\n');
    const run = await runCli(
      [
        'run',
        '--kernels',
        '--',
        SYSTEM_PYTHON,
        '-c',
        `import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', ${JSON.stringify(late)}], start_new_session=True, stdout=subprocess.DEVNULL, stderr=open(${JSON.stringify(join(dir, 'late.log'))}, 'w'))\nimport os, time\nwhile not os.path.exists(${JSON.stringify(ready)}): time.sleep(0.05)`,
      ],
      loggedIn,
    );
    expect(run.code, run.stderr).toBe(0);
    writeFileSync(go, '');
    await bounded(
      HUNG_MS,
      (async () => {
        while (!existsSync(result)) await new Promise((r) => setTimeout(r, 50));
      })(),
      'the late process to ask',
    );
    expect(readFileSync(result, 'utf8')).toBe(
      'SecretsUnavailableError | The Notebook Secrets broker of `notebook-secrets run --kernels` is not reachable: the run that started this process has ended. Start the command again under `notebook-secrets run --kernels -- CMD`.',
    );
  });

  it('forwards SIGTERM to the command, exits 128+15 and removes its folder', async () => {
    const ready = join(home, 'signal.ready');
    const child = spawn(
      process.execPath,
      [
        cli,
        'run',
        '--kernels',
        '--',
        SYSTEM_PYTHON,
        '-c',
        `import os, time\nopen(${JSON.stringify(ready)}, 'w').write(os.environ['PYTHONPATH'].split(':')[0])\ntime.sleep(600)`,
      ],
      { env: { PATH: process.env.PATH, ...loggedIn }, stdio: 'ignore' },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await bounded(
      HUNG_MS,
      (async () => {
        while (!existsSync(ready) || readFileSync(ready, 'utf8') === '') {
          await new Promise((r) => setTimeout(r, 50));
        }
      })(),
      'the command to start',
    );
    const helperDir = readFileSync(ready, 'utf8');
    expect(existsSync(join(helperDir, 'notebook_secrets.py'))).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(existsSync(helperDir)).toBe(false);
  });
});

describe.skipIf(!HAS_KEYRING)('run --kernels, not signed in: the OS keychain', () => {
  let service: SecretService | undefined;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    const user = join(home, 'local');
    env = {
      HOME: user,
      XDG_DATA_HOME: join(user, 'data'),
      NOTEBOOK_SECRETS_CONFIG_DIR: join(user, 'config'),
    };
    service = await startSecretService(env.XDG_DATA_HOME!, env, HUNG_MS);
    env.DBUS_SESSION_BUS_ADDRESS = service.address;
  });
  afterAll(() => service?.stop());

  it('serves the local secrets to a script, with no value in its environment', async () => {
    const set = await runCli(['local', 'set', 'LOCAL_KEY'], env, `${VALUES.local}\n`);
    expect(set.code, set.stderr).toBe(0);
    const envDump = join(home, 'local.environ');
    const script = join(home, 'local.py');
    writeFileSync(
      script,
      [
        'import hashlib, shutil',
        'from notebook_secrets import get_secret',
        "print(hashlib.sha256(get_secret('LOCAL_KEY').encode()).hexdigest())",
        'try:',
        "    get_secret('LOCAL_KEY', scope='team')",
        'except Exception as e:',
        "    print(type(e).__name__, '|', e)",
        `shutil.copyfile('/proc/self/environ', ${JSON.stringify(envDump)})`,
      ].join('\n'),
    );
    const run = await runCli(['run', '--kernels', '--verbose', '--', SYSTEM_PYTHON, script], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('Serving get_secret from the local secrets in the OS keychain.');
    expect(run.stdout).toBe(
      `${sha256(VALUES.local)}\nSecretNotFoundError | No secret named 'LOCAL_KEY' in the team scope. Add it with \`notebook-secrets local set LOCAL_KEY\`, then call get_secret again.\n`,
    );
    expect(readFileSync(envDump, 'utf8')).not.toContain(VALUES.local);
  });

  it('without a Secret Service says what to install and runs nothing', async () => {
    const marker = join(home, 'ran');
    const run = await runCli(
      ['run', '--kernels', '--', SYSTEM_PYTHON, '-c', `open(${JSON.stringify(marker)}, 'w')`],
      { ...env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' },
    );
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(
      /^notebook-secrets: Not signed in to a team server, and no OS keychain is available for local secrets/,
    );
    expect(existsSync(marker)).toBe(false);
  });
});
