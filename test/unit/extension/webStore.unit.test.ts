/**
 * In VS Code for the Web the extension keeps its local store in sealed files, not in SecretStorage
 * (one browser localStorage entry there); an extension that kept it in SecretStorage moves it on
 * its first start, losing nothing.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalSecretStore, STORE_PREFIX } from '../../../src/core';
import { SEALING_KEY, SealedFileStore } from '../../../src/extension/storage/sealedFileStore';
import type { SecretsNode } from '../../../src/extension/views/secretsTree';
import { env, logLines, treeViews, UIKind, type FakeSecretStorage } from '../fakes/vscode';
import { fileCount, filesUnder } from '../../support/filesUnder';
import { activateExtension } from './harness';

let root: string;
let dispose: (() => void) | undefined;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'global-storage-'));
  env.uiKind = UIKind.Web;
});
afterEach(() => {
  dispose?.();
  dispose = undefined;
  env.uiKind = UIKind.Desktop;
  rmSync(root, { recursive: true, force: true });
});

const canary = () => `canary-${randomUUID()}`;

/** The secrets and values the sealed files hold, read as the next start of the extension would. */
async function sealedSecrets(secrets: FakeSecretStorage): Promise<Record<string, string>> {
  const files = new SealedFileStore(secrets, root);
  const local = new LocalSecretStore(files);
  await local.load();
  const found: Record<string, string> = {};
  for (const s of local.list()) found[s.name] = (await local.getValue(s.id)).value;
  files.dispose();
  return found;
}

describe('the local store in VS Code for the Web', () => {
  it('moves what SecretStorage held into sealed files on the first start, and keeps new secrets there', async () => {
    const before = { OLD_ONE: canary(), OLD_TWO: canary() };
    const started = await activateExtension(async (secrets) => {
      // Today's layout, as an earlier version left it in SecretStorage.
      const local = new LocalSecretStore(secrets);
      await local.load();
      for (const [name, value] of Object.entries(before)) {
        await local.create({ name, value, scope: { kind: 'personal' } });
      }
    }, root);
    dispose = started.dispose;
    const added = canary();
    await started.newPassword('NEW_ONE', added);

    expect(await sealedSecrets(started.secrets)).toEqual({ ...before, NEW_ONE: added });
    // SecretStorage keeps the sealing key only; no file holds a value.
    await expect
      .poll(() => [...started.secrets.data.keys()].filter((k) => k.startsWith(STORE_PREFIX)))
      .toEqual([]);
    expect([...started.secrets.data.keys()]).toEqual([SEALING_KEY]);
    const onDisk = filesUnder(root);
    for (const value of [...Object.values(before), added]) expect(onDisk).not.toContain(value);
  });

  it('shows a damaged sealing key as a load error in the tree, and keeps the files', async () => {
    const first = await activateExtension(undefined, root);
    await first.newPassword('KEPT', canary());
    first.dispose();
    const count = fileCount(root);

    const second = await activateExtension(async (secrets) => {
      await secrets.store(SEALING_KEY, 'damaged');
    }, root);
    dispose = second.dispose;
    const failure =
      /Could not read secrets from the sealed files in the extension's global storage: .*not 32 bytes/;
    expect(logLines.join('\n')).toMatch(failure);
    const view = treeViews.get('notebookSecrets.secrets')!;
    const roots = (view.options.treeDataProvider as { getChildren(): SecretsNode[] }).getChildren();
    expect(roots).toEqual([{ kind: 'error', message: expect.stringMatching(failure) as unknown }]);
    expect(fileCount(root)).toBe(count);
  });
});
