import { beforeEach, describe, expect, it, vi } from 'vitest';

// A small stand-in for the parts of the vscode module auto-enable touches.
const state = vi.hoisted(() => ({
  trusted: true,
  setting: undefined as boolean | undefined,
  notebooks: [] as { uri: { toString(): string }; notebookType: string; getCells(): unknown[] }[],
  listeners: new Map<string, ((e: unknown) => void)[]>(),
}));
vi.mock('vscode', () => {
  const on = (name: string) => (l: (e: unknown) => void) => {
    state.listeners.set(name, [...(state.listeners.get(name) ?? []), l]);
    return { dispose() {} };
  };
  return {
    workspace: {
      get isTrusted() {
        return state.trusted;
      },
      get notebookDocuments() {
        return state.notebooks;
      },
      getConfiguration: () => ({
        get: <T>(_key: string, fallback: T) => (state.setting ?? fallback) as T,
      }),
      onDidGrantWorkspaceTrust: on('trust'),
      onDidChangeConfiguration: on('config'),
      onDidChangeNotebookDocument: on('notebookChange'),
      asRelativePath: (uri: { path: string }) => uri.path.split('/').pop(),
    },
    Uri: {
      parse: (s: string) => ({ scheme: s.split(':')[0], path: s.replace(/^[a-z]+:\/\//, '') }),
    },
    NotebookCellKind: { Markup: 1, Code: 2 },
    extensions: { getExtension: () => undefined },
  };
});

import type { Kernel } from '@vscode/jupyter-extension';
import { AutoEnable } from '../../../../src/extension/kernels/autoEnable';
import { FakeJupyter, FakeKernel } from '../../fakes/jupyter';

const fire = (name: string, event: unknown) => state.listeners.get(name)?.forEach((l) => l(event));

const kernel = (language?: string) => new FakeKernel(language);

let enabled: Set<string>;
let calls: { uri: string; kernel: Kernel }[];
let jupyter: FakeJupyter | undefined;
let auto: AutoEnable;
const logLines: string[] = [];

/** A notebook whose one code cell is `source` (by default, one that reads a secret). */
function notebook(name: string, source = "get_secret('X')") {
  const uri = { toString: () => `file:///work/${name}` };
  const cell = { kind: 2, document: { languageId: 'python', getText: () => source } };
  return { uri, notebookType: 'jupyter-notebook', getCells: () => [cell] };
}

beforeEach(() => {
  state.trusted = true;
  state.setting = undefined;
  state.notebooks = [];
  state.listeners = new Map();
  enabled = new Set();
  calls = [];
  logLines.length = 0;
  jupyter = new FakeJupyter();
  auto = new AutoEnable({
    local: {
      enableStarted: async (nb, k) => {
        calls.push({ uri: nb.uri.toString(), kernel: k });
        if (k.language !== 'python') return false;
        enabled.add(nb.uri.toString());
        return true;
      },
      isSetUp: (uri) => enabled.has(uri.toString()),
    },
    log: {
      info: (m: string) => logLines.push(m),
      warn: (m: string) => logLines.push(m),
      debug: (m: string) => logLines.push(m),
    } as never,
    jupyter: async () => jupyter,
  });
});

function startKernel(name: string, k = kernel()) {
  return jupyter!.start(notebook(name).uri as never, k);
}

/** Gives the notebook `name` a kernel the Jupyter extension already runs. */
function running(name: string) {
  jupyter!.running.set(`file:///work/${name}`, kernel());
}

describe('get_secret on by itself', () => {
  it('sets up each kernel the Jupyter extension starts, holding user code until it is done', async () => {
    await auto.start();
    const k = kernel();
    const waited = startKernel('a.ipynb', k);
    expect(waited).toHaveLength(1);
    await waited[0];
    expect(calls).toEqual([{ uri: 'file:///work/a.ipynb', kernel: k }]);
    expect(logLines).toContain('get_secret set up by itself for a.ipynb');
  });

  it('sets up kernels already running when it starts', async () => {
    state.notebooks = [notebook('open.ipynb'), { ...notebook('x.ipynb'), notebookType: 'other' }];
    running('open.ipynb');
    running('x.ipynb');
    await auto.start();
    expect(calls.map((c) => c.uri)).toEqual(['file:///work/open.ipynb']);
  });

  it('sets up a kernel once a cell has run, where the API has no start event', async () => {
    jupyter!.startEvent = { kind: 'absent' };
    await auto.start();
    const nb = notebook('late.ipynb');
    running('late.ipynb');
    fire('notebookChange', {
      notebook: nb,
      cellChanges: [{ executionSummary: { success: true } }],
    });
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    // Enabled now: the next run does not inject again.
    fire('notebookChange', {
      notebook: nb,
      cellChanges: [{ executionSummary: { success: true } }],
    });
    await new Promise((r) => setTimeout(r, 0));
    expect(calls).toHaveLength(1);
  });

  it('logs one line and rejects nothing when reading the start event throws, as the published Jupyter extension does', async () => {
    const refusal = 'Proposed API is not supported for extension notebook-secrets.notebook-secrets';
    jupyter!.startEvent = { kind: 'refused', message: refusal };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(auto.start()).resolves.toBeUndefined();
      await auto.start();
      fire('trust', undefined);
      await new Promise((r) => setTimeout(r, 10));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    const said = logLines.filter((l) => l.includes('kernel start event'));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain(refusal);
    expect(said[0]).toContain('local Python kernels set get_secret up at its first call');
    // The pass over running kernels still happens after a cell ran.
    const nb = notebook('after.ipynb');
    running('after.ipynb');
    fire('notebookChange', {
      notebook: nb,
      cellChanges: [{ executionSummary: { success: true } }],
    });
    await vi.waitFor(() => expect(calls.map((c) => c.uri)).toEqual(['file:///work/after.ipynb']));
  });

  it('leaves a notebook that never reads a secret to itself (no kernel-access question)', async () => {
    jupyter!.startEvent = { kind: 'absent' };
    await auto.start();
    running('plain.ipynb');
    fire('notebookChange', {
      notebook: notebook('plain.ipynb', "print('hello')"),
      cellChanges: [{ executionSummary: { success: true } }],
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toHaveLength(0);
  });

  it("sets up a notebook that reads keys another platform's way, or from its environment", async () => {
    jupyter!.startEvent = { kind: 'absent' };
    await auto.start();
    running('colab.ipynb');
    running('env.ipynb');
    fire('notebookChange', {
      notebook: notebook(
        'colab.ipynb',
        "from google.colab import userdata\nuserdata.get('HF_TOKEN')",
      ),
      cellChanges: [{ executionSummary: { success: true } }],
    });
    fire('notebookChange', {
      notebook: notebook('env.ipynb', "import os\nos.environ['OPENAI_API_KEY']"),
      cellChanges: [{ executionSummary: { success: true } }],
    });
    await vi.waitFor(() =>
      expect(calls.map((c) => c.uri).sort()).toEqual([
        'file:///work/colab.ipynb',
        'file:///work/env.ipynb',
      ]),
    );
  });

  it('never runs in an untrusted workspace, and starts once trust is granted', async () => {
    state.trusted = false;
    state.notebooks = [notebook('a.ipynb')];
    running('a.ipynb');
    await auto.start();
    expect(jupyter!.startListeners).toHaveLength(0);
    expect(calls).toHaveLength(0);
    state.trusted = true;
    fire('trust', undefined);
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    expect(jupyter!.startListeners).toHaveLength(1);
  });

  it('ignores kernel starts while the workspace is untrusted or the setting is off', async () => {
    await auto.start();
    state.setting = false;
    expect(startKernel('a.ipynb')).toEqual([]);
    state.setting = undefined;
    state.trusted = false;
    expect(startKernel('a.ipynb')).toEqual([]);
    expect(calls).toHaveLength(0);
  });

  it('does nothing with the setting off, and catches up when it is turned on', async () => {
    state.setting = false;
    state.notebooks = [notebook('a.ipynb')];
    running('a.ipynb');
    await auto.start();
    expect(calls).toHaveLength(0);
    state.setting = true;
    fire('config', {
      affectsConfiguration: (s: string) => s === 'notebookSecrets.notebooks.autoEnable',
    });
    await vi.waitFor(() => expect(calls).toHaveLength(1));
  });

  it('does nothing without the Jupyter extension', async () => {
    jupyter = undefined;
    await expect(auto.start()).resolves.toBeUndefined();
    expect(calls).toHaveLength(0);
  });

  it('logs a failed setup instead of failing the kernel start', async () => {
    await auto.start();
    const failing = new AutoEnable({
      local: {
        enableStarted: async () => {
          throw new Error('The Notebook Secrets broker could not start (EACCES).');
        },
        isSetUp: () => false,
      },
      log: { info: () => {}, warn: (m: string) => logLines.push(m), debug: () => {} } as never,
      jupyter: async () => jupyter,
    });
    await failing.start();
    const waited = startKernel('b.ipynb');
    await Promise.all(waited);
    expect(logLines.at(-1)).toMatch(
      /^Setting up get_secret by itself for b\.ipynb failed: The Notebook Secrets broker could not start \(EACCES\)\. Run "Enable get_secret/,
    );
  });
});
