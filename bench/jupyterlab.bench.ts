/**
 * get_secret through JupyterLab's in-band path, next to `notebook-secrets attach` in the same run:
 * the same secret in the same OS keychain (gnome-keyring in a D-Bus session of the bench's own),
 * read from a real ipykernel over the in-band transport. One Jupyter server runs the Notebook
 * Secrets server extension, whose bridge (the built CLI) serves its kernels after "Always for This
 * Notebook" was answered through the panel's API; a second, plain one is served by attach with
 * `--allow BENCH`. Prints p50, p99 and calls/s of each and the ratios JupyterLab/attach.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSecretService } from '../scripts/secretService.mjs';
import {
  eventually,
  runCell,
  startJupyterServer,
  startKernel,
  type JupyterServer,
} from '../test/integration/kernel/harness';
import { bundleCli } from './cliBundle';
import { BENCH_VALUE, formatCalls, measure, runBench } from './common';

const N = 400;
/** The server extension's package (npm run bench runs from the repo's root). */
const SERVER_EXTENSION_PATH = join(process.cwd(), 'jupyterlab');

/** Calls the panel's API of a Jupyter server with the server extension, as the panel does. */
async function panel(server: JupyterServer, op: string, body: object = {}): Promise<unknown> {
  const res = await fetch(`${server.baseUrl}notebook-secrets/api/${op}`, {
    method: 'POST',
    headers: { Authorization: `token ${server.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const data: unknown = await res.json();
  if (!res.ok) throw new Error(`${op}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'ns-bench-lab-'));
  const keyring = await startSecretService(join(scratch, 'keyring'), process.env);
  const cli = await bundleCli('bench-jupyterlab-cli');
  const env = {
    NOTEBOOK_SECRETS_CONFIG_DIR: join(scratch, 'config'),
    DBUS_SESSION_BUS_ADDRESS: keyring.address,
    XDG_CACHE_HOME: scratch,
  };
  let attach: ChildProcess | undefined;
  const servers: JupyterServer[] = [];
  try {
    const [lab, plain] = await Promise.all([
      startJupyterServer({
        args: ['--ServerApp.jpserver_extensions={"notebook_secrets_jupyterlab": True}'],
        env: {
          ...env,
          PYTHONPATH: SERVER_EXTENSION_PATH,
          NOTEBOOK_SECRETS_CLI: `${process.execPath} ${cli}`,
        },
      }),
      startJupyterServer(),
    ]);
    servers.push(lab, plain);
    // The secret, created through the panel's API into the OS keychain.
    await eventually('the bridge', () =>
      panel(lab, 'create', { name: 'BENCH', value: BENCH_VALUE, type: 'token' }),
    );

    const [labKernel, attachKernel] = await Promise.all([startKernel(lab), startKernel(plain)]);
    await eventually('get_secret in the JupyterLab kernel', async () => {
      const { ready } = (await panel(lab, 'kernel', { kernelId: labKernel.id })) as {
        ready: boolean;
      };
      return ready || undefined;
    });
    // The first call asks; the answer "always" comes through the panel's API.
    const first = runCell(
      labKernel,
      "from notebook_secrets import get_secret\nget_secret('BENCH')",
    );
    const question = await eventually('the consent question', async () => {
      const res = await fetch(`${lab.baseUrl}notebook-secrets/events?after=0`, {
        headers: { Authorization: `token ${lab.token}` },
      });
      const events = (await res.json()) as { questions: { id: string }[] };
      return events.questions[0];
    });
    await panel(lab, 'consent', { question: question.id, choice: 'always' });
    const answered = await first;
    if (answered.error) throw new Error(`${answered.error.ename}: ${answered.error.evalue}`);

    attach = spawn(
      process.execPath,
      [cli, 'attach', '--jupyter', plain.baseUrl, '--allow', 'BENCH'],
      {
        env: { ...process.env, ...env, JUPYTER_TOKEN: plain.token },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let attachLog = '';
    attach.stderr!.on('data', (d: Buffer) => (attachLog += d.toString()));
    await eventually('attach', async () =>
      /get_secret enabled in kernel/.test(attachLog) ? true : undefined,
    );

    const call = "lambda: get_secret('BENCH')";
    const setup = 'from notebook_secrets import get_secret';
    const viaAttach = await measure(attachKernel, setup, call, N);
    const viaLab = await measure(labKernel, setup, call, N);
    const viaAttach2 = await measure(attachKernel, setup, call, N);
    // The better of two attach runs, so a slow first run does not flatter JupyterLab's ratio.
    const base = viaAttach2.p50 < viaAttach.p50 ? viaAttach2 : viaAttach;

    console.log(`get_secret in band from the OS keychain (${N} sequential calls each)`);
    console.log(`  notebook-secrets attach --allow        ${formatCalls(base)}`);
    console.log(`  JupyterLab (server extension, bridge)  ${formatCalls(viaLab)}`);
    console.log(
      `  ratio JupyterLab/attach: p50 ${(viaLab.p50 / base.p50).toFixed(2)}, p99 ${(viaLab.p99 / base.p99).toFixed(2)}   (target ≤ 1.2: the same path)`,
    );
  } finally {
    attach?.kill('SIGTERM');
    await Promise.all(servers.map((s) => s.stop()));
    keyring.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

runBench(main);
