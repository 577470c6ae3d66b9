import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../../src/core/errors';
import {
  checkTransport,
  insecureWarning,
  isLoopbackHost,
  loopbackOnlyLookup,
  normalizeServerUrl,
  NotLoopbackError,
  serverUrlProblem,
  transportProblem,
} from '../../../src/core/serverUrl';

const policy = { optIn: '--insecure-http', what: 'The team server URL' };
const host = (url: string) => new URL(url).hostname;

describe('isLoopbackHost', () => {
  it('accepts 127.0.0.0/8, ::1 and localhost as URLs write them', () => {
    for (const url of [
      'http://127.0.0.1:8787',
      'http://127.1.2.3/',
      'http://127.1/', // URL writes it 127.0.0.1
      'http://[::1]:8787',
      'http://[0:0:0:0:0:0:0:1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://localhost:8787',
      'http://LOCALHOST/',
    ])
      expect(isLoopbackHost(host(url)), url).toBe(true);
  });

  it('refuses every other host, including names that only look local', () => {
    for (const url of [
      'http://0.0.0.0:8787',
      'http://10.0.0.5/',
      'http://128.0.0.1/',
      'http://192.168.1.2/',
      'http://[::]/',
      'http://[::2]/',
      'http://[::ffff:10.0.0.1]/',
      'http://[fe80::1]/',
      'http://127.0.0.1.example.com/',
      'http://localhost.example.com/',
      'http://secrets.lab.internal:8787',
      // Names the resolver may send anywhere: a hosts entry, a search domain, DNS.
      'http://localhost./',
      'http://team.localhost/',
      'http://api.localhost./',
      'http://localhost6/',
    ])
      expect(isLoopbackHost(host(url)), url).toBe(false);
  });

  it('takes bare listen addresses too (serve --host)', () => {
    expect(isLoopbackHost('::1')).toBe(true);
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('::')).toBe(false);
  });
});

describe('the plain-HTTP rule', () => {
  it('lets https:// go anywhere and http:// only to this machine', () => {
    expect(checkTransport(new URL('https://secrets.example.com'), policy)).toBe('https');
    expect(checkTransport(new URL('http://127.0.0.1:8787'), policy)).toBe('loopback-http');
    expect(checkTransport(new URL('http://[::1]:8787'), policy)).toBe('loopback-http');
  });

  it('refuses http:// to another host with a message that names the opt-in and https', () => {
    const url = new URL('http://secrets.lab.internal:8787');
    const problem = transportProblem(url, policy)!;
    expect(problem).toMatch(
      /^The team server URL uses plain http:\/\/ to secrets.lab.internal:8787/,
    );
    expect(problem).toContain('https://secrets.lab.internal:8787');
    expect(problem).toContain('--insecure-http');
    expect(() => checkTransport(url, policy)).toThrow(InvalidInput);
  });

  it('allows it with the opt-in and says so as insecure', () => {
    const url = new URL('http://secrets.lab.internal:8787');
    expect(checkTransport(url, { ...policy, allowInsecureHttp: true })).toBe('insecure-http');
    expect(insecureWarning(url, '--insecure-http')).toMatch(/INSECURE.*--insecure-http/);
  });

  it('holds for websockets too', () => {
    expect(transportProblem(new URL('ws://10.0.0.5/api'), policy)).toMatch(/wss:\/\//);
    expect(transportProblem(new URL('wss://10.0.0.5/api'), policy)).toBeUndefined();
  });
});

describe('loopbackOnlyLookup: the address actually connected to', () => {
  /** A resolver that answers every name with `answers`. */
  const resolver =
    (answers: LookupAddress[]): LookupFunction =>
    (_hostname, options, callback) =>
      options.all
        ? callback(null, answers)
        : callback(null, answers[0]!.address, answers[0]!.family);
  const resolve = (lookup: LookupFunction, hostname: string, all: boolean) =>
    new Promise<{ error: Error | null; address: unknown }>((done) =>
      lookup(hostname, { all }, (error, address) => done({ error, address })),
    );

  it('refuses localhost when it resolves to another machine, with the plain-HTTP reason', async () => {
    const lookup = loopbackOnlyLookup(resolver([{ address: '192.0.2.7', family: 4 }]));
    for (const all of [false, true]) {
      const { error } = await resolve(lookup, 'localhost', all);
      expect(error).toBeInstanceOf(NotLoopbackError);
      expect(error).toBeInstanceOf(InvalidInput);
      expect(error!.message).toMatch(
        /localhost resolved to 192\.0\.2\.7, which is not a loopback address.*unencrypted/,
      );
    }
  });

  it('refuses it when any one of its addresses is another machine', async () => {
    const lookup = loopbackOnlyLookup(
      resolver([
        { address: '::1', family: 6 },
        { address: 'fd00::2', family: 6 },
      ]),
    );
    expect((await resolve(lookup, 'LOCALHOST', true)).error!.message).toContain('fd00::2');
  });

  it('lets localhost through to loopback addresses', async () => {
    const answers = [
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ];
    const lookup = loopbackOnlyLookup(resolver(answers));
    expect(await resolve(lookup, 'localhost', true)).toEqual({ error: null, address: answers });
    expect(await resolve(lookup, 'localhost', false)).toEqual({
      error: null,
      address: '127.0.0.1',
    });
  });

  it('leaves other names to the resolver (https, or a plain-HTTP opt-in, decides for them)', async () => {
    const lookup = loopbackOnlyLookup(resolver([{ address: '192.0.2.7', family: 4 }]));
    expect(await resolve(lookup, 'secrets.example.com', false)).toEqual({
      error: null,
      address: '192.0.2.7',
    });
  });
});

describe('the team server URL: one rule for the extension and the CLI', () => {
  it('normalizes a good URL and refuses a bad one with the reason', () => {
    expect(normalizeServerUrl(' https://secrets.example.com/base/ ')).toBe(
      'https://secrets.example.com/base',
    );
    expect(() => normalizeServerUrl('secrets.example.com')).toThrow(/not a full URL/);
    expect(() => normalizeServerUrl('ftp://x')).toThrow(/https:\/\/ or http:\/\//);
    expect(() => normalizeServerUrl('https://u:p@x.example')).toThrow(/credentials/);
    expect(() => normalizeServerUrl('https://x.example/#f')).toThrow(/without \?query/);
  });

  it('adds the plain-HTTP rule for an input box', () => {
    expect(serverUrlProblem('http://127.0.0.1:8787', policy)).toBeUndefined();
    expect(serverUrlProblem('http://team.localhost:8787', policy)).toMatch(
      /plain http:\/\/ to team\.localhost:8787, which is not a loopback address/,
    );
    expect(serverUrlProblem('secrets', policy)).toMatch(/not a full URL/);
  });
});
