/**
 * Sign in and Sign Out of a team server. Sign in asks for the server's URL, then signs in with
 * the server's identity provider in the browser when it has one (or a token), and says whether
 * the connection is plain HTTP.
 */
import * as vscode from 'vscode';
import type { Me } from '../../core/api';
import { Cancelled, answered } from '../registerCommand';
import { checkServerTransport, insecureSignInWarning, serverUrlProblem } from '../serverTrust';
import { setting, updateUserSetting } from '../settings';
import type { SyncCommandDeps, SyncHandlers } from './syncCommandDeps';

/** The identity provider a server signs in with (SyncSession.providerOf). */
interface Provider {
  name: string;
}

export function signInCommands(
  deps: SyncCommandDeps,
): SyncHandlers<'notebookSecrets.signIn' | 'notebookSecrets.signOut'> {
  return {
    'notebookSecrets.signIn': () => signIn(deps),
    'notebookSecrets.signOut': () => signOut(deps),
  };
}

async function signIn(deps: SyncCommandDeps): Promise<void> {
  const url = await askServerUrl();
  const provider = await deps.session.providerOf(url);
  const me =
    provider && (await chooseProvider(provider))
      ? await signInWithProvider(deps, url, provider)
      : await signInWithToken(deps, url, await askToken());
  await signedIn(url, me);
}

async function askServerUrl(): Promise<string> {
  return answered(
    await vscode.window.showInputBox({
      title: 'Sign in to Team Server (1/2)',
      prompt: 'The URL of a Notebook Secrets server (notebook-secrets serve)',
      value: setting('server.url') || 'http://127.0.0.1:8787',
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() === '' ? 'Enter the server URL.' : serverUrlProblem(v)),
    }),
  ).trim();
}

/** Whether the user picked the server's identity provider over a token. */
async function chooseProvider(provider: Provider): Promise<boolean> {
  const useProvider = `Sign in with ${provider.name}`;
  const how = answered(
    await vscode.window.showQuickPick(
      [
        { label: useProvider, detail: 'In your browser; you come back here when it is done' },
        { label: 'Use a token', detail: 'A token from your administrator' },
      ],
      { title: 'Sign in to Team Server (2/2)', ignoreFocusOut: true },
    ),
  );
  return how.label === useProvider;
}

function signInWithProvider(deps: SyncCommandDeps, url: string, provider: Provider): Thenable<Me> {
  return vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Signing in with ${provider.name} in your browser…`,
      cancellable: true,
    },
    (_progress, cancel) => {
      const stop = new AbortController();
      cancel.onCancellationRequested(() => stop.abort(new Cancelled()));
      return deps.session.signInWithProvider(url, {
        provider: provider.name,
        say: (line) => deps.log.info(line),
        open: (target) => Promise.resolve(openExactly(target)),
        ...(deps.signInReturn && { receive: deps.signInReturn }),
        signal: stop.signal,
      });
    },
  );
}

async function askToken(): Promise<string> {
  return answered(
    await vscode.window.showInputBox({
      title: 'Sign in to Team Server (2/2)',
      prompt: 'Your API token (from your administrator: notebook-secrets admin token create)',
      password: true,
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() === '' ? 'Enter the token.' : undefined),
    }),
  ).trim();
}

function signInWithToken(deps: SyncCommandDeps, url: string, token: string): Thenable<Me> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Signing in to ${url}…` },
    () => deps.session.signIn(url, token),
  );
}

async function signedIn(url: string, me: Me): Promise<void> {
  await updateUserSetting('server.url', url);
  if (checkServerTransport(url) === 'insecure-http') {
    void vscode.window.showWarningMessage(
      `Signed in to ${url} as ${me.user.id}. ${insecureSignInWarning(url)}`,
    );
    return;
  }
  void vscode.window.showInformationMessage(
    `Signed in to ${url} as ${me.user.id}. Your secrets now sync with the team server.`,
  );
}

async function signOut({ session }: SyncCommandDeps): Promise<void> {
  if (!session.client) return;
  const pending = session.syncEngine?.outbox().length ?? 0;
  const conflicts = session.syncEngine?.conflicts().length ?? 0;
  const detail =
    'Copies of secrets shared with you and of team and project secrets are removed from this machine; your own personal secrets stay here as local secrets.' +
    (pending + conflicts > 0
      ? ` ${pending} change(s) not sent yet and ${conflicts} conflict(s) stay here as local secrets too.`
      : '');
  const ok = await vscode.window.showWarningMessage(
    'Sign out of the team server?',
    { modal: true, detail },
    'Sign Out',
  );
  if (ok !== 'Sign Out') return;
  await session.signOut();
}

/**
 * Opens `url` in the browser as written. A vscode.Uri decodes the query and encodes it again its
 * own way, which turns the redirect_uri parameter's own query (a VS Code for the Web callback
 * URL) into parameters of the URL around it; openExternal also takes the URL as a string, and
 * then opens exactly that string.
 */
function openExactly(url: string): Thenable<boolean> {
  return vscode.env.openExternal(url as unknown as vscode.Uri);
}
