/**
 * `notebook-secrets attach` without a plaintext file, as a user runs it: the built CLI on a real
 * Jupyter server, serving from a real team server (signed in with `login`) or from the local store
 * in a real Secret Service (gnome-keyring in its own D-Bus session), with consent given by
 * --allow or answered on a pseudo-terminal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionAPI, type Kernel } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execCli, type CliResult } from '../sync/cliRunner';
import { ApiClient } from '../../../src/sync/client';
import { HAS_KEYRING, startSecretService, type SecretService } from '../cli/secretService';
import { filesUnder } from '../../support/filesUnder';
import { buildCliInto } from '../server/serverProcess';
import { addTeam, addUser, startServer, type RunningServer } from '../sync/harness';
import { canary, sha256 } from './fixtures';
import { runCell, startJupyterServer, startKernel, type JupyterServer } from './harness';
import { watchOutput } from './watchOutput';

const VALUES = {
  personal: canary('personal'),
  team: canary('team'),
  teamOnly: canary('team-only'),
  local: canary('local'),
};
/** Far above anything expected: a wait that has not ended by then is hung, not slow. */
const HUNG_MS = 30_000;
const QUESTION = '[d]eny? ';

let jupyter: JupyterServer;
let team: RunningServer;
let cli: string;
let home: string;
const running = new Set<AttachProcess>();

beforeAll(async () => {
  [jupyter, team, cli] = await Promise.all([
    startJupyterServer(),
    startServer(),
    buildCliInto('test-attach-cli'),
  ]);
  home = mkdtempSync(join(tmpdir(), 'nbsec-attach-sources-'));
});
afterAll(async () => {
  for (const p of running) p.child.kill('SIGKILL');
  await jupyter?.stop();
  await team?.dispose();
  rmSync(home, { recursive: true, force: true });
});

/** One CLI command with `env` (a user's config dir, no token in it) and `input` on stdin. */
function runCli(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  return execCli(cli, args, { env, timeoutMs: HUNG_MS, ...(input !== undefined && { input }) });
}

interface AttachProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves once attach has injected the helper into `kernelId` `times` times. */
  injected(kernelId: string, times?: number): Promise<void>;
  stop(): Promise<void>;
}

/** `attach --verbose` on the Jupyter server; through the pty driver when `answers` is given. */
function startAttach(
  args: string[],
  env: NodeJS.ProcessEnv,
  answers?: string[],
): Promise<AttachProcess> {
  const command = [process.execPath, cli, 'attach', '--jupyter', jupyter.baseUrl, '--verbose'];
  const child = answers
    ? spawn(
        'python3',
        [join(__dirname, 'ptyAnswer.py'), QUESTION, answers.join(','), ...command, ...args],
        {
          env: { PATH: process.env.PATH, ...env, JUPYTER_TOKEN: jupyter.token },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
    : spawn(command[0]!, [...command.slice(1), ...args], {
        env: { PATH: process.env.PATH, ...env, JUPYTER_TOKEN: jupyter.token },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  const watched = watchOutput(child, HUNG_MS, 'attach');
  const p: AttachProcess = {
    child,
    output: watched.output,
    injected: (kernelId, times) => watched.until(`get_secret enabled in kernel ${kernelId}`, times),
    async stop() {
      child.kill('SIGTERM');
      await watched.exited;
      running.delete(p);
    },
  };
  running.add(p);
  return watched.until('Press Ctrl+C to stop.').then(() => p);
}

/** A cell that prints, for each call, the value's SHA-256 or the exception's class and message. */
async function calls(kernel: Kernel.IKernelConnection, exprs: string[]): Promise<string[]> {
  const code = [
    'import hashlib',
    ...exprs.map(
      (e) =>
        `try:\n  print(hashlib.sha256(${e}.encode()).hexdigest())\nexcept Exception as e:\n  print(type(e).__name__ + ': ' + str(e))`,
    ),
  ].join('\n');
  const r = await runCell(kernel, code);
  expect(r.error).toBeUndefined();
  return r.stdout.trim().split('\n');
}

describe('attach serving from the team server', () => {
  let env: NodeJS.ProcessEnv;
  let alice: ApiClient;

  beforeAll(async () => {
    await addTeam(team, 'data');
    const token = await addUser(team, 'alice', ['data']);
    alice = new ApiClient({ baseUrl: team.url, token });
    await alice.createSecret({
      name: 'API_KEY',
      value: VALUES.team,
      scope: { kind: 'team', id: 'data' },
    });
    await alice.createSecret({ name: 'API_KEY', value: VALUES.personal });
    await alice.createSecret({
      name: 'TEAM_ONLY',
      value: VALUES.teamOnly,
      scope: { kind: 'team', id: 'data' },
    });
    env = {
      HOME: join(home, 'alice'),
      NOTEBOOK_SECRETS_CONFIG_DIR: join(home, 'alice', 'config'),
      NOTEBOOK_SECRETS_KEYRING: '0',
    };
    const login = await runCli(['login', '--server', team.url, '--token-stdin'], env, token);
    expect(login.code, login.stderr).toBe(0);
  });

  it('serves by precedence, audits each read as attach, and denies names not allowed', async () => {
    const kernel = await startKernel(jupyter);
    const attach = await startAttach(['--allow', 'API_KEY,TEAM_ONLY'], env);
    try {
      expect(attach.output()).toContain(`Serving get_secret from the team server at ${team.url}`);
      await attach.injected(kernel.id);
      const before = new Set((await alice.audit({ limit: 1000 })).entries.map((e) => e.id));
      expect(
        await calls(kernel, [
          "get_secret('API_KEY')",
          "get_secret('API_KEY', scope='team')",
          "get_secret('TEAM_ONLY')",
          "get_secret('NOT_ALLOWED')",
          "get_secret('MISSING_TOO')",
        ]),
      ).toEqual([
        sha256(VALUES.personal),
        sha256(VALUES.team),
        sha256(VALUES.teamOnly),
        "SecretAccessError: `notebook-secrets attach` has no terminal to ask on and 'NOT_ALLOWED' is not in its --allow list. To allow it, restart attach with --allow NOT_ALLOWED (or --allow-all) and call get_secret again.",
        "SecretAccessError: `notebook-secrets attach` has no terminal to ask on and 'MISSING_TOO' is not in its --allow list. To allow it, restart attach with --allow MISSING_TOO (or --allow-all) and call get_secret again.",
      ]);
      // Each allowed read is one resolve on the server, in alice's name, by attach.
      const resolves = (await alice.audit({ limit: 1000 })).entries.filter(
        (e) => !before.has(e.id) && e.action === 'resolve',
      );
      expect(resolves.map((e) => [e.secret_name, e.actor, e.client]).sort()).toEqual([
        ['API_KEY', 'alice', 'notebook-secrets-attach'],
        ['API_KEY', 'alice', 'notebook-secrets-attach'],
        ['TEAM_ONLY', 'alice', 'notebook-secrets-attach'],
      ]);
      // A name that is allowed but missing says how to add it.
      const missing = await runCell(
        kernel,
        "try:\n  get_secret('API_KEY', scope='project')\nexcept KeyError as e:\n  print(e)",
      );
      expect(missing.stdout).toContain(
        "No secret named 'API_KEY' in the project scope. Add it with `notebook-secrets set API_KEY`",
      );

      // The server down: a clear error in the cell, and no older value.
      await team.stop();
      try {
        const [offline] = await calls(kernel, ["get_secret('API_KEY')"]);
        expect(offline).toMatch(
          new RegExp(
            `^SecretsUnavailableError: Could not reach the team server at ${team.url.replace(/[.]/g, '\\.')} to read 'API_KEY' \\(.+\\)\\. No stored copy is used`,
          ),
        );
      } finally {
        await team.start();
      }
      expect(await calls(kernel, ["get_secret('API_KEY')"])).toEqual([sha256(VALUES.personal)]);
    } finally {
      await attach.stop();
      await kernel.shutdown();
    }
    for (const value of Object.values(VALUES)) {
      expect(attach.output()).not.toContain(value);
      expect(team.output()).not.toContain(value);
      expect(filesUnder(env.NOTEBOOK_SECRETS_CONFIG_DIR!)).not.toContain(value);
    }
  });

  it('names the secret first; a session path neither hides it nor drives the terminal', async () => {
    // A notebook path written to fool the reader: it hides what follows it and asks about a
    // harmless name instead (the Jupyter server hands it over as the session's path).
    const path = `report.ipynb\u001b[8m asks for 'HARMLESS' (o/a/d)\u001b[0m\u001b]0;x\u0007\u202e.ipynb`;
    const model = await SessionAPI.startSession(
      { path, name: path, type: 'notebook', kernel: { name: 'python3' } },
      jupyter.settings,
    );
    const kernel = jupyter.kernels.connectTo({ model: model.kernel!, handleComms: false });
    const attach = await startAttach([], env, ['d']);
    try {
      await attach.injected(kernel.id);
      expect(await calls(kernel, ["get_secret('API_KEY')"])).toEqual([
        "SecretAccessError: Access to 'API_KEY' was denied on the terminal of `notebook-secrets attach`. To allow it, restart the kernel and answer [o]nce or [a]lways, or run attach with --allow API_KEY; then call get_secret again.",
      ]);
      const port = new URL(jupyter.baseUrl).port;
      expect(attach.output()).toContain(
        `Secret requested: API_KEY\r\n  asked by: report.ipynb asks for 'HARMLESS' (o/a/d)?.ipynb on 127.0.0.1:${port}\r\nAllow [o]nce`,
      );
      // Nothing the server sent reaches the terminal as a control: no ESC, no bidi override.
      const controls =
        // eslint-disable-next-line no-control-regex -- control characters are what it looks for
        /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/;
      expect(attach.output().replace(/\r\n/g, '\n')).not.toMatch(controls);
    } finally {
      await attach.stop();
      await kernel.shutdown();
    }
  });

  it('asks on its terminal: once (until a restart), always, deny', async () => {
    const kernel = await startKernel(jupyter);
    const attach = await startAttach([], env, ['o', 'a', 'd', 'd']);
    try {
      expect(attach.output()).toContain('Other names are asked for here.');
      await attach.injected(kernel.id);
      const denied = (name: string) =>
        `SecretAccessError: Access to '${name}' was denied on the terminal of \`notebook-secrets attach\`. To allow it, restart the kernel and answer [o]nce or [a]lways, or run attach with --allow ${name}; then call get_secret again.`;
      const cell = [
        "get_secret('API_KEY')",
        "get_secret('TEAM_ONLY')",
        "get_secret('API_KEY', scope='team')",
        "get_secret('NOT_ALLOWED')",
      ];
      const answers = [
        sha256(VALUES.personal),
        sha256(VALUES.teamOnly),
        sha256(VALUES.team),
        denied('NOT_ALLOWED'),
      ];
      expect(await calls(kernel, cell)).toEqual(answers);
      // One question per name: the same cell again asks nothing.
      expect(await calls(kernel, cell)).toEqual(answers);
      expect(attach.output().split(QUESTION).length - 1).toBe(3);
      expect(attach.output()).toContain(
        `Secret requested: API_KEY\r\n  asked by: kernel ${kernel.id.slice(0, 8)} on 127.0.0.1:${new URL(jupyter.baseUrl).port}\r\nAllow [o]nce, [a]lways for this kernel, or [d]eny? `,
      );
      // After a restart "once" and "deny" ask again (answered d), "always" does not.
      await kernel.restart();
      await attach.injected(kernel.id, 2);
      expect(await calls(kernel, cell.slice(0, 2))).toEqual([
        denied('API_KEY'),
        sha256(VALUES.teamOnly),
      ]);
      expect(attach.output().split(QUESTION).length - 1).toBe(4);
    } finally {
      await attach.stop();
      await kernel.shutdown();
    }
    for (const value of Object.values(VALUES)) expect(attach.output()).not.toContain(value);
  });
});

if (!HAS_KEYRING) {
  console.warn(
    'Skipping the OS keychain tests: dbus-run-session or gnome-keyring-daemon is missing (`npm test` installs dbus and gnome-keyring, see scripts/system-packages.txt).',
  );
}

describe.skipIf(!HAS_KEYRING)('attach serving the local store in the OS keychain', () => {
  let keyring: SecretService | undefined;
  let env: NodeJS.ProcessEnv;
  let dataHome: string;

  beforeAll(async () => {
    const user = join(home, 'local');
    // The keyring daemon keeps its (encrypted) keyrings under XDG_DATA_HOME, in this temp dir.
    dataHome = join(user, 'data');
    env = {
      HOME: user,
      XDG_DATA_HOME: dataHome,
      NOTEBOOK_SECRETS_CONFIG_DIR: join(user, 'config'),
    };
    keyring = await startSecretService(dataHome, env, HUNG_MS);
    env.DBUS_SESSION_BUS_ADDRESS = keyring.address;
  });
  afterAll(() => keyring?.stop());

  it('set/list/get/delete keep the value in the keychain only, and attach serves it', async () => {
    const set = await runCli(
      // Not signed in, `set` is `local set`.
      ['set', 'LOCAL_KEY', '--description', 'for a test'],
      env,
      `${VALUES.local}\n`,
    );
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe(
      "Created local 'LOCAL_KEY' (version 1); the value is in the OS keychain.\n",
    );
    const list = await runCli(['list', '--json'], env);
    expect(JSON.parse(list.stdout)).toMatchObject([
      {
        name: 'LOCAL_KEY',
        type: 'generic',
        encoding: 'text',
        description: 'for a test',
        version: 1,
      },
    ]);
    const get = await runCli(['local', 'get', 'LOCAL_KEY'], env);
    expect(get).toMatchObject({ code: 0, stdout: VALUES.local });
    // The index beside the config is private and value-free.
    const index = join(env.NOTEBOOK_SECRETS_CONFIG_DIR!, 'local-secrets.json');
    expect(statSync(index).mode & 0o777).toBe(0o600);

    const kernel = await startKernel(jupyter);
    const attach = await startAttach(['--allow', 'LOCAL_KEY'], env);
    try {
      expect(attach.output()).toContain(
        'Serving get_secret from the local secrets in the OS keychain.',
      );
      await attach.injected(kernel.id);
      expect(
        await calls(kernel, ["get_secret('LOCAL_KEY')", "get_secret('LOCAL_KEY', scope='team')"]),
      ).toEqual([
        sha256(VALUES.local),
        "SecretNotFoundError: No secret named 'LOCAL_KEY' in the team scope. Add it with `notebook-secrets local set LOCAL_KEY`, then call get_secret again.",
      ]);
      // Not in attach's environment, its output, or any file under the config directory; nor
      // in plaintext in the keyring's own files.
      const environ = readFileSync(`/proc/${attach.child.pid}/environ`, 'latin1');
      expect(environ).not.toContain(VALUES.local);
      expect(attach.output()).not.toContain(VALUES.local);
      expect(filesUnder(env.NOTEBOOK_SECRETS_CONFIG_DIR!)).not.toContain(VALUES.local);
      expect(filesUnder(dataHome)).not.toContain(VALUES.local);
    } finally {
      await attach.stop();
      await kernel.shutdown();
    }

    const del = await runCli(['delete', 'LOCAL_KEY', '--yes'], env);
    expect(del).toMatchObject({ code: 0, stdout: "Deleted local 'LOCAL_KEY'.\n" });
    expect(await runCli(['local', 'get', 'LOCAL_KEY'], env)).toMatchObject({
      code: 4,
      stderr: "notebook-secrets: No local secret named 'LOCAL_KEY'.\n",
    });
  });

  it('without a Secret Service says what to install and writes nothing', async () => {
    const noBus = {
      ...env,
      DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus',
      NOTEBOOK_SECRETS_CONFIG_DIR: join(home, 'no-keychain'),
    };
    const r = await runCli(['local', 'set', 'OTHER'], noBus, `${VALUES.local}\n`);
    expect(r.code).toBe(7);
    // `set` without a sign-in: not signed in comes first, then the keychain.
    const routed = await runCli(['set', 'OTHER'], noBus, `${VALUES.local}\n`);
    expect(routed.code).toBe(3);
    expect(routed.stderr).toMatch(
      /^notebook-secrets: Not signed in to a team server \(run `notebook-secrets login --server URL`\), and no OS keychain is available for local secrets/,
    );
    expect(r.stderr).toContain('No OS keychain is available for local secrets');
    expect(r.stderr).toContain('install gnome-keyring');
    expect(r.stderr).toContain('Values are never kept in a plaintext file instead.');
    expect(r.stderr).not.toContain(VALUES.local);
    const attach = await runCli(['attach', '--jupyter', jupyter.baseUrl], noBus);
    expect(attach.code).toBe(2);
    expect(attach.stderr).toContain(
      'Not signed in to a team server, and no OS keychain is available',
    );
    expect(existsSync(noBus.NOTEBOOK_SECRETS_CONFIG_DIR)).toBe(false);
  });
});
