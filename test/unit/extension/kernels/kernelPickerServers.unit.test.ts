import { beforeEach, describe, expect, it } from 'vitest';
import type { Jupyter, JupyterServerProvider } from '@vscode/jupyter-extension';
import {
  COLLECTION_ID,
  KernelPickerServers,
} from '../../../../src/extension/kernels/kernelPickerServers';
import { EventEmitter, textDocumentEvents, workspace } from '../../fakes/vscode';

interface Created {
  id: string;
  label: string;
  provider: JupyterServerProvider;
  commandProvider?: {
    provideCommands(v: unknown, t: unknown): unknown;
    handleCommand(c: unknown, t: unknown): Promise<unknown>;
  };
  disposed: boolean;
}

const token = {} as never;
let created: Created[];
let saved: string[];
let tokens: Map<string, string>;
let changed: EventEmitter<void>;
let addAnswer: string | undefined;
let jupyter: Jupyter | undefined;
let picker: KernelPickerServers;

beforeEach(() => {
  created = [];
  saved = ['https://hub.example.com/user/ana/'];
  tokens = new Map([['https://hub.example.com/user/ana/', 'server-token-1']]);
  changed = new EventEmitter<void>();
  addAnswer = undefined;
  workspace.isTrusted = true;
  workspace.notebookDocuments = [{}];
  jupyter = {
    kernels: {} as never,
    createJupyterServerCollection: (id: string, label: string, provider: JupyterServerProvider) => {
      const c: Created = { id, label, provider, disposed: false };
      created.push(c);
      return {
        id,
        label,
        get commandProvider() {
          return c.commandProvider as never;
        },
        set commandProvider(p) {
          c.commandProvider = p as never;
        },
        dispose: () => void (c.disposed = true),
      };
    },
  } as unknown as Jupyter;
  picker = new KernelPickerServers({
    servers: {
      saved: () => saved,
      tokenOf: async (url) => tokens.get(url) ?? '',
      add: async () => {
        if (addAnswer === undefined) return undefined;
        saved = [...saved, addAnswer];
        changed.fire();
        return addAnswer;
      },
      onDidChange: changed.event,
    },
    log: { warn: () => {} } as never,
    jupyter: async () => jupyter,
  });
});

describe("the Jupyter extension's kernel picker", () => {
  it('lists the servers added here, with their URL and token', async () => {
    await picker.ensure();
    expect(created.map((c) => [c.id, c.label])).toEqual([[COLLECTION_ID, 'Notebook Secrets']]);
    const servers = (await created[0]!.provider.provideJupyterServers(token)) as {
      id: string;
      connectionInformation: { baseUrl: { toString(): string }; token?: string };
    }[];
    expect(servers).toHaveLength(1);
    expect(servers[0]!.id).toBe('https://hub.example.com/user/ana/');
    expect(servers[0]!.connectionInformation.baseUrl.toString()).toBe(
      'https://hub.example.com/user/ana/',
    );
    expect(servers[0]!.connectionInformation.token).toBe('server-token-1');
  });

  it('offers "Add Jupyter Server…" that runs the same steps and returns the new server', async () => {
    await picker.ensure();
    const commandProvider = created[0]!.commandProvider!;
    expect(commandProvider.provideCommands(undefined, token)).toEqual([
      { label: 'Add Jupyter Server…' },
    ]);
    addAnswer = 'http://127.0.0.1:8888/';
    const server = (await commandProvider.handleCommand(
      { label: 'Add Jupyter Server…' },
      token,
    )) as {
      id: string;
      connectionInformation: { token?: string };
    };
    expect(server.id).toBe('http://127.0.0.1:8888/');
    expect(server.connectionInformation.token).toBeUndefined();
    addAnswer = undefined;
    expect(
      await commandProvider.handleCommand({ label: 'Add Jupyter Server…' }, token),
    ).toBeUndefined();
  });

  it('tells the picker when a server is removed, and no longer resolves it', async () => {
    await picker.ensure();
    const provider = created[0]!.provider;
    let told = 0;
    provider.onDidChangeServers!(() => told++);
    const [server] = (await provider.provideJupyterServers(token)) as {
      id: string;
      label: string;
    }[];
    saved = [];
    changed.fire();
    expect(told).toBe(1);
    expect(await provider.provideJupyterServers(token)).toEqual([]);
    expect(await provider.resolveJupyterServer(server!, token)).toBeUndefined();
  });

  it('waits for an open notebook and a trusted workspace, and creates one collection', async () => {
    workspace.notebookDocuments = [];
    await picker.ensure();
    workspace.notebookDocuments = [{}];
    workspace.isTrusted = false;
    await picker.ensure();
    expect(created).toHaveLength(0);
    workspace.isTrusted = true;
    textDocumentEvents.openNotebook.fire({});
    await picker.ensure();
    expect(created).toHaveLength(1);
    picker.dispose();
    expect(created[0]!.disposed).toBe(true);
  });

  it('does nothing where the Jupyter extension is missing or has no collection API', async () => {
    jupyter = undefined;
    await picker.ensure();
    jupyter = { kernels: {} } as unknown as Jupyter;
    await picker.ensure();
    expect(created).toHaveLength(0);
  });
});
