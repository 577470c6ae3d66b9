/**
 * Share and Configure Team Server. Sharing needs a team server; until the user signs in to one,
 * Share explains that and offers to configure it, and never pretends to share.
 */
import * as vscode from 'vscode';
import type { SecretMetadata } from '../../core';
import type { SecretRepository } from '../storage/secretRepository';
import { serverUrlProblem } from '../serverTrust';
import { targetSecret } from '../views/pickSecret';
import { answered } from '../registerCommand';
import { setting, updateUserSetting } from '../settings';

/** Set by the sync client once signed in; absent for local-only use. */
export type ShareHandler = (secret: SecretMetadata) => Promise<void>;

export function shareCommands(
  repository: SecretRepository,
  log: vscode.LogOutputChannel,
  shareHandler: () => ShareHandler | undefined,
) {
  async function share(arg?: unknown): Promise<void> {
    const secret = await targetSecret(repository, arg, 'Secret to share');
    const handler = shareHandler();
    if (handler) return handler(secret);
    const action = await vscode.window.showInformationMessage(
      `Sharing '${secret.name}' needs a team server.`,
      {
        modal: true,
        detail:
          'Secrets in this view are kept in VS Code SecretStorage and are yours alone. To share one with a colleague or a team, run a Notebook Secrets server (notebook-secrets serve) and configure its URL.',
      },
      'Configure Server…',
    );
    if (action === 'Configure Server…') await configureServer();
  }

  async function configureServer(): Promise<void> {
    const url = await vscode.window.showInputBox({
      title: 'Team Server URL',
      prompt: 'The URL of a Notebook Secrets server, e.g. https://secrets.example.com',
      value: setting('server.url'),
      placeHolder: 'https://secrets.example.com',
      ignoreFocusOut: true,
      validateInput: serverUrlProblem,
    });
    const value = answered(url).trim();
    await updateUserSetting('server.url', value);
    log.info(value ? `Team server URL set to ${value}.` : 'Team server URL cleared.');
    void vscode.window.showInformationMessage(
      value ? `Team server set to ${value}.` : 'Team server cleared.',
    );
  }

  return { share, configureServer };
}
