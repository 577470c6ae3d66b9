import { describe, expect, it } from 'vitest';
import { oidcConfigFromEnv } from '../../../src/server/oidc/config';

const base = {
  NOTEBOOK_SECRETS_OIDC_ISSUER: 'https://id.example.test/realms/team',
  NOTEBOOK_SECRETS_OIDC_CLIENT_ID: 'notebook-secrets',
};

describe('oidcConfigFromEnv', () => {
  it('reads the allowed redirect prefixes, comma-separated', () => {
    const config = oidcConfigFromEnv({
      ...base,
      NOTEBOOK_SECRETS_OIDC_CLIENT_REDIRECTS: ' https://code.example.test/ , https://vscode.dev/',
    });
    expect(config?.clientRedirects).toEqual(['https://code.example.test/', 'https://vscode.dev/']);
  });

  it('refuses to start with a redirect prefix over plain http to another machine', () => {
    expect(() =>
      oidcConfigFromEnv({ ...base, NOTEBOOK_SECRETS_OIDC_CLIENT_REDIRECTS: 'http://code.lan/' }),
    ).toThrow(/NOTEBOOK_SECRETS_OIDC_CLIENT_REDIRECTS: 'http:\/\/code.lan\/' is not an https/);
  });
});
