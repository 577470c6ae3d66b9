/**
 * `notebook-secrets scan --values`: the signed-in user's stored values found in a notebook and a
 * file, as is and encoded, reported by secret name only; against the real server.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addUser, buildCli, startServer, type RunningServer } from '../sync/harness';

// No provider format and no telling variable name: only the stored value can find it.
const VALUE = `canary-value-${randomBytes(10).toString('hex')}`;

let server: RunningServer;
let cli: string;
let dir: string;
let token: string;

function run(
  args: string[],
  input?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [cli, ...args],
      {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          NOTEBOOK_SECRETS_CONFIG_DIR: join(dir, 'config'),
          NOTEBOOK_SECRETS_KEYRING: '0',
          NOTEBOOK_SECRETS_SERVER: server.url,
          NOTEBOOK_SECRETS_TOKEN: token,
        },
        timeout: 30_000,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(input ?? '');
  });
}

beforeAll(async () => {
  server = await startServer();
  cli = await buildCli();
  token = await addUser(server, 'alice');
  dir = mkdtempSync(join(tmpdir(), 'nbsec-scan-values-'));
  writeFileSync(
    join(dir, 'report.ipynb'),
    JSON.stringify({
      cells: [
        {
          cell_type: 'code',
          source: ['conn = connect()\n', `conn.auth("${VALUE}")\n`],
          outputs: [],
        },
      ],
      metadata: {},
      nbformat: 4,
      nbformat_minor: 5,
    }),
  );
  writeFileSync(
    join(dir, 'notes.py'),
    `# header\nencoded = "${Buffer.from(VALUE).toString('base64')}"\n`,
  );
});

afterAll(async () => {
  await server?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('finds stored values only with --values, showing the secret name and never the value', async () => {
  const set = await run(['set', 'SERVICE_PASSWORD'], `${VALUE}\n`);
  expect(set.code).toBe(0);
  const without = await run(['scan', '.']);
  expect(without.code).toBe(0);
  const withValues = await run(['scan', '--values', '.']);
  expect(withValues.code).toBe(1);
  expect(withValues.stdout.trim().split('\n')).toEqual([
    'notes.py:line 2: the value of your secret SERVICE_PASSWORD (stored-value) [secret SERVICE_PASSWORD]',
    'report.ipynb:cell 1:line 2: the value of your secret SERVICE_PASSWORD (stored-value) [secret SERVICE_PASSWORD]',
  ]);
  for (const out of [withValues.stdout, withValues.stderr, server.output()]) {
    expect(out).not.toContain(VALUE);
    expect(out).not.toContain(Buffer.from(VALUE).toString('base64'));
  }
});
