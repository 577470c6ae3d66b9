/**
 * Activation does not wait for the store's first load (a SecretStorage round trip): what reads
 * secrets waits for it instead. SecretStorage's `get` is held here until the test releases it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type * as vscode from 'vscode';
import { LocalSecretStore } from '../../../src/core';
import { repositorySource } from '../../../src/extension/storage/brokerSource';
import { SecretStorageRepository } from '../../../src/extension/storage/secretRepository';
import { registerSync } from '../../../src/extension/sync/registerSync';
import { TOKEN_KEY } from '../../../src/extension/sync/syncSessionKeys';
import type { SecretsNode } from '../../../src/extension/views/secretsTree';
import {
  contextKeys,
  env,
  FakeMemento,
  FakeSecretStorage,
  logLines,
  treeViews,
  window,
} from '../fakes/vscode';
import { startExtension } from './harness';

let dispose: (() => void) | undefined;
afterEach(() => {
  dispose?.();
  dispose = undefined;
});

/** SecretStorage with one secret, KEY = 'v1', whose reads wait for `release()`. */
async function heldStore(secrets: FakeSecretStorage): Promise<() => void> {
  const store = new LocalSecretStore(secrets);
  await store.load();
  await store.create({ name: 'KEY', value: 'v1' });
  return secrets.holdGets();
}

/** Activation with the first load held: `release()` lets SecretStorage answer. */
async function startHeld() {
  let release = () => {};
  const h = await startExtension(async (secrets) => {
    release = await heldStore(secrets);
  });
  dispose = h.dispose;
  return { ...h, release };
}

function testLog(): vscode.LogOutputChannel {
  return window.createOutputChannel('test', { log: true }) as unknown as vscode.LogOutputChannel;
}

/** Settles with what `promise` gave, or 'pending' if it has not within 200 ms. */
function within<T>(promise: PromiseLike<T>): Promise<T | 'pending'> {
  return Promise.race([
    Promise.resolve(promise),
    new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), 200)),
  ]);
}

function treeRoots(): SecretsNode[] {
  const view = treeViews.get('notebookSecrets.secrets')!;
  const tree = view.options.treeDataProvider as { getChildren(): SecretsNode[] };
  return tree.getChildren();
}

describe('activation and the first load', () => {
  it('activate() resolves while SecretStorage has not answered; what follows the load waits', async () => {
    const h = await startHeld();
    const api = await within(h.activated);
    expect(api).not.toBe('pending');
    expect(contextKeys.has('notebookSecrets.loaded')).toBe(false);
    expect(logLines.some((l) => l.includes('activated with'))).toBe(false);
    // Before the load the tree shows what it shows with no secrets, without the welcome text.
    expect(treeRoots()).toEqual([]);

    h.release();
    await (await h.activated).ready();
    expect(contextKeys.get('notebookSecrets.loaded')).toBe(true);
    expect(logLines).toContainEqual(
      expect.stringContaining('Notebook Secrets activated with 1 secret(s).'),
    );
    expect(treeRoots()).toMatchObject([{ kind: 'group', items: [{ name: 'KEY' }] }]);
  });

  it('a command run before the load completes sees the loaded secrets', async () => {
    const h = await startHeld();
    const copied = h.run('notebookSecrets.copy', 'KEY');
    expect(await within(copied)).toBe('pending');
    h.release();
    await copied;
    expect(await env.clipboard.readText()).toBe('v1');
    expect(h.ui.messages('info')).not.toContain(
      'There are no secrets yet. Create one with "New Secret".',
    );
  });

  it('a failed load is reported in the tree and the log, and commands do not wait forever', async () => {
    const h = await startHeld();
    h.secrets.failGet = (key) => key.startsWith('notebook-secrets/index');
    const copied = h.run('notebookSecrets.copy', 'KEY');
    h.release();
    await (await h.activated).ready();
    await copied;
    const failure = 'Could not read secrets from VS Code SecretStorage: The keychain is locked.';
    expect(logLines).toContainEqual(expect.stringContaining(failure));
    expect(treeRoots()).toEqual([{ kind: 'error', message: failure }]);
    // The store stayed empty: the command ended as it does with no secrets, not with an error.
    expect(h.ui.messages('info')).toContain(
      'There are no secrets yet. Create one with "New Secret".',
    );
    expect(h.ui.messages('error')).toEqual([]);
  });
});

describe("the kernels' source", () => {
  it('answers a get_secret asked before the first load with the loaded secret', async () => {
    const secrets = new FakeSecretStorage();
    const release = await heldStore(secrets);
    const storage = new SecretStorageRepository(secrets, testLog(), () => undefined);
    const source = repositorySource(storage.store, () => undefined, storage.loaded);
    void storage.reload();
    const answer = source.resolve('KEY', {});
    expect(await within(answer)).toBe('pending');
    release();
    expect(await answer).toEqual({ value: 'v1', encoding: 'text' });
    storage.dispose();
  });
});

describe('sync', () => {
  it('with a saved sign-in, starts the sync client only after the first load', async () => {
    // The sync client's module already read, so that only the load can keep it waiting.
    await import('../../../src/extension/sync/syncRuntime');
    const secrets = new FakeSecretStorage();
    await secrets.store(TOKEN_KEY, JSON.stringify({ server: 'http://team', token: 't' }));
    const store = new LocalSecretStore(secrets);
    const subscriptions: { dispose(): unknown }[] = [];
    dispose = () => subscriptions.forEach((d) => d.dispose());
    const requests: string[] = [];
    let loaded = () => {};
    const sync = registerSync({
      context: { secrets, subscriptions, workspaceState: new FakeMemento() } as never,
      store,
      log: testLog(),
      setShareHandler: () => undefined,
      storeLoaded: new Promise<void>((resolve) => (loaded = resolve)),
      fetch: async (url) => {
        requests.push(String(url));
        return new Response(null, { status: 503 });
      },
    });
    expect(await within(sync.started())).toBe('pending');
    expect(requests).toEqual([]);
    loaded();
    expect(await within(sync.started())).not.toBe('pending');
  });
});
