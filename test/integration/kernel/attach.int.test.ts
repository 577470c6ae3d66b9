/** `notebook-secrets attach`: a real Jupyter server, kernels started before and after attaching. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentsManager, SessionManager } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JupyterAttachment } from '../../../src/broker/jupyterAttachment';
import { attach } from '../../../src/cli/commands/attach';
import { canary, RecordingLog, sha256 } from './fixtures';
import { runCell, startJupyterServer, startKernel, type JupyterServer } from './harness';

const VALUE = canary('attach');
const ENV_VALUE = canary('env');
let server: JupyterServer;
let attachment: JupyterAttachment | undefined;
const log = new RecordingLog();

beforeAll(async () => {
  server = await startJupyterServer();
});
afterAll(async () => {
  attachment?.dispose();
  await server?.stop();
});

describe('notebook-secrets attach', () => {
  it('serves a secrets file to kernels running before and started after it attached', async () => {
    const before = await startKernel(server);
    const dir = mkdtempSync(join(tmpdir(), 'nbsec-attach-'));
    const file = join(dir, 'secrets.json');
    writeFileSync(file, JSON.stringify({ API_KEY: VALUE }), { mode: 0o600 });
    attachment = await attach({ jupyter: server.baseUrl, token: server.token, secrets: file }, log);
    expect(log.lines.join('\n')).toContain('Serving 1 secret(s): API_KEY.');
    await attachment.whenInjected(before.id);
    const after = await startKernel(server);
    await attachment.whenInjected(after.id);
    for (const kernel of [before, after]) {
      const r = await runCell(
        kernel,
        "import hashlib\nprint(hashlib.sha256(get_secret('API_KEY').encode()).hexdigest())\ntry:\n  get_secret('OTHER')\nexcept KeyError as e:\n  print(e)",
      );
      // Worded for attach's user: what to edit and what to run, not a VS Code view.
      expect(r.stdout.trim().split('\n')).toEqual([
        sha256(VALUE),
        `No secret named 'OTHER'. Add it to ${file}, restart \`notebook-secrets attach\` and call get_secret again.`,
      ]);
    }
    expect(log.lines.join('\n')).not.toContain(VALUE);
    expect(server.log()).not.toContain(VALUE);
  });

  it('serves environment variables with a prefix', async () => {
    attachment?.dispose();
    process.env.NBSTEST_DB_PASSWORD = ENV_VALUE;
    try {
      const kernel = await startKernel(server);
      attachment = await attach(
        { jupyter: server.baseUrl, token: server.token, fromEnv: 'NBSTEST_', kernel: [kernel.id] },
        log,
      );
      await attachment.whenInjected(kernel.id);
      expect(attachment.kernelIds).toEqual([kernel.id]);
      const r = await runCell(
        kernel,
        "print(len(get_secret('DB_PASSWORD')))\ntry:\n  get_secret('OTHER')\nexcept KeyError as e:\n  print(e)",
      );
      expect(r.stdout.trim().split('\n')).toEqual([
        String(ENV_VALUE.length),
        "No secret named 'OTHER'. Set NBSTEST_OTHER in the environment of `notebook-secrets attach`, restart it and call get_secret again.",
      ]);
    } finally {
      delete process.env.NBSTEST_DB_PASSWORD;
    }
  });

  it("redacts served values from the kernels' outputs unless --no-redact-outputs", async () => {
    attachment?.dispose();
    const dir = mkdtempSync(join(tmpdir(), 'nbsec-attach-redact-'));
    const file = join(dir, 'secrets.json');
    writeFileSync(file, JSON.stringify({ API_KEY: VALUE }), { mode: 0o600 });
    const print = "key = get_secret('API_KEY')\nprint(f'key={key}')";
    const redacted = await startKernel(server);
    attachment = await attach(
      { jupyter: server.baseUrl, token: server.token, secrets: file, kernel: [redacted.id] },
      log,
    );
    await attachment.whenInjected(redacted.id);
    expect((await runCell(redacted, print)).stdout).toBe('key=[secret API_KEY]\n');
    attachment.dispose();

    const plain = await startKernel(server);
    attachment = await attach(
      {
        jupyter: server.baseUrl,
        token: server.token,
        secrets: file,
        kernel: [plain.id],
        redactOutputs: false,
      },
      log,
    );
    await attachment.whenInjected(plain.id);
    expect((await runCell(plain, print)).stdout).toBe(`key=${VALUE}\n`);
    expect(log.lines.join('\n')).not.toContain(VALUE);
  });

  it("serves a Colab notebook unchanged and its environment, as its metadata or attach's flags say", async () => {
    attachment?.dispose();
    const dir = mkdtempSync(join(tmpdir(), 'nbsec-attach-colab-'));
    const file = join(dir, 'secrets.json');
    writeFileSync(file, JSON.stringify({ API_KEY: VALUE }), { mode: 0o600 });
    // A notebook on the server, whose metadata asks for both; its kernel runs in a session.
    const contents = new ContentsManager({ serverSettings: server.settings });
    await contents.save('colab.ipynb', {
      type: 'notebook',
      format: 'json',
      content: {
        cells: [],
        metadata: { notebook_secrets: { serve_platform_calls: true, environment: ['API_KEY'] } },
        nbformat: 4,
        nbformat_minor: 5,
      },
    });
    const sessions = new SessionManager({
      serverSettings: server.settings,
      kernelManager: server.kernels,
    });
    const session = await sessions.startNew({
      path: 'colab.ipynb',
      type: 'notebook',
      name: 'colab.ipynb',
      kernel: { name: 'python3' },
    });
    const withMetadata = session.kernel!;
    const plain = await startKernel(server);
    const cell =
      "from google.colab import userdata\nimport hashlib, os\nprint(hashlib.sha256(userdata.get('API_KEY').encode()).hexdigest(), hashlib.sha256(os.environ.get('API_KEY', '').encode()).hexdigest())";
    const both = `${sha256(VALUE)} ${sha256(VALUE)}`;

    attachment = await attach({ jupyter: server.baseUrl, token: server.token, secrets: file }, log);
    await attachment.whenInjected(withMetadata.id);
    await attachment.whenInjected(plain.id);
    expect((await runCell(withMetadata, cell)).stdout.trim()).toBe(both);
    const undecided = await runCell(plain, cell);
    expect(undecided.error?.ename).toBe('ModuleNotFoundError');
    expect(undecided.stderr).toContain(
      'this cell reads keys the Colab way. To serve them from your secrets, run `notebook-secrets attach` with --platform-calls',
    );

    attachment.dispose();
    const flagged = await startKernel(server);
    attachment = await attach(
      {
        jupyter: server.baseUrl,
        token: server.token,
        secrets: file,
        kernel: [flagged.id],
        platformCalls: true,
        environment: ['API_KEY'],
      },
      log,
    );
    await attachment.whenInjected(flagged.id);
    expect((await runCell(flagged, cell)).stdout.trim()).toBe(both);
    expect(log.lines.join('\n')).not.toContain(VALUE);
    await session.shutdown();
    sessions.dispose();
  });

  it('says what is wrong with a bad token, URL or missing store', async () => {
    await expect(
      attach({ jupyter: server.baseUrl, token: 'wrong', fromEnv: 'X_' }, log),
    ).rejects.toThrow(/Could not connect to the Jupyter server .*Check the URL and the token/);
    await expect(attach({ jupyter: 'not a url', fromEnv: 'X_' }, log)).rejects.toThrow(
      /--jupyter must be a URL/,
    );
    // Not signed in and no OS keychain: says so, what to install, and the plaintext options.
    const saved = { ...process.env };
    process.env.NOTEBOOK_SECRETS_CONFIG_DIR = mkdtempSync(join(tmpdir(), 'nbsec-attach-cfg-'));
    process.env.NOTEBOOK_SECRETS_KEYRING = '0';
    delete process.env.NOTEBOOK_SECRETS_SERVER;
    delete process.env.NOTEBOOK_SECRETS_TOKEN;
    try {
      await expect(attach({ jupyter: server.baseUrl, token: server.token }, log)).rejects.toThrow(
        /Not signed in to a team server, and no OS keychain is available .*install gnome-keyring.*--secrets FILE \(JSON or \.env\) or --from-env PREFIX/,
      );
    } finally {
      process.env = saved;
    }
  });
});
