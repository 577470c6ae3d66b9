/**
 * get_secret in real Python kernels on a real Jupyter server: over the broker (local kernels) and
 * in band (IOPub request, stdin reply) through a JupyterAttachment (remote kernels, attach).
 */
import { randomBytes } from 'node:crypto';
import type { Kernel } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JupyterAttachment } from '../../../src/broker/jupyterAttachment';
import {
  canary,
  injectBroker,
  sha256,
  startBroker,
  startKernelRig,
  type BrokerFixture,
  type KernelRig,
} from './fixtures';
import { startKernel, type JupyterServer } from './harness';

const API_KEY = canary('api');
const UNICODE = `ключ-🔑-秘密-${canary('uni')}`;
const BIG = canary('big') + 'x'.repeat(65_536 - 40);
const TOO_BIG = 'y'.repeat(65_537);
const FILE_BYTES = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x80]), randomBytes(2000)]);
const PEM = `-----BEGIN KEY-----\n${canary('pem')}\n-----END KEY-----\n`;
const TEAM_ONLY = canary('team');
const PERSONAL_OVER_TEAM = canary('personal');
const CANARIES = [API_KEY, UNICODE, BIG.slice(0, 60), TEAM_ONLY, PERSONAL_OVER_TEAM, PEM];

let rig: KernelRig;
let server: JupyterServer;
let fx: BrokerFixture;
let brokerKernel: Kernel.IKernelConnection;
let inbandKernel: Kernel.IKernelConnection;
let attachment: JupyterAttachment;
let brokerKernelToken = '';

const cell = (kernel: Kernel.IKernelConnection, code: string) => rig.cell(kernel, code);

beforeAll(async () => {
  rig = await startKernelRig();
  ({ server, fx } = rig);
  fx.source.set('API_KEY', API_KEY);
  fx.source.set('UNICODE', UNICODE);
  fx.source.set('BIG', BIG);
  fx.source.set('TOO_BIG', TOO_BIG);
  fx.source.set('FILE', FILE_BYTES.toString('base64'), 'base64');
  fx.source.set('PEM', Buffer.from(PEM).toString('base64'), 'base64');
  fx.source.set('TEAM_ONLY', TEAM_ONLY, 'text', 'team');
  fx.source.set('SHADOWED', TEAM_ONLY, 'text', 'team');
  fx.source.set('SHADOWED', PERSONAL_OVER_TEAM, 'text', 'personal');
  fx.answers.set('DENIED', 'deny');
  fx.source.set('DENIED', canary('denied'));
  [brokerKernel, inbandKernel] = await Promise.all([startKernel(server), startKernel(server)]);
  brokerKernelToken = await injectBroker(fx, brokerKernel, 'file:///work/broker.ipynb');
  attachment = new JupyterAttachment({
    ...rig.attachmentOptions(),
    pollIntervalMs: 500,
    kernelFilter: (model) => model.id === inbandKernel.id,
    onSessionEnded: (id) => fx.consent.forgetSession(id),
  });
  attachment.onDidInject((id) => injectedBeforeStart.push(id));
  await attachment.start();
  startedWith = [...injectedBeforeStart];
  await attachment.whenInjected(inbandKernel.id);
});

/** Kernels the attachment had injected when start() resolved. */
const injectedBeforeStart: string[] = [];
let startedWith: string[] = [];

it('an attachment has injected the running kernels when it has started, so a cell run right after finds the helper', () => {
  expect(startedWith).toEqual([inbandKernel.id]);
});

afterAll(async () => {
  attachment?.dispose();
  await rig?.stop();
});

describe.each([
  ['broker', () => brokerKernel],
  ['in band', () => inbandKernel],
])('get_secret over the %s', (label, kernelOf) => {
  it('returns the value, with a masked repr, pickling as plain str', async () => {
    const r = await cell(
      kernelOf(),
      [
        'import hashlib, pickle',
        "v = get_secret('API_KEY')",
        'print(hashlib.sha256(v.encode()).hexdigest(), len(v), type(pickle.loads(pickle.dumps(v))) is str)',
        'v',
      ].join('\n'),
    );
    expect(r.error).toBeUndefined();
    expect(r.stdout.trim()).toBe(`${sha256(API_KEY)} ${API_KEY.length} True`);
    expect(r.result).toBe("<secret 'API_KEY'>");
  });

  it('raises SecretNotFoundError (a KeyError) for an unknown name', async () => {
    const r = await cell(
      kernelOf(),
      "try:\n  get_secret('NO_SUCH_SECRET')\nexcept KeyError as e:\n  print(type(e).__name__, '|', e)",
    );
    expect(r.stdout).toContain("SecretNotFoundError | No secret named 'NO_SUCH_SECRET'");
  });

  it('raises SecretAccessError promptly when the user denies', async () => {
    const r = await cell(
      kernelOf(),
      "import time\nt=time.time()\ntry:\n  get_secret('DENIED')\nexcept PermissionError as e:\n  print(type(e).__name__, round(time.time()-t, 1) < 2, '|', e)",
    );
    expect(r.stdout).toMatch(/^SecretAccessError True \| Access to 'DENIED' was denied/);
  });

  it('reads 64 KiB and Unicode values, and refuses a value over the limit', async () => {
    const r = await cell(
      kernelOf(),
      [
        'import hashlib',
        "print(hashlib.sha256(get_secret('BIG').encode()).hexdigest())",
        "print(hashlib.sha256(get_secret('UNICODE').encode('utf-8')).hexdigest())",
        // Exported next to the other errors by the injection.
        "try:\n  get_secret('TOO_BIG')\nexcept SecretTooLargeError as e:\n  print(type(e).__mro__[1].__name__, '|', e)",
      ].join('\n'),
    );
    expect(r.error).toBeUndefined();
    const [big, uni, tooBig] = r.stdout.trim().split('\n');
    expect(big).toBe(sha256(BIG));
    expect(uni).toBe(sha256(UNICODE));
    expect(tooBig).toMatch(
      /^SecretsUnavailableError \| 'TOO_BIG' is 65,537 bytes; a kernel may receive at most 65,536 bytes \(64 KiB\)\. Store a smaller value\.$/,
    );
  });

  it('decodes file secrets with get_secret_bytes and tells get_secret to use it for binaries', async () => {
    const r = await cell(
      kernelOf(),
      [
        'import hashlib',
        "print(hashlib.sha256(get_secret_bytes('FILE')).hexdigest())",
        "print(hashlib.sha256(get_secret('PEM').encode()).hexdigest())",
        "try:\n  get_secret('FILE')\nexcept ValueError as e:\n  print(e)",
      ].join('\n'),
    );
    const [file, pem, hint] = r.stdout.trim().split('\n');
    expect(file).toBe(sha256(FILE_BYTES));
    expect(pem).toBe(sha256(PEM));
    expect(hint).toBe("'FILE' is a binary file secret; read it with get_secret_bytes('FILE').");
  });

  it('resolves by precedence and honours scope=', async () => {
    const r = await cell(
      kernelOf(),
      [
        'import hashlib',
        'h = lambda v: hashlib.sha256(v.encode()).hexdigest()',
        "print(h(get_secret('SHADOWED')))",
        "print(h(get_secret('SHADOWED', scope='team')))",
        "try:\n  get_secret('TEAM_ONLY', scope='personal')\nexcept KeyError as e:\n  print('missing')",
      ].join('\n'),
    );
    expect(r.stdout.trim().split('\n')).toEqual([
      sha256(PERSONAL_OVER_TEAM),
      sha256(TEAM_ONLY),
      'missing',
    ]);
  });

  it('serves 1,000 calls in a loop and calls from 8 threads at once', async () => {
    const r = await cell(
      kernelOf(),
      [
        'import hashlib, threading',
        "vals = {get_secret('API_KEY') for _ in range(1000)}",
        'res = []',
        "def work():\n  for _ in range(50): res.append(get_secret('UNICODE'))",
        'ts = [threading.Thread(target=work) for _ in range(8)]',
        '[t.start() for t in ts]; [t.join() for t in ts]',
        'print(len(vals), hashlib.sha256(vals.pop().encode()).hexdigest(), len(res), len(set(res)))',
      ].join('\n'),
    );
    expect(r.error).toBeUndefined();
    expect(r.stdout.trim()).toBe(`1 ${sha256(API_KEY)} 400 1`);
  });

  it('rejects a token it did not issue', async () => {
    const r = await cell(
      kernelOf(),
      [
        'import notebook_secrets as ns',
        'cfg = ns._config',
        // In band, no earlier token to fall back to, and a short wait for the answer no one sends.
        'saved, ns._inband_tokens[:] = list(ns._inband_tokens), []',
        'ns._INBAND_ACK_TIMEOUT = 1.5',
        "ns._configure('A' * 43, endpoint=cfg.endpoint, inband=cfg.inband)",
        "try:\n  get_secret('API_KEY')\nexcept ns.SecretsUnavailableError as e:\n  print(e)",
        'ns._INBAND_ACK_TIMEOUT = 5.0',
        'ns._inband_tokens[:] = saved',
        'ns._configure(cfg.token, endpoint=cfg.endpoint, inband=cfg.inband)',
        "print(len(get_secret('API_KEY')))",
      ].join('\n'),
    );
    // The broker says so; in band the client stays silent (another client may own the token).
    expect(r.stdout).toContain(
      label === 'broker'
        ? 'token is not recognized'
        : 'No Notebook Secrets client answered this kernel within 1.5 s',
    );
    expect(r.stdout.trim().split('\n').pop()).toBe(String(API_KEY.length));
  });
});

describe('in-band specifics', () => {
  it('answers while the cell keeps the kernel busy (threads and sleeps around calls)', async () => {
    const r = await cell(
      inbandKernel,
      "import time\ntime.sleep(0.3)\nx = len(get_secret('API_KEY'))\ntime.sleep(0.3)\nprint(x)",
    );
    expect(r.stdout.trim()).toBe(String(API_KEY.length));
  });

  it("ignores another kernel's token presented over this kernel's connection", async () => {
    const r = await cell(
      inbandKernel,
      [
        'import notebook_secrets as ns',
        'cfg = ns._config',
        'saved, ns._inband_tokens[:] = list(ns._inband_tokens), []',
        'ns._INBAND_ACK_TIMEOUT = 1.5',
        `ns._configure(${JSON.stringify(brokerKernelToken)}, inband=True)`,
        "try:\n  get_secret('API_KEY')\nexcept ns.SecretsUnavailableError as e:\n  print(e)",
        'ns._INBAND_ACK_TIMEOUT = 5.0',
        'ns._inband_tokens[:] = saved',
        'ns._configure(cfg.token, endpoint=cfg.endpoint, inband=cfg.inband)',
      ].join('\n'),
    );
    expect(r.stdout).toContain('No Notebook Secrets client answered this kernel');
    expect(fx.log.lines).toContain(
      'debug Ignored an in-band request with a token this client did not issue.',
    );
  });

  it('says what to do when no client answers', async () => {
    const lone = await startKernel(server);
    try {
      await injectInbandOnly(lone);
      const r = await cell(
        lone,
        "import notebook_secrets as ns\nns._INBAND_ACK_TIMEOUT = 0.5\ntry:\n  get_secret('API_KEY')\nexcept ns.SecretsUnavailableError as e:\n  print(e)",
      );
      expect(r.stdout).toContain('No Notebook Secrets client answered this kernel');
      expect(r.stdout).toContain('notebook-secrets attach');
    } finally {
      await lone.shutdown();
    }
  });

  it('re-injects the helper after a kernel restart', async () => {
    const injected = new Promise<number>((resolve) => {
      const sub = attachment.onDidInject((id, n) => {
        if (id === inbandKernel.id) {
          sub.dispose();
          resolve(n);
        }
      });
    });
    await inbandKernel.restart();
    expect(await injected).toBeGreaterThanOrEqual(2);
    const r = await cell(inbandKernel, "print(len(get_secret('UNICODE')))");
    expect(r.stdout.trim()).toBe(String([...UNICODE].length));
  });

  async function injectInbandOnly(kernel: Kernel.IKernelConnection) {
    const { buildInjectionCode } = await import('../../../src/broker/injection');
    const { token } = fx.sessions.issue('remote:lone');
    const code = buildInjectionCode({ helperSource: fx.helperSource, token, inband: true });
    await kernel.requestExecute({ code, silent: true, store_history: false }).done;
  }
});

describe('broker specifics', () => {
  it('says the broker is gone when VS Code closed', async () => {
    const other = await startBroker();
    other.source.set('API_KEY', API_KEY);
    const kernel = await startKernel(server);
    try {
      await injectBroker(other, kernel, 'file:///work/gone.ipynb');
      expect((await cell(kernel, "print(len(get_secret('API_KEY')))")).stdout.trim()).toBe(
        String(API_KEY.length),
      );
      await other.broker.stop();
      const r = await cell(
        kernel,
        "import notebook_secrets as ns\ntry:\n  get_secret('API_KEY')\nexcept ns.SecretsUnavailableError as e:\n  print(e)",
      );
      expect(r.stdout).toContain('The Notebook Secrets broker is not reachable');
    } finally {
      await kernel.shutdown();
    }
  });

  it('does not leave a socket open per finished thread', async () => {
    const r = await cell(
      brokerKernel,
      [
        'import gc, os, threading',
        "before = len(os.listdir('/proc/self/fd'))",
        'for _ in range(300):',
        "  t = threading.Thread(target=lambda: get_secret('API_KEY')); t.start(); t.join()",
        'gc.collect()',
        "print(len(os.listdir('/proc/self/fd')) - before < 20)",
      ].join('\n'),
    );
    expect(r.error).toBeUndefined();
    expect(r.stdout.trim()).toBe('True');
  });

  it('keeps kernels apart: each has its own token and its own consent', async () => {
    const second = await startKernel(server);
    try {
      await injectBroker(fx, second, 'file:///work/other.ipynb');
      fx.answers.set('PER_NOTEBOOK', 'deny');
      fx.source.set('PER_NOTEBOOK', canary('per'));
      await fx.consent.grant('file:///work/broker.ipynb', 'PER_NOTEBOOK');
      const code =
        "import notebook_secrets as ns\nout = []\nfor _ in range(200):\n  try:\n    out.append(len(get_secret('PER_NOTEBOOK')))\n  except PermissionError:\n    out.append('denied')\nprint(set(out), ns._config.token[:6])";
      const [a, b] = await Promise.all([cell(brokerKernel, code), cell(second, code)]);
      expect(a.stdout).toMatch(/^\{\d+\} /);
      expect(b.stdout).toMatch(/^\{'denied'\} /);
      expect(a.stdout.split(' ')[1]).not.toBe(b.stdout.split(' ')[1]);
    } finally {
      await second.shutdown();
    }
  });
});

describe('no value leaks', () => {
  it('appears in no IOPub message (execute_input included), broker log or server log', () => {
    const haystacks = {
      iopub: rig.iopub.join('\n'),
      brokerLog: fx.log.lines.join('\n'),
      serverLog: server.log(),
    };
    expect(rig.iopub.some((m) => m.includes('"execute_input"'))).toBe(true);
    for (const [where, text] of Object.entries(haystacks)) {
      for (const value of CANARIES) {
        expect(text.includes(value), `${where} contains a secret value`).toBe(false);
      }
    }
  });
});
