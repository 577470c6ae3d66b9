import { describe, expect, it } from 'vitest';
import { helperLanguage } from '../../../src/broker/kernelLanguage';
import { buildRInjectionCode } from '../../../src/broker/rInjection';

const SOURCE = 'x <- "quote \\" backslash \\\\ tab \t"\n# ключ\n';

describe('the code injected into an R kernel', () => {
  it('carries the source as an R string literal, the token and the loopback endpoint', () => {
    const code = buildRInjectionCode({
      helperSource: SOURCE,
      token: 'tok_123',
      endpoint: 'http://127.0.0.1:4321',
    });
    expect(code).toContain(`parse(text = ${JSON.stringify(SOURCE)}, keep.source = FALSE)`);
    expect(code).toContain('env$.configure("tok_123", endpoint = "http://127.0.0.1:4321")');
    expect(code).toContain('attach(NULL, name = "notebook_secrets", warn.conflicts = FALSE)');
  });

  it('asks in band without an endpoint, and passes redact = FALSE when redaction is off', () => {
    const code = buildRInjectionCode({
      helperSource: SOURCE,
      token: 't',
      inband: true,
      redactOutputs: false,
    });
    expect(code).toContain('env$.configure("t", endpoint = NULL, inband = TRUE, redact = FALSE)');
  });

  it('refuses an endpoint an R kernel cannot reach (a Unix socket, another host)', () => {
    for (const endpoint of ['unix:/tmp/x/broker.sock', 'http://10.0.0.2:80', 'http://127.0.0.1']) {
      expect(() => buildRInjectionCode({ helperSource: SOURCE, token: 't', endpoint })).toThrow(
        /R kernel reaches the broker over TCP on 127\.0\.0\.1 only/,
      );
    }
  });
});

describe('kernel languages', () => {
  it('serves Python and R kernelspecs, whatever the case, and nothing else', () => {
    expect(['python', 'Python', 'python3', 'R', 'r'].map(helperLanguage)).toEqual([
      'python',
      'python',
      'python',
      'r',
      'r',
    ]);
    expect(['julia', 'scala', '', undefined].map(helperLanguage)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});
