import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../../src/core/errors';
import {
  checkTransport,
  insecureWarning,
  isLoopbackHost,
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
      'http://LOCALHOST./',
      'http://api.localhost/',
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
