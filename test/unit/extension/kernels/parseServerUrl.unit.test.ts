import { describe, expect, it } from 'vitest';
import { parseServerUrl } from '../../../../src/extension/kernels/remoteServers';

describe('parseServerUrl', () => {
  it('takes the base URL and moves a token out of the query', () => {
    expect(parseServerUrl('http://127.0.0.1:8888/lab?token=abc')).toEqual({
      url: 'http://127.0.0.1:8888/',
      token: 'abc',
    });
    expect(parseServerUrl(' https://hub.example/user/ana/tree/work ')).toEqual({
      url: 'https://hub.example/user/ana/',
    });
    expect(parseServerUrl('http://host:8888')).toEqual({ url: 'http://host:8888/' });
  });

  it('refuses what is not an http(s) URL', () => {
    expect(parseServerUrl('localhost:8888')).toBeUndefined();
    expect(parseServerUrl('ftp://host/')).toBeUndefined();
    expect(parseServerUrl('')).toBeUndefined();
  });
});
