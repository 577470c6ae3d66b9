/**
 * Notebooks written for Colab, Kaggle, Databricks, SingleStore and Hopsworks, run without edits in
 * real ipykernel kernels with the helper injected and the notebook's choice to have their calls
 * served; the same notebooks ported to get_secret give the same values; `import google.colab`
 * still fails for a library that probes it; names the notebook lists for its environment reach
 * os.environ after one consent, stay out of `!` commands unless asked, and leave on revocation.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kernel } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JupyterAttachment } from '../../../src/broker/jupyterAttachment';
import { portableReads, portEdits } from '../../../src/core/portToGetSecret';
import type { CellSource } from '../../../src/core/secretReads';
import {
  brokerInjection,
  canary,
  inject,
  sha256,
  startKernelRig,
  type KernelRig,
} from './fixtures';
import { startKernel } from './harness';

const VALUE = canary('platform');
const ENV_VALUE = canary('environ');
let rig: KernelRig;
/** Stands for the user's own installed hopsworks package: what our rewrite must leave alone. */
let packages: string;

beforeAll(async () => {
  rig = await startKernelRig();
  rig.fx.source.set('API_KEY', VALUE);
  rig.fx.source.set('OPENAI_API_KEY', ENV_VALUE);
  packages = mkdtempSync(join(tmpdir(), 'nbsec-packages-'));
  writeFileSync(
    join(packages, 'hopsworks.py'),
    [
      'class Project:',
      '    def get_secrets_api(self):',
      "        raise RuntimeError('the real secrets API would call a Hopsworks cluster')",
      'def login():',
      '    return Project()',
      'def get_secrets_api():',
      '    return Project().get_secrets_api()',
      '',
    ].join('\n'),
  );
  // What libraries do to find out whether they run in Colab (huggingface_hub, tqdm and plotting
  // back-ends test one or more of these).
  writeFileSync(
    join(packages, 'probe_colab.py'),
    [
      'import importlib.util, sys',
      'try:',
      '    import google.colab',
      '    imported = True',
      'except ImportError:',
      '    imported = False',
      'found = importlib.util.find_spec("google") is not None and importlib.util.find_spec("google.colab") is not None',
      'in_modules = "google.colab" in sys.modules or "google.colab" in str(sys.modules)',
      'from IPython import get_ipython',
      'shell = get_ipython()',
      'in_shell = "google.colab" in str(shell) or type(shell).__name__ == "Shell"',
      'IN_COLAB = imported or found or in_modules or in_shell',
      '',
    ].join('\n'),
  );
  // A client library that reads its key from the environment when it is built, as OpenAI(),
  // anthropic.Anthropic() and boto3 do.
  writeFileSync(
    join(packages, 'env_client.py'),
    [
      'import os',
      'class Client:',
      '    def __init__(self):',
      "        self.api_key = os.environ.get('OPENAI_API_KEY')",
      '        if self.api_key is None:',
      "            raise RuntimeError('The api_key client option must be set')",
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await rig?.stop();
  if (packages) rmSync(packages, { recursive: true, force: true });
});

/** Prints what the cell read, as its SHA-256, so no value is printed. */
const SHOW = 'import hashlib\nprint(hashlib.sha256(str(key).encode()).hexdigest())';

/** Each platform's way, as its docs write it; every notebook ends with `key` holding the value. */
const NOTEBOOKS: Record<string, string[]> = {
  colab: ['from google.colab import userdata', "key = userdata.get('API_KEY')", SHOW],
  kaggle: [
    'from kaggle_secrets import UserSecretsClient\nuser_secrets = UserSecretsClient()',
    "key = user_secrets.get_secret('API_KEY')",
    SHOW,
  ],
  databricks: ["key = dbutils.secrets.get(scope='prod', key='API_KEY')", SHOW],
  'databricks bytes': ["key = dbutils.secrets.getBytes('prod', 'API_KEY').decode()", SHOW],
  singlestore: [
    "from singlestoredb.management import get_secret\nkey = get_secret('API_KEY')",
    SHOW,
  ],
  hopsworks: [
    'import hopsworks\nproject = hopsworks.login()\nsecrets_api = project.get_secrets_api()',
    "key = secrets_api.get_secret('API_KEY').value",
    SHOW,
    "key = hopsworks.login().get_secrets_api().get('API_KEY')",
    SHOW,
  ],
};

async function kernelFor(
  notebook: string,
  serve: boolean | undefined,
): Promise<Kernel.IKernelConnection> {
  if (serve !== undefined)
    rig.fx.choices.set(notebook, { servePlatformCalls: serve, environment: [] });
  const { kernel } = await rig.startInjected('python3', notebook);
  // The user's environment has hopsworks installed (a stand-in module; never altered by us).
  await rig.cell(kernel, `import sys\nsys.path.insert(0, ${JSON.stringify(packages)})`);
  return kernel;
}

async function run(kernel: Kernel.IKernelConnection, cells: string[]): Promise<string[]> {
  const printed: string[] = [];
  for (const code of cells) {
    const result = await rig.cell(kernel, code);
    expect(result.error, code).toBeUndefined();
    if (result.stdout) printed.push(result.stdout.trim());
  }
  return printed;
}

describe("other platforms' secret calls, served unchanged", () => {
  let served: Kernel.IKernelConnection;
  let ported: Kernel.IKernelConnection;

  beforeAll(async () => {
    served = await kernelFor('served.ipynb', true);
    ported = await kernelFor('ported.ipynb', false);
  });

  for (const [form, cells] of Object.entries(NOTEBOOKS)) {
    it(`${form}: runs without edits, and ported to get_secret gives the same value`, async () => {
      const prompts = rig.fx.prompts.length;
      const original = await run(served, cells);
      expect(original.length).toBeGreaterThan(0);
      for (const line of original) expect(line).toBe(sha256(VALUE));

      const sources: CellSource[] = cells.map((source) => ({ source, language: 'python' }));
      const edits = portEdits(sources, portableReads(sources));
      const rewritten = sources.map((cell, i) =>
        edits
          .filter((e) => e.cell === i)
          .reduce((text, e) => text.slice(0, e.start) + e.text + text.slice(e.end), cell.source),
      );
      expect(rewritten.join('\n')).not.toMatch(
        /userdata|UserSecretsClient|dbutils|singlestoredb|get_secrets_api/,
      );
      expect(await run(ported, rewritten)).toEqual(original);
      // Consent was asked once per notebook for the name, then remembered ("Always").
      expect(rig.fx.prompts.slice(prompts).every((p) => p.endsWith(' API_KEY'))).toBe(true);
    });
  }

  it('asked for consent like get_secret, and redacts the value in outputs', async () => {
    expect(rig.fx.prompts).toContain('served.ipynb API_KEY');
    const printed = await rig.cell(served, "print('key:', userdata.get('API_KEY'))");
    expect(printed.stdout).toBe('key: [secret API_KEY]\n');
  });

  it('leaves google.colab unimportable for a library that probes it', async () => {
    await run(served, ['from google.colab import userdata', "userdata.get('API_KEY')"]);
    const probe = await rig.cell(served, 'import probe_colab\nprint(probe_colab.IN_COLAB)');
    expect(probe.error).toBeUndefined();
    expect(probe.stdout.trim()).toBe('False');
    const direct = await rig.cell(served, 'import google.colab');
    expect(direct.error?.ename).toBe('ModuleNotFoundError');
    const other = await rig.cell(served, 'from google.colab import drive, userdata');
    expect(other.error?.ename).toBe('ModuleNotFoundError');
    // Other platforms' own markers are not set either.
    const markers = await rig.cell(
      served,
      "import os, sys\nprint(any(k in os.environ for k in ('KAGGLE_KERNEL_RUN_TYPE', 'DATABRICKS_RUNTIME_VERSION', 'COLAB_RELEASE_TAG')), 'kaggle_secrets' in sys.modules, 'dbutils' in dir())",
    );
    expect(markers.stdout.trim()).toBe('False False False');
  });

  it('asks an undecided notebook once, and runs it as without Notebook Secrets after "No"', async () => {
    const yes = await kernelFor('ask.ipynb', undefined);
    rig.fx.serveAnswer.value = true;
    expect(await run(yes, NOTEBOOKS.colab!)).toEqual([sha256(VALUE)]);
    expect(await run(yes, NOTEBOOKS.kaggle!)).toEqual([sha256(VALUE)]);
    expect(rig.fx.serveQuestions.filter((q) => q.startsWith('ask.ipynb'))).toEqual([
      'ask.ipynb colab',
    ]);

    const no = await kernelFor('no.ipynb', undefined);
    rig.fx.serveAnswer.value = false;
    const first = await rig.cell(no, NOTEBOOKS.colab![0]!);
    expect(first.error?.ename).toBe('ModuleNotFoundError');
    const databricks = await rig.cell(no, NOTEBOOKS.databricks![0]!);
    expect(databricks.error).toEqual({
      ename: 'NameError',
      evalue: "name 'dbutils' is not defined",
    });
    expect(rig.fx.serveQuestions.filter((q) => q.startsWith('no.ipynb'))).toEqual([
      'no.ipynb colab',
    ]);
  });
});

describe("the notebook's environment", () => {
  const HAS = "import os\nprint('OPENAI_API_KEY' in os.environ)";

  it('is set before the first cell after one consent, redacted, and kept from ! commands', async () => {
    rig.fx.choices.set('env.ipynb', { environment: ['OPENAI_API_KEY', 'MISSING_TOKEN'] });
    const { kernel } = await rig.startInjected('python3', 'env.ipynb');
    const first = await rig.cell(
      kernel,
      "import os, hashlib\nprint(hashlib.sha256(os.environ['OPENAI_API_KEY'].encode()).hexdigest())",
    );
    expect(first.stdout.trim()).toBe(sha256(ENV_VALUE));
    expect(first.stderr).toMatch(
      /MISSING_TOKEN is not in this kernel's environment: No secret named 'MISSING_TOKEN'/,
    );
    expect(rig.fx.prompts).toContain('env.ipynb OPENAI_API_KEY,MISSING_TOKEN');

    // A library that reads the environment itself (OpenAI(), boto3) sees the value.
    const library = await rig.cell(
      kernel,
      `import sys\nsys.path.insert(0, ${JSON.stringify(packages)})\nfrom env_client import Client\nprint(len(Client().api_key))`,
    );
    expect(library.stdout.trim()).toBe(String(ENV_VALUE.length));
    expect((await rig.cell(kernel, "print(os.environ['OPENAI_API_KEY'])")).stdout).toBe(
      '[secret OPENAI_API_KEY]\n',
    );

    // `!` commands do not inherit it, unless asked; a subprocess of the cell's own code does.
    const shell = await rig.cell(kernel, '!env | grep -c "^OPENAI_API_KEY=" || true');
    expect(shell.stdout.trim()).toBe('0');
    const sx = await rig.cell(
      kernel,
      'out = !env\nprint(any(l.startswith("OPENAI_API_KEY=") for l in out))',
    );
    expect(sx.stdout.trim()).toBe('False');
    const sub = await rig.cell(
      kernel,
      "import subprocess\nprint('OPENAI_API_KEY=' in subprocess.run(['env'], capture_output=True, text=True).stdout)",
    );
    expect(sub.stdout.trim()).toBe('True');
    const asked = await rig.cell(
      kernel,
      'from notebook_secrets import shell_environment\nshell_environment(True)\n!echo "$OPENAI_API_KEY"',
    );
    expect(asked.stdout.replace(/\r/g, '')).toBe('[secret OPENAI_API_KEY]\n');
    expect((await rig.cell(kernel, HAS)).stdout.trim()).toBe('True');

    // Revoked: gone before the next cell runs.
    await rig.fx.consent.revoke('env.ipynb');
    expect((await rig.cell(kernel, HAS)).stdout.trim()).toBe('False');
    expect(rig.iopub.join('\n')).not.toContain(ENV_VALUE);
    expect(rig.fx.log.lines.join('\n')).not.toContain(ENV_VALUE);
    await kernel.shutdown();
  });

  it("keeps what the kernel's own environment held for a name, for ! commands and after revocation", async () => {
    rig.fx.choices.set('own.ipynb', { environment: ['OPENAI_API_KEY'] });
    // Set before the helper is in, as an environment the kernel inherited would have it.
    const started = await startKernel(rig.server);
    await rig.cell(started, "import os\nos.environ['OPENAI_API_KEY'] = 'from-the-shell'");
    const { code } = await brokerInjection(rig.fx, 'own.ipynb');
    await inject(started, code);
    // The first cell after set-up loads the environment (the one above ran before the helper).
    const first = await rig.cell(
      started,
      "print(os.environ['OPENAI_API_KEY'] == 'from-the-shell')",
    );
    expect(first.stdout.trim()).toBe('False');
    const shell = await rig.cell(started, '!echo "$OPENAI_API_KEY"');
    expect(shell.stdout.replace(/\r/g, '')).toBe('from-the-shell\n');
    await rig.fx.consent.revoke('own.ipynb');
    const after = await rig.cell(started, "print(os.environ['OPENAI_API_KEY'])");
    expect(after.stdout).toBe('from-the-shell\n');
    await started.shutdown();
  });

  it('is not set when the user denies it, and says so in the cell', async () => {
    rig.fx.choices.set('denied.ipynb', { environment: ['OPENAI_API_KEY'] });
    rig.fx.answers.set('OPENAI_API_KEY', 'deny');
    try {
      const { kernel } = await rig.startInjected('python3', 'denied.ipynb');
      const first = await rig.cell(kernel, HAS);
      expect(first.stdout.trim()).toBe('False');
      expect(first.stderr).toMatch(
        /OPENAI_API_KEY is not in this kernel's environment: Access to 'OPENAI_API_KEY' was denied/,
      );
      await kernel.shutdown();
    } finally {
      rig.fx.answers.delete('OPENAI_API_KEY');
    }
  });

  it('a notebook with no list costs nothing and prints nothing', async () => {
    const { kernel } = await rig.startInjected('python3', 'plain.ipynb');
    const first = await rig.cell(kernel, "print('hello')");
    expect(first).toMatchObject({ stdout: 'hello\n', stderr: '' });
    await kernel.shutdown();
  });
});

describe('in band (a Jupyter server added in VS Code, or notebook-secrets attach)', () => {
  it("serves a Colab notebook and the notebook's environment to a kernel it attached to", async () => {
    const kernel = await startKernel(rig.server);
    const key = `${rig.server.baseUrl}#kernel=${kernel.id}`;
    rig.fx.choices.set(key, { servePlatformCalls: true, environment: ['OPENAI_API_KEY'] });
    const attachment = new JupyterAttachment({
      ...rig.attachmentOptions(),
      kernelFilter: (m) => m.id === kernel.id,
    });
    try {
      await attachment.start();
      await attachment.whenInjected(kernel.id);
      expect(await run(kernel, NOTEBOOKS.colab!)).toEqual([sha256(VALUE)]);
      const env = await rig.cell(
        kernel,
        "import os, hashlib\nprint(hashlib.sha256(os.environ['OPENAI_API_KEY'].encode()).hexdigest())",
      );
      expect(env.stdout.trim()).toBe(sha256(ENV_VALUE));
    } finally {
      attachment.dispose();
      await kernel.shutdown();
    }
  });
});
