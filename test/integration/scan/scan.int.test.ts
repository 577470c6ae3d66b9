/**
 * `notebook-secrets scan` as built: a generated corpus of notebooks and files with planted canary
 * keys (each found with its cell and line, never printed), and a negative corpus (images, hashes,
 * UUIDs, base64 blobs) with no finding.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCacheHome } from '../cliCache';
import { buildCliInto } from '../server/serverProcess';

const alnum = (n: number) => {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(n)].map((b) => chars[b % chars.length]).join('');
};
const OPENAI = `sk-proj-${alnum(48)}`;
const GITHUB = `ghp_${alnum(36)}`;
const AWS = `AKIA${[...randomBytes(16)].map((b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32]).join('')}`;
const SLACK = `xoxb-123456789012-${alnum(24)}`;
const ASSIGNED = `Pw${alnum(20)}9`;
const PLANTED = [OPENAI, GITHUB, AWS, SLACK, ASSIGNED];

const nb = (cells: unknown[]) =>
  JSON.stringify({ cells, metadata: {}, nbformat: 4, nbformat_minor: 5 }, null, 1);

let cli: string;
let dir: string;

function scan(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, 'scan', ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, XDG_CACHE_HOME: testCacheHome() },
  });
  for (const value of PLANTED) {
    expect(r.stdout).not.toContain(value);
    expect(r.stderr).not.toContain(value);
  }
  return r;
}

beforeAll(async () => {
  cli = await buildCliInto('test-scan-cli');
  dir = mkdtempSync(join(tmpdir(), 'nbsec-scan-'));
  for (const sub of ['keys', 'clean', 'keys/.ipynb_checkpoints', 'keys/node_modules'])
    mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(
    join(dir, 'keys', 'analysis.ipynb'),
    nb([
      { cell_type: 'markdown', source: ['# Analysis\n'] },
      {
        cell_type: 'code',
        // Escaped quotes in the file, the key on the cell's second line.
        source: ['import openai\n', `client = openai.OpenAI(api_key="${OPENAI}")\n`],
        outputs: [],
      },
      {
        cell_type: 'code',
        source: ['print(headers)'],
        outputs: [
          {
            output_type: 'stream',
            name: 'stdout',
            text: ["{'Accept': 'json',\n", ` 'Authorization': 'token ${GITHUB}'}\n`],
          },
        ],
      },
    ]),
  );
  writeFileSync(join(dir, 'keys', 'job.py'), `import boto3\n\n\nKEY_ID = "${AWS}"\n`);
  writeFileSync(join(dir, 'keys', '.env'), `SLACK_BOT_TOKEN="${SLACK}"\n`);
  writeFileSync(join(dir, 'keys', 'settings.yaml'), `db:\n  password: "${ASSIGNED}"\n`);
  // Copies made by tools are not the user's files.
  writeFileSync(join(dir, 'keys', '.ipynb_checkpoints', 'analysis-checkpoint.ipynb'), nb([]));
  writeFileSync(join(dir, 'keys', 'node_modules', 'x.py'), `k = "${AWS}"`);
  writeFileSync(
    join(dir, 'clean', 'plots.ipynb'),
    nb([
      {
        cell_type: 'code',
        source: [
          "api_key = get_secret('OPENAI_API_KEY')\n",
          `run = "${randomUUID()}"\n`,
          `digest = "${randomBytes(32).toString('hex')}"\n`,
          `blob = "${randomBytes(3000).toString('base64')}"\n`,
        ],
        outputs: [
          {
            output_type: 'display_data',
            data: { 'image/png': randomBytes(20_000).toString('base64'), 'text/plain': 'fig' },
          },
          {
            output_type: 'stream',
            name: 'stdout',
            text: `sha1 ${randomBytes(20).toString('hex')}\n`,
          },
        ],
      },
    ]),
  );
  writeFileSync(join(dir, 'clean', 'model.py'), 'OPENAI_API_KEY = "your-openai-key"\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('notebook-secrets scan', () => {
  it('finds every planted key with its file, cell and line, masked, and exits 1', () => {
    const r = scan('keys');
    expect(r.status).toBe(1);
    expect(r.stdout.trim().split('\n')).toEqual([
      `keys/.env:line 1: Slack token (slack-token) xoxb… (${SLACK.length} chars)`,
      `keys/analysis.ipynb:cell 2:line 2: OpenAI API key (openai-api-key) sk-p… (${OPENAI.length} chars)`,
      `keys/analysis.ipynb:cell 3:line 2 (output 1): GitHub token (github-token) ghp_… (${GITHUB.length} chars)`,
      `keys/job.py:line 4: AWS access key ID (aws-access-key-id) AKIA… (20 chars)`,
      `keys/settings.yaml:line 2: string assigned to a key, token, secret or password name (assigned-secret) ${ASSIGNED.slice(0, 4)}… (${ASSIGNED.length} chars)`,
    ]);
    expect(r.stderr).toContain('5 possible keys in 4 of 4 files.');
  });

  it('finds nothing in the negative corpus and exits 0', () => {
    const r = scan('clean');
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('No hard-coded keys found in 2 files.\n');
    expect(r.status).toBe(0);
  });

  it('prints JSON with --format json', () => {
    const r = scan('--format', 'json', 'keys/analysis.ipynb');
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual([
      expect.objectContaining({ path: 'keys/analysis.ipynb', cell: 2, line: 2, column: 33 }),
      expect.objectContaining({ cell: 3, output: 1, line: 2, rule: 'github-token' }),
    ]);
  });

  it('prints SARIF 2.1.0 with --format sarif', () => {
    const r = scan('--format', 'sarif', 'keys/job.py', 'keys/analysis.ipynb');
    expect(r.status).toBe(1);
    const sarif = JSON.parse(r.stdout);
    expect(sarif.version).toBe('2.1.0');
    const [run] = sarif.runs;
    expect(run.tool.driver.rules.map((x: { id: string }) => x.id).sort()).toEqual([
      'aws-access-key-id',
      'github-token',
      'openai-api-key',
    ]);
    expect(run.results[0]).toMatchObject({
      ruleId: 'aws-access-key-id',
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: 'keys/job.py' },
            region: { startLine: 4, startColumn: 11 },
          },
        },
      ],
    });
    expect(run.results[1].message.text).toMatch(
      /^OpenAI API key sk-p… \(\d+ chars\) in cell 2, line 2$/,
    );
    expect(run.results[1].properties).toEqual({ cell: 2, line: 2 });
  });

  it('exits 2 on a missing path, a bad format or a broken notebook, naming it', () => {
    const missing = scan('no-such-folder');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe('notebook-secrets: Cannot read no-such-folder: ENOENT.\n');
    expect(scan('--format', 'xml', 'keys').status).toBe(2);
    writeFileSync(join(dir, 'broken.ipynb'), '{"cells": [');
    const broken = scan('broken.ipynb', 'clean');
    expect(broken.status).toBe(2);
    expect(broken.stderr).toMatch(
      /^No hard-coded keys found in 2 files\.\nnotebook-secrets: Could not scan broken\.ipynb: not valid JSON \(.+\)\.\n$/,
    );
  });
});
