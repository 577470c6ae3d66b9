/**
 * Where a browser sign-in with the team server's identity provider comes back to the extension.
 * On the desktop, with the extension on the same machine as the browser: a loopback port (as the
 * CLI does; it needs no URI scheme registered with the operating system). In a remote window
 * (Remote SSH, dev containers, WSL, tunnels) and in VS Code for the Web (code-server, vscode.dev),
 * where the browser's loopback is not the extension's: the extension's URI handler, through
 * `vscode.env.asExternalUri` of `<uriScheme>://notebook-secrets.notebook-secrets/signed-in`. On
 * the desktop VS Code hands that URI to the window that asked, which forwards it to the extension
 * wherever it runs; in the browser the asExternalUri is a callback page of the editor's own
 * origin, which hands the query to the window. The server sends the code to either only because
 * its rule (core/signInRedirect.ts) allows them.
 */
import * as vscode from 'vscode';
import { EXTENSION_AUTHORITY, SIGNED_IN_PATH } from '../../core/signInRedirect';
import type { Receive } from '../../sync/providerSignIn';

/** The extension's URI handler: the sign-ins of this window waiting for their redirect back. */
export class SignInUriHandler implements vscode.UriHandler {
  private readonly waiting = new Map<string, (query: URLSearchParams) => void>();

  constructor(private readonly log: vscode.LogOutputChannel) {}

  handleUri(uri: vscode.Uri): void {
    if (uri.path !== SIGNED_IN_PATH) {
      this.log.warn(`Ignored a link to this extension with the unknown path ${uri.path}.`);
      return;
    }
    const query = new URLSearchParams(uri.query);
    const answer = this.waiting.get(query.get('state') ?? '');
    if (!answer) {
      // Never the query in the log: it carries the one-time code.
      this.log.warn(
        'A sign-in came back that this window is not waiting for (finished, cancelled, or started in another window); ignored it.',
      );
      return;
    }
    this.waiting.delete(query.get('state')!);
    answer(query);
  }

  /** Waits for the sign-in of `state` to come back through this handler. */
  readonly receive: Receive = async (state) => {
    const own = vscode.Uri.parse(
      `${vscode.env.uriScheme}://${EXTENSION_AUTHORITY}${SIGNED_IN_PATH}`,
    );
    const external = await vscode.env.asExternalUri(own);
    const received = new Promise<URLSearchParams>((resolve) => this.waiting.set(state, resolve));
    return {
      // Unencoded, as VS Code's own sign-ins send it: the callback page decodes it once.
      redirectUri: external.toString(true),
      received,
      dispose: () => this.waiting.delete(state),
    };
  };
}

/**
 * How a browser sign-in comes back in this window: through the URI handler in a remote window
 * or in the browser; undefined for the loopback port, on the desktop.
 */
export function signInReturn(handler: SignInUriHandler): Receive | undefined {
  const browserIsElsewhere =
    vscode.env.uiKind === vscode.UIKind.Web || vscode.env.remoteName !== undefined;
  return browserIsElsewhere ? handler.receive : undefined;
}
