/**
 * Sign in with the identity provider where the browser is not on the extension's machine: the
 * redirect back through the extension's URI handler, in a remote window (the desktop hands the
 * vscode:// URI to the window) and in VS Code for the Web (the editor's callback page hands the
 * query on), as VS Code's own callback page does it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cancelled } from '../../../../src/extension/registerCommand';
import { SignInUriHandler, signInReturn } from '../../../../src/extension/sync/signInReturn';
import { syncCommands } from '../../../../src/extension/sync/syncCommands';
import { type SyncSession, TOKEN_KEY } from '../../../../src/extension/sync/syncSession';
import type { MemoryKeyValueStore } from '../../../../src/sync/memoryKeyValueStore';
import { cancelProgress, env, ui, UIKind, Uri } from '../../fakes/vscode';
import { FakeServer } from '../../sync/fakeServer';
import { sessionOn } from './sessionFixture';

const OWN = 'vscode://notebook-secrets.notebook-secrets/signed-in';

describe('Sign in with the provider through the URI handler', () => {
  let server: FakeServer;
  let secrets: MemoryKeyValueStore;
  let session: SyncSession;
  let handler: SignInUriHandler;
  let lines: string[];
  let commands: ReturnType<typeof syncCommands>;

  beforeEach(async () => {
    ui.reset();
    server = new FakeServer();
    server.provider = { name: 'Test IdP', device: true };
    lines = [];
    const line = (level: string) => (m: string) => lines.push(`${level} ${m}`);
    const log = {
      debug: line('debug'),
      info: line('info'),
      warn: line('warn'),
      error: line('error'),
    } as never;
    ({ secrets, session } = await sessionOn(server, log));
    handler = new SignInUriHandler(log);
  });

  afterEach(() => {
    session.dispose();
    env.remoteName = undefined;
    env.uiKind = UIKind.Desktop;
    env.externalUri = undefined;
    env.onOpenExternal = undefined;
  });

  function commandsHere() {
    const returnTo = signInReturn(handler);
    commands = syncCommands({
      session,
      store: undefined as never,
      log: { info: () => undefined, warn: () => undefined } as never,
      activeProject: () => undefined,
      setActiveProject: () => Promise.resolve(),
      targetSecret: () => Promise.reject(new Error('unused')),
      ...(returnTo && { signInReturn: returnTo }),
    });
    return commands;
  }

  /** The provider signs `user` in and sends the browser to the client's redirect URI. */
  function providerSendsBack(user: string, deliver: (back: URL) => void) {
    env.onOpenExternal = (opened) => {
      const query = server.signInRequest(opened);
      const redirectUri = query.get('redirect_uri')!;
      server.signInCodes.set('code-7', {
        user,
        challenge: query.get('code_challenge')!,
        redirectUri,
      });
      const back = new URL(redirectUri);
      back.searchParams.set('state', query.get('state')!);
      back.searchParams.set('code', 'code-7');
      // The browser comes back later, as a person signing in does.
      setTimeout(() => deliver(back), 0);
    };
  }

  const pick = (call: { items?: unknown[] }) =>
    (call.items as { label: string }[]).find((i) => i.label === 'Sign in with Test IdP');

  it("in a remote window, comes back to the window's own vscode:// URI", async () => {
    env.remoteName = 'ssh-remote';
    // The desktop names the window that asked in the URI it gives out.
    env.externalUri = (uri) => Uri.parse(`${uri.toString()}?windowId=3`);
    providerSendsBack('bob', (back) =>
      handler.handleUri({
        scheme: 'vscode',
        authority: back.host,
        path: back.pathname,
        query: back.search.slice(1),
      } as never),
    );
    ui.answer('https://fake.test', pick);
    await commandsHere()['notebookSecrets.signIn']();

    expect(server.signInRequest(env.opened.at(-1)!).get('redirect_uri')).toBe(`${OWN}?windowId=3`);
    expect(session.state.signedIn).toBe(true);
    expect(ui.messages('info').join('\n')).toMatch(/Signed in to https:\/\/fake.test as bob/);
    expect(JSON.parse((await secrets.get(TOKEN_KEY))!)).toMatchObject({ refresh: /^refresh-bob-/ });
  });

  it("in VS Code for the Web, comes back through the editor's callback page", async () => {
    env.uiKind = UIKind.Web;
    env.externalUri = (uri) =>
      Uri.parse(
        `https://code.example.test/callback?vscode-reqid=1&vscode-scheme=vscode&vscode-authority=notebook-secrets.notebook-secrets&vscode-path=${encodeURIComponent(
          uri.toString().replace(/^vscode:\/\/[^/]+/, ''),
        )}`,
      );
    // What the callback page does: the query without its own parameters goes to the window.
    providerSendsBack('bob', (back) => {
      const params = new URLSearchParams(back.search);
      const path = params.get('vscode-path')!;
      for (const key of [...params.keys()]) if (key.startsWith('vscode-')) params.delete(key);
      handler.handleUri({
        scheme: 'vscode',
        authority: 'notebook-secrets.notebook-secrets',
        path,
        query: params.toString(),
      } as never);
    });
    ui.answer('https://fake.test', pick);
    await commandsHere()['notebookSecrets.signIn']();

    const redirect = new URL(server.signInRequest(env.opened.at(-1)!).get('redirect_uri')!);
    expect(redirect.origin + redirect.pathname).toBe('https://code.example.test/callback');
    expect(redirect.searchParams.get('vscode-path')).toBe('/signed-in');
    expect(session.state.signedIn).toBe(true);
  });

  it('on the desktop, comes back to a loopback port, not the URI handler', () => {
    expect(signInReturn(handler)).toBeUndefined();
    env.remoteName = 'dev-container';
    expect(signInReturn(handler)).toBe(handler.receive);
  });

  it('says why a sign-in the provider refused failed', async () => {
    env.remoteName = 'ssh-remote';
    env.onOpenExternal = (opened) => {
      const query = server.signInRequest(opened);
      const back = new URLSearchParams({
        state: query.get('state')!,
        error: 'access_denied',
        error_description: "'eve' is not a user of this server",
      });
      setTimeout(() => handler.handleUri({ path: '/signed-in', query: back.toString() } as never));
    };
    ui.answer('https://fake.test', pick);
    await expect(commandsHere()['notebookSecrets.signIn']()).rejects.toThrow(
      /Sign-in failed: 'eve' is not a user of this server/,
    );
    expect(session.state.signedIn).toBe(false);
  });

  it('Cancel ends the sign-in quietly, and a late redirect back is ignored', async () => {
    env.remoteName = 'ssh-remote';
    let late: URLSearchParams | undefined;
    env.onOpenExternal = (opened) => {
      const query = server.signInRequest(opened);
      late = new URLSearchParams({ state: query.get('state')!, code: 'late-code-CANARY' });
      setTimeout(() => cancelProgress());
    };
    ui.answer('https://fake.test', pick);
    // Cancelled: the one error the command wrapper keeps silent.
    await expect(commandsHere()['notebookSecrets.signIn']()).rejects.toBeInstanceOf(Cancelled);
    handler.handleUri({ path: '/signed-in', query: late!.toString() } as never);
    expect(session.state.signedIn).toBe(false);
    expect(lines.join('\n')).toMatch(/not waiting for/);
    expect(lines.join('\n')).not.toContain('late-code-CANARY');
  });

  it('ignores links to other paths and sign-ins it did not start', () => {
    handler.handleUri({ path: '/elsewhere', query: 'code=x' } as never);
    handler.handleUri({ path: '/signed-in', query: 'state=forged&code=CANARY-code' } as never);
    expect(lines.filter((l) => l.startsWith('warn'))).toHaveLength(2);
    expect(lines.join('\n')).not.toContain('CANARY-code');
  });
});
