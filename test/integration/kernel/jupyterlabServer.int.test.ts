/**
 * The JupyterLab server extension on a real Jupyter server, its bridge the bundled CLI, signed in
 * to a real team server: its routes need Jupyter's token; it forwards the panel's requests and
 * refuses what is not one; a kernel's get_secret waits for the consent answer given through the
 * API, "always" is listed under grants and revoked there; the bridge is restarted when it dies;
 * and the value reaches neither the Jupyter server's log nor an answer other than reveal.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addTeam, addUser, buildCli, startServer, type RunningServer } from '../sync/harness';
import { canary } from './fixtures';
import {
  eventually,
  runCell,
  startJupyterServer,
  startKernel,
  type JupyterServer,
} from './harness';

const EXTENSION = join(__dirname, '..', '..', '..', 'jupyterlab');

/** The parts of an answer the tests read. */
interface PanelAnswer {
  error?: { code: string; message: string };
  store?: { kind: string; message?: string; user?: string };
  secret?: { id: string };
  grants?: { notebook: string; name: string }[];
  [key: string]: unknown;
}

let team: RunningServer;
let jupyter: JupyterServer;
let token: string;

async function api(op: string, body: unknown = {}, auth = true) {
  const res = await fetch(`${jupyter.baseUrl}notebook-secrets/api/${op}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      ...(auth && { Authorization: `token ${jupyter.token}` }),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as PanelAnswer };
}

async function events(after = 0) {
  const res = await fetch(`${jupyter.baseUrl}notebook-secrets/events?after=${after}`, {
    headers: { Authorization: `token ${jupyter.token}` },
  });
  return (await res.json()) as {
    seq: number;
    questions: { id: string; name: string; label: string }[];
  };
}

/** The pid of the bridge: the Jupyter server's child running `jupyterlab-bridge`. */
function bridgePid(serverPid: number): number | undefined {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (ppid === serverPid && cmd.includes('jupyterlab-bridge')) return Number(pid);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

beforeAll(async () => {
  const cli = await buildCli();
  team = await startServer();
  await addTeam(team, 'data');
  token = await addUser(team, 'ana', ['data']);
  const home = mkdtempSync(join(tmpdir(), 'nbsec-lab-server-'));
  jupyter = await startJupyterServer({
    args: ['--ServerApp.jpserver_extensions={"notebook_secrets_jupyterlab": True}'],
    env: {
      PYTHONPATH: EXTENSION,
      NOTEBOOK_SECRETS_CLI: `${process.execPath} ${cli}`,
      NOTEBOOK_SECRETS_CONFIG_DIR: join(home, 'config'),
      NOTEBOOK_SECRETS_KEYRING: '0',
      XDG_CACHE_HOME: join(home, 'cache'),
    },
  });
}, 180_000);

afterAll(async () => {
  await jupyter?.stop();
  await team?.dispose();
});

describe('the JupyterLab server extension', () => {
  it("needs Jupyter's token and forwards only the panel's requests", async () => {
    expect((await api('state', {}, false)).status).toBe(403);
    expect((await api('nonsense')).status).toBe(404);
    const bad = await api('state', 'not json');
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'invalid_input' } } });
    const unknownField = await eventually('the bridge', async () => {
      const r = await api('state', { extra: 1 });
      return r.status === 503 ? undefined : r;
    });
    expect(unknownField.status).toBe(400);
    const state = await api('state');
    expect(state.body.store).toMatchObject({ kind: 'unavailable' });
    expect(state.body.store?.message).toContain('Not signed in to a team server');
  });

  it('serves a kernel after consent through the API, lists and revokes the grant', async () => {
    expect((await api('signin', { server: team.url, token })).status).toBe(200);
    expect((await api('state')).body.store).toMatchObject({ kind: 'server', user: 'ana' });
    const value = canary('lab-server');
    const created = await api('create', { name: 'LAB_KEY', value, type: 'token' });
    expect(created.status).toBe(200);
    expect(JSON.stringify(created.body)).not.toContain(value);
    expect((await api('create', { name: 'LAB_KEY', value })).status).toBe(409);

    const kernel = await startKernel(jupyter);
    try {
      expect((await api('kernel', { kernelId: kernel.id })).body).toEqual({ ready: true });
      const cell = runCell(
        kernel,
        "from notebook_secrets import get_secret\nprint(len(get_secret('LAB_KEY')))",
      );
      const question = await eventually('the question', async () => (await events()).questions[0]);
      expect(question.name).toBe('LAB_KEY');
      await api('consent', { question: question.id, choice: 'always' });
      expect((await cell).stdout.trim()).toBe(String(value.length));

      const grants = (await api('grants')).body.grants ?? [];
      expect(grants).toHaveLength(1);
      await api('revoke', { grants, forgetSessions: true });
      expect((await api('grants')).body.grants).toEqual([]);
      const again = runCell(kernel, "print(len(get_secret('LAB_KEY')))");
      const asked = await eventually('a new question', async () => (await events()).questions[0]);
      await api('consent', { question: asked.id, choice: 'deny' });
      expect((await again).error?.ename).toBe('SecretAccessError');
    } finally {
      await kernel.shutdown().catch(() => undefined);
    }
    const revealed = (await api('reveal', { id: created.body.secret?.id })).body;
    expect(revealed).toEqual({ value, encoding: 'text' });
    expect(jupyter.log()).not.toContain(value);
    expect(team.output()).not.toContain(value);
  });

  it('restarts the bridge when it dies', async () => {
    const serverPid = jupyter.pid;
    const first = await eventually('the bridge process', async () => bridgePid(serverPid));
    process.kill(first, 'SIGKILL');
    const second = await eventually('a new bridge', async () => {
      const pid = bridgePid(serverPid);
      return pid !== undefined && pid !== first ? pid : undefined;
    });
    expect(second).not.toBe(first);
    const state = await eventually('the state again', async () => {
      const r = await api('state');
      return r.status === 200 ? r : undefined;
    });
    expect(state.body.store).toMatchObject({ kind: 'server' });
  });
});
