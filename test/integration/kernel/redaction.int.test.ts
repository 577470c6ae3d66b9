/**
 * Served values redacted from what a real kernel sends: streams, rich display, results and
 * errors, in the value's common encodings; the cell's source left alone; redaction turned off
 * and on again.
 */
import type { Kernel } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInjectionCode } from '../../../src/broker/injection';
import {
  canary,
  injectBroker,
  startKernelRig,
  type BrokerFixture,
  type KernelRig,
} from './fixtures';
import { runCell } from './harness';

// Padded, so that key.strip() is a derived string that is not the stored value.
const API_KEY = `  ${canary('redact')}/+=&  `;
const BARE = API_KEY.trim();
const FILE_BYTES = Buffer.from(`file-${canary('bytes')}`);
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
/** Every form of the values that must never reach a frontend. */
const FORMS = [
  BARE,
  b64(BARE),
  encodeURIComponent(BARE),
  Buffer.from(BARE).toString('hex'),
  FILE_BYTES.toString(),
  FILE_BYTES.toString('base64'),
];

let rig: KernelRig;
let fx: BrokerFixture;
let kernel: Kernel.IKernelConnection;

function expectNoValue(iopub: string[]): void {
  for (const message of iopub) {
    for (const form of FORMS) expect(message).not.toContain(form);
  }
}

beforeAll(async () => {
  rig = await startKernelRig();
  fx = rig.fx;
  fx.source.set('API_KEY', API_KEY);
  fx.source.set('KEY_FILE', FILE_BYTES.toString('base64'), 'base64');
  ({ kernel } = await rig.startInjected('python3', 'file:///work/redaction.ipynb'));
  const r = await runCell(
    kernel,
    "key = get_secret('API_KEY')\nkey_file = get_secret_bytes('KEY_FILE')\nimport sys",
  );
  expect(r.error).toBeUndefined();
});

afterAll(async () => {
  await rig?.stop();
});

describe('output redaction in a real kernel', () => {
  it('replaces the value in print, a derived strip() and an f-string', async () => {
    const r = await runCell(
      kernel,
      "print(key)\nprint(key.strip())\nprint(f'Bearer {key.strip()}!')\nprint(key_file.decode(), file=sys.stderr)\nkey",
    );
    expect(r.error).toBeUndefined();
    // The returned value keeps its masked repr.
    expect(r.result).toBe("<secret 'API_KEY'>");
    expect(r.stdout.split('\n').map((l) => l.trim())).toEqual([
      '[secret API_KEY]',
      '[secret API_KEY]',
      'Bearer [secret API_KEY]!',
      '',
    ]);
    expect(r.stderr.trim()).toBe('[secret KEY_FILE]');
    expectNoValue(r.iopub);
  });

  it('replaces its base64, URL-safe base64, percent-encoded, JSON-escaped and hex forms', async () => {
    const r = await runCell(
      kernel,
      [
        'import base64, json, urllib.parse',
        'v = key.strip().encode()',
        'print(base64.b64encode(v).decode())',
        'print(base64.urlsafe_b64encode(v).decode().rstrip("="))',
        "print('https://x.test/?k=' + urllib.parse.quote(key.strip(), safe=''))",
        'print(json.dumps({"k": key}))',
        'print(v.hex())',
        'print(base64.b64encode(key_file).decode())',
      ].join('\n'),
    );
    expect(r.error).toBeUndefined();
    expect(r.stdout.trim().split('\n')).toEqual([
      '[secret API_KEY]',
      '[secret API_KEY]',
      'https://x.test/?k=[secret API_KEY]',
      '{"k": "[secret API_KEY]"}',
      '[secret API_KEY]',
      '[secret KEY_FILE]',
    ]);
    expectNoValue(r.iopub);
  });

  it('replaces it in an error message and its traceback', async () => {
    const r = await runCell(
      kernel,
      "def call():\n    raise ValueError('401 for https://api.test/?key=' + key.strip())\ncall()",
    );
    expect(r.error?.ename).toBe('ValueError');
    expect(r.error?.evalue).toBe('401 for https://api.test/?key=[secret API_KEY]');
    const error = r.iopub.map((m) => JSON.parse(m)).find((m) => m.header.msg_type === 'error');
    expect(JSON.stringify(error.content.traceback)).toContain('[secret API_KEY]');
    expectNoValue(r.iopub);
  });

  it('replaces it in display() of a dict, HTML and JSON, and in a result', async () => {
    const r = await runCell(
      kernel,
      [
        'from IPython.display import display, HTML, JSON',
        "cfg = {'api_key': key.strip(), 'url': 'https://api.test'}",
        'display(cfg)',
        "display(HTML('<b>' + key.strip() + '</b>'))",
        'display(JSON(cfg))',
        'cfg',
      ].join('\n'),
    );
    expect(r.error).toBeUndefined();
    const data = r.iopub
      .map((m) => JSON.parse(m))
      .filter((m) => ['display_data', 'execute_result'].includes(m.header.msg_type))
      .map((m) => m.content.data);
    expect(data).toHaveLength(4);
    expect(data[0]['text/plain']).toContain("'api_key': '[secret API_KEY]'");
    expect(data[1]['text/html']).toBe('<b>[secret API_KEY]</b>');
    expect(data[2]['application/json'].api_key).toBe('[secret API_KEY]');
    expect(r.result).toContain("'api_key': '[secret API_KEY]'");
    expectNoValue(r.iopub);
  });

  it('catches a value written in pieces, with a flush between them', async () => {
    const r = await runCell(
      kernel,
      [
        'v = key.strip()',
        'sys.stdout.write(v[:7]); sys.stdout.flush()',
        'import time; time.sleep(0.3)',
        "sys.stdout.write(v[7:] + ' end\\n'); sys.stdout.flush()",
      ].join('\n'),
    );
    expect(r.stdout).toBe('[secret API_KEY] end\n');
    expectNoValue(r.iopub);
  });

  it('redacts 1,000 outputs printed in a loop', async () => {
    const r = await runCell(
      kernel,
      'for i in range(1000):\n    print(i, key.strip(), flush=i % 7 == 0)',
    );
    expect(r.error).toBeUndefined();
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1000);
    expect(lines.every((l, i) => l === `${i} [secret API_KEY]`)).toBe(true);
    expectNoValue(r.iopub);
  });

  it("redacts the output of a pasted value but never alters the cell's own source", async () => {
    const code = `pasted = ${JSON.stringify(BARE)}\nprint(pasted)`;
    const r = await runCell(kernel, code);
    const input = r.iopub
      .map((m) => JSON.parse(m))
      .find((m) => m.header.msg_type === 'execute_input');
    expect(input.content.code).toBe(code);
    expect(r.stdout).toBe('[secret API_KEY]\n');
  });

  it('keeps redacting the values served so far when a newer helper replaces this one', async () => {
    const { token } = fx.sessions.issue('file:///work/redaction.ipynb');
    const code = buildInjectionCode({
      helperSource: `${fx.helperSource}\n# a newer helper\n`,
      token,
      endpoint: fx.broker.endpoint,
      inband: false,
    });
    expect((await runCell(kernel, code)).error).toBeUndefined();
    const r = await runCell(
      kernel,
      [
        'import sys',
        "print(sys.modules['notebook_secrets']._redactor.served[0][0])",
        "print(hasattr(sys.modules['notebook_secrets']._redactor, '_session'))",
        'print(key.strip())',
      ].join('\n'),
    );
    expect(r.stdout).toBe('API_KEY\nTrue\n[secret API_KEY]\n');
    expectNoValue(r.iopub);
  });

  it('turns off when injected with redactOutputs: false', async () => {
    const { token } = fx.sessions.issue('file:///work/redaction.ipynb');
    const code = buildInjectionCode({
      helperSource: fx.helperSource,
      token,
      endpoint: fx.broker.endpoint,
      inband: false,
      redactOutputs: false,
    });
    const injected = await runCell(kernel, code);
    expect(injected.error).toBeUndefined();
    const off = await runCell(kernel, 'print(key.strip())');
    expect(off.stdout).toBe(`${BARE}\n`);
    // Injected again with the default, the kernel keeps its setting; the helper call turns it on.
    await injectBroker(fx, kernel, 'file:///work/redaction.ipynb');
    const still = await runCell(kernel, 'print(key.strip())');
    expect(still.stdout).toBe(`${BARE}\n`);
    const on = await runCell(
      kernel,
      'import notebook_secrets\nnotebook_secrets.redact_outputs(True)\nprint(key.strip())',
    );
    expect(on.stdout).toBe('[secret API_KEY]\n');
  });

  it('turns off for this kernel with redact_outputs(False), and on again', async () => {
    const off = await runCell(
      kernel,
      'import notebook_secrets\nprint(notebook_secrets.redact_outputs(False))\nprint(key.strip())',
    );
    expect(off.stdout).toBe(`True\n${BARE}\n`);
    const on = await runCell(
      kernel,
      'print(notebook_secrets.redact_outputs(True))\nprint(key.strip())',
    );
    expect(on.stdout).toBe('False\n[secret API_KEY]\n');
  });
});
