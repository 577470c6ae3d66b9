/**
 * The helper outside Jupyter, on every Python we can find (3.8 is the oldest supported): it must
 * compile, reach the broker and fail with clear messages. Interpreters not installed are skipped.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInjectionCode } from '../../../src/broker/injection';
import { canary, sha256, startBroker, type BrokerFixture } from './fixtures';
import { SYSTEM_PYTHON } from './harness';

const pyenv = join(homedir(), '.pyenv', 'versions');
const candidates = [
  SYSTEM_PYTHON,
  ...['3.8.18', '3.13.0'].map((v) => join(pyenv, v, 'bin', 'python3')),
].filter((p) => existsSync(p));

const VALUE = `${canary('py')}-é🔑`;
let fx: BrokerFixture;

beforeAll(async () => {
  fx = await startBroker();
  fx.source.set('API_KEY', VALUE);
});
afterAll(async () => {
  await fx?.broker.stop();
});

/** Async on purpose: the broker answering the script runs in this process's event loop. */
function run(python: string, code: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(python, ['-c', code], { encoding: 'utf8', timeout: 20_000 }, (_err, stdout, stderr) =>
      resolve({ stdout, stderr }),
    );
  });
}

describe.each(candidates)('helper on %s', (python) => {
  it('reads a value over the broker, masks its repr, and pickles it as str', async () => {
    const { token } = fx.sessions.issue('file:///script.ipynb');
    const code =
      buildInjectionCode({
        helperSource: fx.helperSource,
        token,
        endpoint: fx.broker.endpoint,
        inband: false,
      }) +
      [
        'import hashlib, pickle, sys',
        "v = get_secret('API_KEY')",
        "print(hashlib.sha256(v.encode('utf-8')).hexdigest(), repr(v), type(pickle.loads(pickle.dumps(v))).__name__)",
        'print(sys.version_info >= (3, 8))',
      ].join('\n');
    const r = await run(python, code);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual([
      `${sha256(VALUE)} <secret 'API_KEY'> str`,
      'True',
    ]);
  });

  it('says what to do when get_secret was never enabled, or for a bad name', async () => {
    const code =
      buildInjectionCode({ helperSource: fx.helperSource, token: 'x', inband: true }) +
      [
        'import notebook_secrets as ns',
        'ns._config = None',
        "try:\n  get_secret('A')\nexcept ns.SecretsUnavailableError as e:\n  print(e)",
        "try:\n  get_secret('1bad')\nexcept ValueError as e:\n  print(e)",
        "ns._configure('x', inband=True)",
        "try:\n  get_secret('A')\nexcept ns.SecretsUnavailableError as e:\n  print(e)",
      ].join('\n');
    const lines = (await run(python, code)).stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^get_secret is not enabled in this kernel .*Enable get_secret for this notebook/,
    );
    expect(lines[1]).toMatch(/^'1bad' is not a valid secret name/);
    expect(lines[2]).toMatch(/in-band channel needs an IPython kernel/);
  });
});

describe('in-band draining of stale replies (system Python, which has ipykernel and pyzmq)', () => {
  /** A kernel object whose sockets are real pyzmq sockets, so the helper meets real ZMQErrors. */
  const kernelWith = (stdinSetup: string[]): string =>
    buildInjectionCode({ helperSource: fx.helperSource, token: 'x', inband: true }) +
    [
      'import errno, zmq',
      'import notebook_secrets as ns',
      'from jupyter_client.session import Session',
      'ctx = zmq.Context()',
      "feed = ctx.socket(zmq.PAIR); feed.bind('inproc://stdin')",
      "stdin = ctx.socket(zmq.PAIR); stdin.connect('inproc://stdin')",
      ...stdinSetup,
      'class Kernel:',
      '    stdin_socket = stdin',
      '    iopub_socket = ctx.socket(zmq.PUB)',
      "    session = Session(key=b'k')",
      '    def get_parent(self, channel):',
      '        return {}',
      'ns._InbandTransport._kernel = staticmethod(lambda: Kernel())',
      'ns._INBAND_ACK_TIMEOUT = 0.3',
      "try:\n  get_secret('A')\nexcept zmq.ZMQError as e:\n  print('ZMQError', errno.errorcode.get(e.errno))\nexcept ns.SecretsUnavailableError as e:\n  print(e)",
    ].join('\n');

  it('empties the queue on EAGAIN and goes on to ask the client', async () => {
    const code = kernelWith([
      "feed.send_multipart([b'stale', b'1']); feed.send_multipart([b'stale', b'2'])",
      'while not stdin.poll(0): pass',
    ]);
    const r = await run(SYSTEM_PYTHON, code + "\nprint('left', stdin.poll(0))");
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^No Notebook Secrets client answered this kernel within 0.3 s/);
    expect(lines[1]).toBe('left 0');
  });

  it('raises any other ZMQError, as ipykernel does, instead of sending on a dead socket', async () => {
    const r = await run(SYSTEM_PYTHON, kernelWith(['stdin.close()']));
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ZMQError ENOTSOCK');
  });
});
