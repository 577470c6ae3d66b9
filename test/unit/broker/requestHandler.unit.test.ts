import { describe, expect, it } from 'vitest';
import { exactBytes, SecretRequestHandler } from '../../../src/broker/requestHandler';
import type { KernelSession } from '../../../src/broker/kernelSessions';
import { silentLog, type SecretSource } from '../../../src/broker/secretSource';
import { attachWording } from '../../../src/cli/commands/attach';

const session: KernelSession = { id: 'k1', notebook: 'nb', label: 'nb', createdAt: 0 };
const source = (values: Record<string, string>): SecretSource => ({
  resolve: async (name) =>
    values[name] === undefined ? undefined : { value: values[name], encoding: 'text' },
});

describe('SecretRequestHandler messages', () => {
  it('tells a VS Code user to add a missing secret in the Secrets view', async () => {
    const handler = new SecretRequestHandler({ source: source({}), log: silentLog });
    expect(await handler.handle(session, { name: 'MISSING' })).toEqual({
      error: {
        code: 'not_found',
        message:
          "No secret named 'MISSING'. Add it in the Notebook Secrets view (or check the spelling).",
      },
    });
  });

  it('tells an attach user which file or environment variable to set, not a VS Code view', async () => {
    const fromFile = new SecretRequestHandler({
      source: source({}),
      log: silentLog,
      wording: attachWording({ jupyter: 'http://h/', secrets: 'team.env' }),
    });
    const fromEnv = new SecretRequestHandler({
      source: source({}),
      log: silentLog,
      wording: attachWording({ jupyter: 'http://h/', fromEnv: 'NB_' }),
    });
    const message = async (h: SecretRequestHandler) =>
      JSON.stringify(await h.handle(session, { name: 'MISSING' }));
    expect(await message(fromFile)).toContain(
      'Add it to team.env, restart `notebook-secrets attach` and call get_secret again.',
    );
    expect(await message(fromEnv)).toContain(
      'Set NB_MISSING in the environment of `notebook-secrets attach`, restart it',
    );
    expect(await message(fromEnv)).not.toContain('view');
  });

  it('states both exact sizes when a value is over the limit', async () => {
    const handler = new SecretRequestHandler({
      source: source({ OVER: 'x'.repeat(65_537) }),
      log: silentLog,
    });
    expect(await handler.handle(session, { name: 'OVER' })).toEqual({
      error: {
        code: 'value_too_large',
        message:
          "'OVER' is 65,537 bytes; a kernel may receive at most 65,536 bytes (64 KiB). Store a smaller value.",
      },
    });
  });

  it('formats byte counts exactly', () => {
    expect(exactBytes(5)).toBe('5 bytes');
    expect(exactBytes(65_536)).toBe('65,536 bytes (64 KiB)');
    expect(exactBytes(65_537)).toBe('65,537 bytes');
  });
});
