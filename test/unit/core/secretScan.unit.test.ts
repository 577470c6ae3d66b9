import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  maskValue,
  NotebookFormatError,
  scanFile,
  scanNotebook,
  scanText,
  suggestSecretName,
} from '../../../src/core/secretScan';
import { presetScan } from '../../../src/core/presetRules';
import { OWN_RULES, SECRET_RULES, storedValueRules } from '../../../src/core/secretRules';

// Canary keys in each provider's documented format; random so they match no real key.
const alnum = (n: number) => {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(n)].map((b) => chars[b % chars.length]).join('');
};
const upper = (n: number) => {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return [...randomBytes(n)].map((b) => chars[b % chars.length]).join('');
};
const KEYS: Record<string, string> = {
  'aws-access-key-id': `AKIA${upper(16)}`,
  'github-token': `ghp_${alnum(36)}`,
  'gitlab-token': `glpat-${alnum(20)}`,
  'openai-api-key': `sk-proj-${alnum(48)}`,
  'anthropic-api-key': `sk-ant-api03-${alnum(90)}`,
  'slack-token': `xoxb-123456789012-${alnum(24)}`,
  'google-api-key': `AIza${alnum(35)}`,
  'stripe-secret-key': `sk_live_${alnum(24)}`,
  'huggingface-token': `hf_${alnum(34)}`,
  jwt: `eyJ${alnum(20)}.eyJ${alnum(30)}.${alnum(40)}`,
};

function notebook(cells: unknown[]): string {
  return JSON.stringify({ cells, metadata: {}, nbformat: 4, nbformat_minor: 5 }, null, 1);
}

describe('scanText', () => {
  it.each(Object.entries(KEYS))('finds a %s with a masked prefix only', (rule, key) => {
    const found = scanText(`x = 1\nclient = Client("${key}")\n`);
    expect(found.map((f) => [f.rule, f.line, f.column])).toEqual([[rule, 2, 18]]);
    expect(found[0]!.masked).toBe(maskValue(key));
    expect(JSON.stringify(found)).not.toContain(key);
  });

  it('finds a PEM private key header and a password in a connection URL', () => {
    const password = `pw${alnum(14)}`;
    const found = scanText(
      `pem = """-----BEGIN RSA PRIVATE KEY-----\nMIIE"""\nurl = "postgresql://app:${password}@db.test:5432/app"`,
    );
    expect(found.map((f) => [f.rule, f.line])).toEqual([
      ['private-key', 1],
      ['connection-string-password', 3],
    ]);
    expect(JSON.stringify(found)).not.toContain(password);
  });

  it('finds a string assigned to a key, token, secret or password name, with the name', () => {
    const value = `Zq${alnum(18)}7`;
    const found = scanText(
      `openai_api_key = '${value}'\nconfig = {"db_password": "${value}"}\nTOKEN="${value}"`,
    );
    expect(found.map((f) => [f.rule, f.line, f.variable])).toEqual([
      ['assigned-secret', 1, 'openai_api_key'],
      ['assigned-secret', 2, 'db_password'],
      ['assigned-secret', 3, 'TOKEN'],
    ]);
  });

  it('names the variable a provider key is assigned to', () => {
    const found = scanText(`my_openai_key = "${KEYS['openai-api-key']}"`);
    expect(found.map((f) => [f.rule, f.variable])).toEqual([['openai-api-key', 'my_openai_key']]);
  });

  it('ignores placeholders, names, get_secret calls, hashes, UUIDs and base64 blobs', () => {
    const text = [
      "API_KEY = 'your-api-key-here'",
      "OPENAI_API_KEY = '<OPENAI_API_KEY>'",
      "password = 'password'",
      "token = '${TOKEN}'",
      "secret = 'xxxxxxxxxxxx'",
      "api_key = get_secret('OPENAI_API_KEY')",
      "sort_key = 'lastName2'",
      `digest = '${randomBytes(32).toString('hex')}'`,
      "run_id = '1f0e4c1e-8d5b-4b61-9a3c-2f7b8e1d9c00'",
      `blob = '${randomBytes(600).toString('base64')}'`,
      'max_tokens = 1024',
    ].join('\n');
    expect(scanText(text)).toEqual([]);
  });
});

describe('scanNotebook', () => {
  it('reports the cell and the line within the cell, through JSON escaping', () => {
    const key = KEYS['github-token']!;
    const nb = notebook([
      { cell_type: 'markdown', source: ['# Title\n'] },
      {
        cell_type: 'code',
        // Quotes inside the source are escaped in the file (\"), and the source is split in lines.
        source: ['import os\n', 'headers = {"Authorization": "token ', `${key}"}\n`],
        outputs: [],
      },
    ]);
    expect(nb).toContain('\\"');
    const found = scanNotebook(nb);
    expect(found.map((f) => [f.cell, f.output, f.line, f.rule])).toEqual([
      [2, undefined, 2, 'github-token'],
    ]);
  });

  it('scans text outputs and skips images and widget state', () => {
    const key = KEYS['stripe-secret-key']!;
    const nb = notebook([
      {
        cell_type: 'code',
        source: 'print(cfg)',
        outputs: [
          { output_type: 'stream', name: 'stdout', text: ['ok\n', `key ${key}\n`] },
          {
            output_type: 'display_data',
            data: {
              'image/png': Buffer.from(`AKIA${upper(16)} ${key}`).toString('base64') + 'AIza',
              'application/vnd.jupyter.widget-state+json': { token: `hf_${alnum(34)}` },
              'text/plain': 'figure',
            },
          },
          {
            output_type: 'error',
            ename: 'E',
            evalue: `bad ${KEYS['google-api-key']}`,
            traceback: [],
          },
        ],
      },
    ]);
    expect(scanNotebook(nb).map((f) => [f.cell, f.output, f.line, f.rule])).toEqual([
      [1, 1, 2, 'stripe-secret-key'],
      [1, 3, 1, 'google-api-key'],
    ]);
  });

  it('refuses a file that is not a notebook, saying why', () => {
    expect(() => scanNotebook('{"cells": ')).toThrow(NotebookFormatError);
    expect(() => scanNotebook('{"worksheets": []}')).toThrow(/no "cells" list/);
  });

  it('scanFile reads .ipynb as a notebook and anything else as text', () => {
    const key = KEYS['aws-access-key-id']!;
    const nb = notebook([{ cell_type: 'code', source: [`k = "${key}"`], outputs: [] }]);
    expect(scanFile('a.IPYNB', nb)[0]).toMatchObject({ cell: 1, line: 1, column: 6 });
    expect(scanFile('a.py', `\n\nk = "${key}"`)[0]).toMatchObject({ line: 3, column: 6 });
  });
});

it('suggests a secret name from a variable', () => {
  expect(suggestSecretName('openai_api_key')).toBe('OPENAI_API_KEY');
  expect(suggestSecretName('githubToken')).toBe('GITHUB_TOKEN');
  expect(suggestSecretName(undefined)).toBe('API_KEY');
  expect(suggestSecretName('9lives')).toBe('LIVES');
});

describe('stored values', () => {
  const VALUE = `  canary ${alnum(20)}/+&  `;
  const rules = [...storedValueRules([{ name: 'DB_PASSWORD', value: VALUE }]), ...SECRET_RULES];

  it('finds a stored value in any common encoding and shows only the secret name', () => {
    const bare = VALUE.trim();
    const text = [
      `a = ${JSON.stringify(bare)}`,
      `b = "${Buffer.from(bare).toString('base64')}"`,
      `c = "https://x.test/?p=${encodeURIComponent(bare)}"`,
      `d = "${Buffer.from(bare).toString('hex')}"`,
      `e = "${Buffer.from(bare).toString('base64url')}"`,
    ].join('\n');
    const found = scanText(text, rules);
    expect(found.map((f) => [f.rule, f.line, f.masked])).toEqual(
      [1, 2, 3, 4, 5].map((line) => ['stored-value', line, '[secret DB_PASSWORD]']),
    );
    expect(JSON.stringify(found)).not.toContain(bare.slice(0, 8));
  });

  it('ignores values shorter than 6 characters', () => {
    expect(storedValueRules([{ name: 'PIN', value: '12345' }])).toEqual([]);
  });
});

describe("secretlint's recommended preset", () => {
  // Formats only the preset knows (none of our own rules matches them).
  const PRESET_ONLY: [string, string][] = [
    ['shopify-token', `shpat_${alnum(32)}`],
    ['linear-api-key', `lin_api_${alnum(40)}`],
    ['npm-token', `npm_${alnum(36)}`],
    ['sendgrid-api-key', `SG.${alnum(22)}.${alnum(43)}`],
    ['slack-webhook', `https://hooks.slack.com/services/T${upper(8)}/B${upper(8)}/${alnum(24)}`],
  ];

  it.each(PRESET_ONLY)('finds a %s, a format only the preset knows', (rule, key) => {
    const found = scanText(`x = 1\nclient = Client("${key}")\n`);
    expect(found.map((f) => [f.rule, f.line, f.column, f.masked])).toEqual([
      [rule, 2, 18, maskValue(key)],
    ]);
    expect(JSON.stringify(found)).not.toContain(key);
    expect(scanText(`client = Client("${key}")`, OWN_RULES)).toEqual([]);
  });

  it('reports where the value is, not where the rule matched, and never the value', () => {
    const value = `${alnum(36)}/Ab3`;
    const text = `AWS_SECRET_ACCESS_KEY = "${value}"\n`;
    const found = scanText(text);
    expect(found).toMatchObject([
      { rule: 'aws-secret-access-key', line: 1, column: 26, variable: 'AWS_SECRET_ACCESS_KEY' },
    ]);
    expect(text.slice(found[0]!.start, found[0]!.end)).toBe(value);
    expect(JSON.stringify(presetScan(text))).not.toContain(value);
    // The rule is skipped only when no letter case of ACCESS is in the text.
    const lower = `aws_secret_access_key: '${value}'`;
    expect(presetScan(lower).hits.map((h) => h.id)).toEqual(['aws-secret-access-key']);
    expect(presetScan(`aws_secret_key = '${value}'`).hits).toEqual([]);
  });

  it('does not report an AWS account ID, which is not a credential', () => {
    expect(scanText('aws_account_id = "123456789012"')).toEqual([]);
  });

  it('honours secretlint-disable comments, except for a stored value', () => {
    const key = `ghp_${alnum(36)}`;
    const jwt = KEYS.jwt!;
    const text = [
      `a = "${key}"  # secretlint-disable-line`,
      `b = "${jwt}"  # secretlint-disable-line`,
      `c = "${key}"`,
    ].join('\n');
    expect(scanText(text).map((f) => [f.rule, f.line])).toEqual([['github-token', 3]]);
    const named = `a = "${key}" + "${jwt}"  # secretlint-disable-line @secretlint/secretlint-rule-github`;
    expect(scanText(named).map((f) => f.rule)).toEqual(['jwt']);
    const stored = storedValueRules([{ name: 'GH', value: key }]);
    expect(scanText(text, [...stored, ...SECRET_RULES]).map((f) => [f.rule, f.line])).toEqual([
      ['stored-value', 1],
      ['stored-value', 3],
    ]);
  });
});

describe('our own rules', () => {
  // One example per rule, each a format (or a form) the preset does not report.
  const EXAMPLES: Record<string, string> = {
    'private-key': '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA',
    'aws-access-key-id': KEYS['aws-access-key-id']!,
    'gitlab-token': KEYS['gitlab-token']!,
    'anthropic-api-key': KEYS['anthropic-api-key']!,
    'openai-api-key': KEYS['openai-api-key']!,
    'google-api-key': KEYS['google-api-key']!,
    'stripe-secret-key': KEYS['stripe-secret-key']!,
    'huggingface-token': KEYS['huggingface-token']!,
    jwt: KEYS.jwt!,
    'connection-string-password': `postgresql://app:pw${alnum(14)}@db.test:5432/app`,
    'assigned-secret': `Zq${alnum(18)}7`,
  };

  it('has an example for each rule', () => {
    expect(Object.keys(EXAMPLES).sort()).toEqual(OWN_RULES.map((r) => r.id).sort());
  });

  it.each(Object.entries(EXAMPLES))('%s finds what the preset misses', (rule, example) => {
    const text = `db_token = "${example}"`;
    expect(presetScan(text).hits).toEqual([]);
    expect(scanText(text).map((f) => f.rule)).toEqual([rule]);
  });
});
