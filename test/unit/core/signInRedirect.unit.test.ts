import { describe, expect, it } from 'vitest';
import { isAllowedRedirect, redirectPrefixProblem } from '../../../src/core/signInRedirect';

const CODE_SERVER = ['https://code.example.test/alice'];

describe('isAllowedRedirect', () => {
  it("accepts loopback http://, and the extension's own URI in every editor scheme", () => {
    for (const uri of [
      'http://127.0.0.1:53123/callback',
      'http://[::1]:8080/x',
      'http://localhost:9/signed-in',
      'vscode://notebook-secrets.notebook-secrets/signed-in',
      'vscode://notebook-secrets.notebook-secrets/signed-in?windowId=3',
      'vscode-insiders://Notebook-Secrets.Notebook-Secrets/signed-in',
      'code-oss://notebook-secrets.notebook-secrets/signed-in',
      'cursor://notebook-secrets.notebook-secrets/signed-in',
    ]) {
      expect(isAllowedRedirect(uri, []), uri).toBe(true);
    }
  });

  it("refuses another extension's URI, other hosts, other schemes and user names", () => {
    for (const uri of [
      'vscode://someone.else/signed-in',
      'vscode://notebook-secrets.notebook-secrets:1/signed-in',
      'vscode://evil.test@notebook-secrets.notebook-secrets/signed-in',
      'http://10.0.0.5:8080/callback',
      'http://127.0.0.1.evil.test/callback',
      'https://127.0.0.1/callback',
      'javascript:alert(1)',
      'data:text/html,hi',
      'notebook-secrets.notebook-secrets/signed-in',
      '',
    ]) {
      expect(isAllowedRedirect(uri, CODE_SERVER), uri).toBe(false);
    }
  });

  it('accepts a URL under an allowed prefix by origin and path, not by the text', () => {
    const ok = [
      'https://code.example.test/alice',
      'https://code.example.test/alice/callback?vscode-reqid=1&vscode-scheme=code-oss',
      'https://CODE.example.test:443/alice/stable-1/callback',
    ];
    const refused = [
      'https://code.example.test/alicebad/callback',
      'https://code.example.test/bob/callback',
      'https://code.example.test/alice/../bob/callback',
      'https://code.example.test/alice/%2e%2e/bob/callback',
      'https://code.example.test.evil.test/alice/callback',
      'https://code.example.test:8443/alice/callback',
      'http://code.example.test/alice/callback',
      'https://x@code.example.test/alice/callback',
    ];
    for (const uri of ok) expect(isAllowedRedirect(uri, CODE_SERVER), uri).toBe(true);
    for (const uri of refused) expect(isAllowedRedirect(uri, CODE_SERVER), uri).toBe(false);
    expect(
      isAllowedRedirect('https://code.example.test/any/callback', ['https://code.example.test/']),
    ).toBe(true);
  });
});

describe('redirectPrefixProblem', () => {
  it('takes https:// origins and paths, and loopback http://', () => {
    expect(redirectPrefixProblem('https://code.example.test/')).toBeUndefined();
    expect(redirectPrefixProblem('https://code.example.test/alice')).toBeUndefined();
    expect(redirectPrefixProblem('http://127.0.0.1:8080/')).toBeUndefined();
  });

  it('says what is wrong with plain http, a query or something that is no URL', () => {
    expect(redirectPrefixProblem('http://code.example.test/')).toMatch(/not an https:\/\/ URL/);
    expect(redirectPrefixProblem('code.example.test')).toMatch(/not an https:\/\/ URL/);
    expect(redirectPrefixProblem('vscode://notebook-secrets.notebook-secrets/')).toMatch(
      /not an https/,
    );
    expect(redirectPrefixProblem('https://code.example.test/?x=1')).toMatch(/without a query/);
  });
});
