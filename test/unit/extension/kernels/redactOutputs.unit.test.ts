import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { beforeEach, describe, expect, it } from 'vitest';
import { redactOutputs } from '../../../../src/extension/kernels/redactOutputs';
import { ui } from '../../fakes/vscode';

const config = () => vscode.workspace.getConfiguration('notebookSecrets');

describe('notebookSecrets.redactOutputs', () => {
  beforeEach(() => ui.reset());

  it('is on unless the user turns it off in their own settings', async () => {
    expect(redactOutputs()).toBe(true);
    await config().update('redactOutputs', false, vscode.ConfigurationTarget.Global);
    expect(redactOutputs()).toBe(false);
    await config().update('redactOutputs', true, vscode.ConfigurationTarget.Global);
    expect(redactOutputs()).toBe(true);
  });

  it("stays on when a workspace's or folder's settings (a cloned repository's) turn it off", async () => {
    for (const target of [
      vscode.ConfigurationTarget.Workspace,
      vscode.ConfigurationTarget.WorkspaceFolder,
    ]) {
      ui.reset();
      await config().update('redactOutputs', false, target);
      // What reading the merged setting would have said for a setting a workspace may set:
      expect(config().get('redactOutputs', true)).toBe(false);
      expect(redactOutputs()).toBe(true);
      await config().update('redactOutputs', true, vscode.ConfigurationTarget.Global);
      expect(redactOutputs()).toBe(true);
    }
  });

  it('is declared for the application, so VS Code ignores workspace and folder values too', () => {
    const manifest = JSON.parse(
      readFileSync(join(__dirname, '../../../../package.json'), 'utf8'),
    ) as {
      contributes: { configuration: { properties: Record<string, { scope?: string }> } };
    };
    expect(
      manifest.contributes.configuration.properties['notebookSecrets.redactOutputs'],
    ).toMatchObject({ scope: 'application' });
  });
});
