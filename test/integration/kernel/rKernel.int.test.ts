/**
 * get_secret in real R kernels (IRkernel) on a real Jupyter server, over the broker's loopback
 * TCP listener: values, the conditions that mirror the Python exceptions, the masked print, and
 * redaction of served values in the outputs.
 */
import type { Kernel } from '@jupyterlab/services';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRHelperSource } from '../../../src/broker/helperSource';
import { InbandResponder } from '../../../src/broker/inband';
import { JupyterAttachment } from '../../../src/broker/jupyterAttachment';
import { buildRInjectionCode } from '../../../src/broker/rInjection';
import {
  brokerInjection,
  canary,
  inject,
  sha256,
  startKernelRig,
  type BrokerFixture,
  type KernelRig,
} from './fixtures';
import { runCell, startKernel, type JupyterServer } from './harness';

const API_KEY = canary('rkey');
const UNICODE = `ключ-🔑-秘密-${canary('runi')}`;
const FILE_BYTES = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x80]), randomBytes(2000)]);
const DENIED = canary('rdenied');
const BIG = canary('rbig') + 'x'.repeat(65_536 - 40);
const CANARIES = [API_KEY, UNICODE, DENIED, BIG.slice(0, 60)];

let rig: KernelRig;
let server: JupyterServer;
let fx: BrokerFixture;
let kernel: Kernel.IKernelConnection;
let injected = '';

const cell = (code: string) => rig.cell(kernel, code);

beforeAll(async () => {
  rig = await startKernelRig();
  ({ server, fx } = rig);
  fx.source.set('API_KEY', API_KEY);
  fx.source.set('UNICODE', UNICODE);
  fx.source.set('BIG', BIG);
  fx.source.set('FILE', FILE_BYTES.toString('base64'), 'base64');
  fx.source.set('DENIED', DENIED);
  fx.answers.set('DENIED', 'deny');
  ({ kernel, code: injected } = await rig.startInjected('ir', 'file:///work/r.ipynb'));
}, 120_000);

afterAll(async () => {
  await rig?.stop();
});

describe('an R kernel over the broker', () => {
  it('reads a secret with get_secret, as the same string with as.character', async () => {
    const r = await cell(
      [
        'key <- get_secret("API_KEY")',
        'cat(nchar(key), identical(as.character(key), paste0("", key)), "\\n")',
        // Reversed, so that redaction of the outputs leaves it alone.
        'cat(rev(strsplit(as.character(key), "")[[1]]), "\\n", sep = "")',
      ].join('\n'),
    );
    expect(r.error).toBeUndefined();
    const [line1, line2] = r.stdout.trim().split('\n');
    expect(line1?.trim()).toBe(`${API_KEY.length} TRUE`);
    expect(line2?.trim()).toBe([...API_KEY].reverse().join(''));
  });

  it('reads a Unicode value and a 64 KiB value intact', async () => {
    const r = await cell(
      [
        'u <- get_secret("UNICODE")',
        'cat(nchar(u), nchar(u, type = "bytes"), Encoding(as.character(u)), "\\n")',
        'b <- get_secret("BIG")',
        'cat(nchar(b), "\\n")',
      ].join('\n'),
    );
    expect(r.error).toBeUndefined();
    const [uni, big] = r.stdout.trim().split('\n');
    expect(uni?.trim()).toBe(`${[...UNICODE].length} ${Buffer.byteLength(UNICODE)} UTF-8`);
    expect(big?.trim()).toBe(String(BIG.length));
  });

  it('reads a binary file secret as raw with get_secret_raw, and get_secret says to', async () => {
    const r = await cell(
      [
        'f <- get_secret_raw("FILE")',
        'cat(length(f), paste(as.character(f[1:4]), collapse = " "), "\\n")',
        'k <- get_secret_raw("API_KEY")',
        'cat(is.raw(k), length(k), "\\n")',
        'tryCatch(get_secret("FILE"), error = function(e) cat(conditionMessage(e), "\\n"))',
      ].join('\n'),
    );
    expect(r.error).toBeUndefined();
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]?.trim()).toBe(`${FILE_BYTES.length} ff fe 00 80`);
    expect(lines[1]?.trim()).toBe(`TRUE ${API_KEY.length}`);
    expect(lines[2]).toContain('get_secret_raw("FILE")');
  });

  it('prints, formats and shows a returned value masked', async () => {
    const r = await cell(
      [
        'key <- get_secret("API_KEY")',
        'print(key)',
        'cat(format(key), "\\n")',
        'str(key)',
        'key',
      ].join('\n'),
    );
    expect(r.error).toBeUndefined();
    expect(r.stdout).toContain("<secret 'API_KEY'>\n<secret 'API_KEY'>");
    // Masked by the methods themselves: nothing was left for the redaction of outputs to replace.
    expect(JSON.stringify(r.iopub)).not.toContain('[secret API_KEY]');
    expect(r.stdout.match(/<secret 'API_KEY'>/g)).toHaveLength(3);
    const shown = r.iopub
      .map((m) => JSON.parse(m) as { header: { msg_type: string }; content: { data?: object } })
      .filter(
        (m) => m.header.msg_type === 'display_data' || m.header.msg_type === 'execute_result',
      );
    expect(shown).toHaveLength(1);
    for (const text of Object.values(shown[0]!.content.data ?? {})) {
      expect(String(text).replace(/\\/g, '')).toMatch(/(<|&lt;)secret 'API_KEY'(>|&gt;)/);
    }
    expect(JSON.stringify(r.iopub)).not.toContain(API_KEY);
  });

  it('signals SecretNotFoundError for an unknown name, with what to do', async () => {
    const r = await cell(
      [
        'e <- tryCatch(get_secret("NO_SUCH_NAME"), error = function(e) e)',
        'cat(class(e), sep = ",")',
        'cat("\\n", conditionMessage(e), "\\n", sep = "")',
      ].join('\n'),
    );
    expect(r.error).toBeUndefined();
    const [classes, message] = r.stdout.trim().split('\n');
    expect(classes).toBe('SecretNotFoundError,NotebookSecretsError,error,condition');
    expect(message).toContain("No secret named 'NO_SUCH_NAME'");
    expect(message).toContain('Add it in the Notebook Secrets view');
  });

  it('signals SecretAccessError when the user denies access, with how to allow it', async () => {
    const r = await cell(
      [
        'e <- tryCatch(get_secret("DENIED"), error = function(e) e)',
        'cat(class(e), sep = ",")',
        'cat("\\n", conditionMessage(e), "\\n", sep = "")',
      ].join('\n'),
    );
    const [classes, message] = r.stdout.trim().split('\n');
    expect(classes).toBe('SecretAccessError,NotebookSecretsError,error,condition');
    expect(message).toContain("Access to 'DENIED' was denied");
    expect(message).toContain('Manage Notebook Access');
  });

  it('an uncaught condition fails the cell with its message, never a value', async () => {
    const r = await cell('get_secret("NO_SUCH_NAME")');
    expect(r.status).toBe('error');
    expect(r.error?.evalue).toContain("No secret named 'NO_SUCH_NAME'");
  });

  it('refuses a bad name or scope with a specific message, without asking the broker', async () => {
    const before = fx.prompts.length;
    const r = await cell(
      [
        'for (arg in list(quote(get_secret("no-dash")), quote(get_secret(42)), quote(get_secret("API_KEY", scope = "galaxy"))))',
        '  tryCatch(eval(arg), error = function(e) cat(conditionMessage(e), "\\n"))',
      ].join('\n'),
    );
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toContain("'no-dash' is not a valid secret name");
    expect(lines[1]).toContain('not numeric');
    expect(lines[2]).toContain('scope must be NULL, "personal", "project" or "team"');
    expect(fx.prompts.length).toBe(before);
  });

  it('replaces a served value in cat, message, a data frame and an error by [secret NAME]', async () => {
    const r = await cell(
      [
        'key <- get_secret("API_KEY")',
        'cat("token:", key, "\\n")',
        'message("header: Bearer ", key)',
        'print(data.frame(k = as.character(key)))',
        'cat(utils::URLencode(as.character(key), reserved = TRUE), "\\n")',
        'stop("401 for https://api.test/?key=", key)',
      ].join('\n'),
    );
    expect(r.stdout).toContain('token: [secret API_KEY]');
    expect(r.stderr).toContain('header: Bearer [secret API_KEY]');
    expect(r.stdout).toMatch(/1 \[secret API_KEY\]/);
    expect(r.error?.evalue).toContain('https://api.test/?key=[secret API_KEY]');
    expect(JSON.stringify(r.iopub)).not.toContain(API_KEY);
  });

  it('replaces a value written in pieces by separate writes, and sends a start that is not one', async () => {
    const r = await cell(
      [
        'key <- as.character(get_secret("API_KEY"))',
        'cat("token: ", substr(key, 1, 10), sep = "")',
        'cat(substr(key, 11, nchar(key)), "\\n", sep = "")',
        'cat(substr(key, 1, 7))',
        'cat("|not the rest\\n")',
        'cat("ends with", substr(key, 1, 9))',
      ].join('\n'),
    );
    expect(r.error).toBeUndefined();
    expect(r.stdout).toBe(
      `token: [secret API_KEY]\n${API_KEY.slice(0, 7)}|not the rest\nends with ${API_KEY.slice(0, 9)}`,
    );
    expect(JSON.stringify(r.iopub)).not.toContain(API_KEY);
  });

  it('redact_outputs(FALSE) turns redaction off for this kernel', async () => {
    // Not kept with the other outputs: this one shows the value on purpose.
    const r = await runCell(
      kernel,
      [
        'old <- redact_outputs(FALSE)',
        'cat(old, get_secret("API_KEY"), "\\n")',
        'redact_outputs(TRUE)',
      ].join('\n'),
    );
    expect(r.stdout.trim()).toBe(`TRUE ${API_KEY}`);
  });

  it('re-injecting the same helper keeps the values served earlier redacted', async () => {
    await inject(kernel, injected);
    const r = await cell('cat(as.character(key), "\\n")');
    expect(r.stdout.trim()).toBe('[secret API_KEY]');
  });

  it('a kernel whose token was revoked is told how to enable get_secret again', async () => {
    const other = await startKernel(server, 'ir');
    try {
      const { token, code } = await brokerInjection(fx, 'file:///work/revoked.ipynb', 'ir');
      await inject(other, code);
      fx.sessions.revoke(token);
      const r = await runCell(
        other,
        'e <- tryCatch(get_secret("API_KEY"), error = function(e) e); cat(class(e)[1], conditionMessage(e), "\\n")',
      );
      expect(r.stdout).toContain('SecretsUnavailableError');
      expect(r.stdout).toContain('Enable get_secret for this notebook');
      const none = await runCell(
        other,
        'rm(list = ls(as.environment("notebook_secrets"), all.names = TRUE), envir = as.environment("notebook_secrets"))',
      );
      expect(none.status).toBe('ok');
    } finally {
      await other.shutdown();
    }
  });

  it('asks in band when it has no broker endpoint (a remote server), and says when no client answers', async () => {
    const other = await startKernel(server, 'ir');
    const { token, session } = fx.sessions.issue('http://remote/r.ipynb', 'r.ipynb on remote');
    const code = buildRInjectionCode({ helperSource: loadRHelperSource(), token, inband: true });
    expect(code).not.toContain('endpoint = "');
    let responder: InbandResponder | undefined;
    try {
      await inject(other, code);
      const alone = await runCell(
        other,
        'e <- tryCatch(get_secret("API_KEY"), error = function(e) e); cat(class(e)[1], conditionMessage(e), "\\n")',
      );
      expect(alone.stdout).toContain(
        'SecretsUnavailableError No Notebook Secrets client answered this kernel within 5 s',
      );
      expect(alone.stdout).toContain('notebook-secrets attach');
      responder = new InbandResponder(other, {
        handler: fx.handler,
        sessions: fx.sessions,
        log: fx.log,
        sessionId: session.id,
      });
      const r = await runCell(
        other,
        [
          'k <- get_secret("API_KEY"); cat(nchar(k), class(k), "\\n"); print(k)',
          'e <- tryCatch(get_secret("NO_SUCH_NAME"), error = function(e) e)',
          'cat(class(e), sep = ","); cat("\\n")',
          'u <- get_secret("UNICODE"); cat(nchar(u, type = "bytes"), "\\n")',
        ].join('\n'),
      );
      rig.iopub.push(...alone.iopub, ...r.iopub);
      expect(r.error).toBeUndefined();
      expect(r.stdout.split('\n')).toEqual([
        `${API_KEY.length} notebook_secret `,
        "<secret 'API_KEY'>",
        'SecretNotFoundError,NotebookSecretsError,error,condition',
        `${Buffer.byteLength(UNICODE)} `,
        '',
      ]);
      expect(responder.answered).toBe(3);
      // The stdin socket holds nothing of ours afterwards: readline() would read it.
      const after = await runCell(other, 'cat(length(get_secret_raw("API_KEY")), "\\n")');
      expect(after.stdout.trim()).toBe(String(API_KEY.length));
    } finally {
      responder?.dispose();
      await other.shutdown();
    }
  });

  it("in band, falls back to an earlier injection's client when the newest one leaves", async () => {
    const other = await startKernel(server, 'ir');
    const first = fx.sessions.issue('http://remote/first.ipynb', 'first client');
    const second = fx.sessions.issue('http://remote/second.ipynb', 'second client');
    const responder = (sessionId: string) =>
      new InbandResponder(other, {
        handler: fx.handler,
        sessions: fx.sessions,
        log: fx.log,
        sessionId,
      });
    const injectFor = (token: string) =>
      inject(
        other,
        buildRInjectionCode({ helperSource: loadRHelperSource(), token, inband: true }),
      );
    const a = responder(first.session.id);
    let b: InbandResponder | undefined;
    try {
      await injectFor(first.token);
      b = responder(second.session.id);
      await injectFor(second.token);
      const get = 'k <- get_secret("API_KEY"); cat(nchar(k), "\\n")';
      const newest = await runCell(other, get);
      expect(newest.stdout.trim()).toBe(String(API_KEY.length));
      expect([a.answered, b.answered]).toEqual([0, 1]);
      // The second client leaves: its token gets no acknowledgement, the first client answers.
      b.dispose();
      const fallback = await runCell(other, `${get}\n${get}`);
      rig.iopub.push(...newest.iopub, ...fallback.iopub);
      expect(fallback.error).toBeUndefined();
      expect(fallback.stdout).toBe(`${API_KEY.length} \n`.repeat(2));
      expect([a.answered, b.answered]).toEqual([2, 1]);
    } finally {
      a.dispose();
      b?.dispose();
      await other.shutdown();
    }
  });

  it('an attachment to a server on this machine serves its R kernels from a loopback broker', async () => {
    const other = await startKernel(server, 'ir');
    const attachment = new JupyterAttachment({
      ...rig.attachmentOptions(),
      pollIntervalMs: 500,
      kernelFilter: (model) => model.id === other.id,
    });
    try {
      await attachment.start();
      await attachment.whenInjected(other.id);
      const r = await runCell(
        other,
        'k <- get_secret("API_KEY"); cat(nchar(k), class(k), "\\n"); print(k)',
      );
      rig.iopub.push(...r.iopub);
      expect(r.error).toBeUndefined();
      expect(r.stdout).toBe(`${API_KEY.length} notebook_secret \n<secret 'API_KEY'>\n`);
      expect(fx.log.lines.some((l) => /Attached to .* \(R\)/.test(l))).toBe(true);
    } finally {
      await attachment.close();
      await other.shutdown();
    }
  });

  it('no value in the injected code, the IOPub messages, the broker log or the server log', () => {
    const everything = [injected, ...rig.iopub, ...fx.log.lines, server.log()].join('\n');
    for (const value of CANARIES) expect(everything).not.toContain(value);
    expect(everything).not.toContain(sha256(API_KEY));
  });
});
