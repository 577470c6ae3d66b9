/**
 * A real OpenID provider on loopback for the sign-in tests: panva's oidc-provider (OpenID
 * certified) with people and their groups, its development login and consent pages, and the
 * device flow. It is reached through a proxy that can tamper with the ID tokens its token
 * endpoint sends (forged, expired, for another audience or from another issuer), as a
 * compromised network or provider would, or play an outage; and a small browser that signs in through its pages
 * over HTTP, keeping cookies.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importJWK, SignJWT, decodeJwt, decodeProtectedHeader, type JWK } from 'jose';
import Provider from 'oidc-provider';

export interface Person {
  groups: string[];
  disabled?: boolean;
}

export type Tamper = 'none' | 'forged' | 'expired' | 'audience' | 'issuer';

export interface TestProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  people: Map<string, Person>;
  /** How the next answers of the token endpoint are tampered with. */
  tamper: Tamper;
  /** An outage: 'down' drops every connection, 'error' answers 500 at the token endpoint. */
  outage: 'none' | 'down' | 'error';
  /** Every ID token, refresh token and access token the provider sent (for leak checks). */
  sent: string[];
  close(): Promise<void>;
}

/** The environment of a `serve` that signs people in with `idp`, their groups as teams. */
export function serverEnv(idp: TestProvider): NodeJS.ProcessEnv {
  return {
    NOTEBOOK_SECRETS_OIDC_ISSUER: idp.issuer,
    NOTEBOOK_SECRETS_OIDC_CLIENT_ID: idp.clientId,
    NOTEBOOK_SECRETS_OIDC_CLIENT_SECRET: idp.clientSecret,
    NOTEBOOK_SECRETS_OIDC_NAME: 'Test IdP',
    NOTEBOOK_SECRETS_OIDC_SCOPES: 'openid profile email groups offline_access',
    NOTEBOOK_SECRETS_OIDC_GROUPS_CLAIM: 'groups',
  };
}

/** Starts the provider for a server whose browser sign-ins come back to `callbackUrl`. */
export async function startTestProvider(callbackUrl: string): Promise<TestProvider> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = {
    ...(privateKey.export({ format: 'jwk' }) as JWK),
    kid: 'test-key',
    use: 'sig',
    alg: 'RS256',
  };
  const people = new Map<string, Person>();
  const proxy = createServer();
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const clientId = 'notebook-secrets';
  const clientSecret = 'test-client-secret-' + Math.random().toString(36).slice(2);

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [callbackUrl],
        grant_types: [
          'authorization_code',
          'refresh_token',
          'urn:ietf:params:oauth:grant-type:device_code',
        ],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    async findAccount(_ctx, id) {
      const person = people.get(id);
      if (!person || person.disabled) return undefined;
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            preferred_username: id,
            name: `Person ${id}`,
            email: `${id}@example.test`,
            groups: person.groups,
          };
        },
      };
    },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email'],
      groups: ['groups'],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true }, deviceFlow: { enabled: true } },
    jwks: { keys: [jwk] },
    cookies: { keys: ['test-cookie-key'] },
    pkce: { required: () => true },
    async issueRefreshToken(_ctx, client) {
      return client.grantTypeAllowed('refresh_token');
    },
    // Ask at each refresh whether the person still exists and may sign in.
    rotateRefreshToken: true,
  });
  const inner = createServer(provider.callback());
  await new Promise<void>((resolve) => inner.listen(0, '127.0.0.1', resolve));
  const target = `http://127.0.0.1:${(inner.address() as AddressInfo).port}`;

  const state: TestProvider = {
    issuer,
    clientId,
    clientSecret,
    people,
    tamper: 'none',
    outage: 'none',
    sent: [],
    close: async () => {
      await Promise.all([close(proxy), close(inner)]);
    },
  };
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  // The provider names its endpoints after the Host it is asked on: the proxy keeps it.
  proxy.on('request', (request, response) => {
    if (state.outage === 'down') {
      request.socket.destroy();
      return;
    }
    if (state.outage === 'error' && request.url?.startsWith('/token')) {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ error: 'server_error', error_description: 'Down for repair.' }),
      );
      return;
    }
    const upstream = httpRequest(
      target + request.url,
      { method: request.method, headers: request.headers },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          void (async () => {
            let body = Buffer.concat(chunks);
            const headers = { ...answer.headers };
            if (request.url?.startsWith('/token') && answer.statusCode === 200) {
              const json = JSON.parse(body.toString('utf8')) as Record<string, string>;
              for (const key of ['id_token', 'refresh_token', 'access_token']) {
                if (json[key]) state.sent.push(json[key]);
              }
              if (json.id_token && state.tamper !== 'none') {
                json.id_token = await tamper(json.id_token, state.tamper, jwk, other);
                state.sent.push(json.id_token);
              }
              body = Buffer.from(JSON.stringify(json));
              headers['content-length'] = String(body.length);
            }
            response.writeHead(answer.statusCode ?? 502, headers).end(body);
          })();
        });
      },
    );
    upstream.on('error', (error) => response.writeHead(502).end(String(error)));
    request.pipe(upstream);
  });
  return state;
}

async function tamper(
  idToken: string,
  how: Exclude<Tamper, 'none'>,
  jwk: JWK,
  other: import('node:crypto').KeyObject,
): Promise<string> {
  const claims = decodeJwt(idToken);
  const header = decodeProtectedHeader(idToken);
  const now = Math.floor(Date.now() / 1000);
  if (how === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  if (how === 'audience') claims.aud = 'someone-else';
  if (how === 'issuer') claims.iss = 'https://elsewhere.example.test';
  // A forged token is signed with a key the provider never published, under its key id.
  const key = how === 'forged' ? other : await importJWK(jwk, 'RS256');
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: header.kid ?? 'test-key' })
    .sign(key);
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * A browser without JavaScript: follows redirects, keeps cookies, and submits the provider's
 * forms (login as `login`, then consent), until it is sent to a URL that starts with `stopAt`
 * (returned) or lands on a page without a form (its text returned).
 */
export class Browser {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly login: string) {}

  async open(url: string, stopAt?: string): Promise<{ stoppedAt?: string; page?: string }> {
    let next: { url: string; method: string; body?: URLSearchParams } = { url, method: 'GET' };
    for (let step = 0; step < 30; step++) {
      if (stopAt && next.url.startsWith(stopAt)) return { stoppedAt: next.url };
      const response = await fetch(next.url, {
        method: next.method,
        redirect: 'manual',
        headers: {
          cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
          ...(next.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        ...(next.body ? { body: next.body } : {}),
      });
      for (const cookie of response.headers.getSetCookie()) {
        const [pair] = cookie.split(';');
        const at = pair!.indexOf('=');
        this.cookies.set(pair!.slice(0, at), pair!.slice(at + 1));
      }
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        next = { url: new URL(location, next.url).href, method: 'GET' };
        continue;
      }
      const page = await response.text();
      const form = /<form[^>]*action="([^"]*)"[^>]*>/i.exec(page);
      if (!form) return { page };
      const fields = new URLSearchParams();
      for (const input of page.matchAll(/<input[^>]*>/gi)) {
        const name = /name="([^"]*)"/.exec(input[0])?.[1];
        if (!name || name === 'abort') continue;
        const value = /value="([^"]*)"/.exec(input[0])?.[1] ?? '';
        fields.set(
          name,
          name === 'login' ? this.login : name === 'password' ? 'any-password' : decode(value),
        );
      }
      next = { url: new URL(decode(form[1]!), next.url).href, method: 'POST', body: fields };
    }
    throw new Error('The sign-in did not finish in 30 steps.');
  }
}

function decode(text: string): string {
  return text
    .replace(/&amp;/g, '&')
    .replace(/&#x2F;/g, '/')
    .replace(/&quot;/g, '"');
}
