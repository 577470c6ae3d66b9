import { delimiter, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OWN_STARTUP_ENV } from '../../../../src/broker/helperSource';
import {
  KernelEnvironment,
  VSCODE_BROKER_ENV,
  VSCODE_CLAIM_ENV,
} from '../../../../src/extension/kernels/kernelEnvironment';

describe('the environment local kernels inherit', () => {
  it('puts the helper first on PYTHONPATH with the broker and a claim token, and takes them back', () => {
    const env: NodeJS.ProcessEnv = { PYTHONPATH: '/user/lib', HOME: '/home/u' };
    const kernelEnv = new KernelEnvironment('/ext/python', env);
    kernelEnv.install('unix:/tmp/nbsec-1/broker.sock');
    expect(env.PYTHONPATH).toBe(`/ext/python${delimiter}/user/lib`);
    expect(env[VSCODE_BROKER_ENV]).toBe('unix:/tmp/nbsec-1/broker.sock');
    const claim = env[VSCODE_CLAIM_ENV]!;
    expect(claim).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(kernelEnv.accepts(claim)).toBe(true);
    expect(kernelEnv.accepts(claim.slice(1))).toBe(false);
    kernelEnv.uninstall();
    expect(env).toEqual({ PYTHONPATH: '/user/lib', HOME: '/home/u' });
    expect(kernelEnv.accepts(claim)).toBe(false);
  });

  it('a new install has a new claim token; a PYTHONPATH another extension changed since is left alone', () => {
    const env: NodeJS.ProcessEnv = {};
    const kernelEnv = new KernelEnvironment('/ext/python', env);
    kernelEnv.install('unix:/a');
    const first = env[VSCODE_CLAIM_ENV]!;
    kernelEnv.install('unix:/a');
    expect(env[VSCODE_CLAIM_ENV]).not.toBe(first);
    expect(kernelEnv.accepts(first)).toBe(false);
    env.PYTHONPATH = `/other${delimiter}${env.PYTHONPATH}`;
    kernelEnv.uninstall();
    expect(env.PYTHONPATH).toBe(`/other${delimiter}/ext/python`);
    expect(env[VSCODE_CLAIM_ENV]).toBeUndefined();
  });

  it("runs the helper's start-up file in new kernels, chained to the user's own", () => {
    const helper = resolve('python');
    const startup = join(helper, 'notebook_secrets_startup.py');
    const env: NodeJS.ProcessEnv = { PYTHONSTARTUP: '/home/u/.pythonrc' };
    const kernelEnv = new KernelEnvironment(helper, env);
    kernelEnv.install('unix:/a');
    expect(env.PYTHONSTARTUP).toBe(startup);
    expect(env[OWN_STARTUP_ENV]).toBe('/home/u/.pythonrc');
    kernelEnv.uninstall();
    expect(env.PYTHONSTARTUP).toBe('/home/u/.pythonrc');
    expect(env[OWN_STARTUP_ENV]).toBeUndefined();

    const none: NodeJS.ProcessEnv = {};
    const fresh = new KernelEnvironment(helper, none);
    fresh.install('unix:/a');
    expect(none.PYTHONSTARTUP).toBe(startup);
    expect(none[OWN_STARTUP_ENV]).toBeUndefined();
    fresh.uninstall();
    expect(none.PYTHONSTARTUP).toBeUndefined();
  });
});
