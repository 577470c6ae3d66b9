/**
 * The commands that read or write files: import, export, check and scan, and completion's
 * scripts, run in-process through each command's `run(…, io)` (see cliHarness.ts).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../../src/cli/client/session';
import * as check from '../../../src/cli/commands/check';
import * as completion from '../../../src/cli/commands/completion';
import * as exporting from '../../../src/cli/commands/export';
import * as importing from '../../../src/cli/commands/import';
import * as scan from '../../../src/cli/commands/scan';
import { createProgram } from '../../../src/cli/program';
import { fakeServer, recordingIo } from './cliHarness';

const CANARY = `canary-${randomUUID()}`;

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'nbsec-files-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function notebook(...sources: string[]): string {
  return JSON.stringify({
    cells: sources.map((source) => ({
      cell_type: 'code',
      source,
      metadata: {},
      outputs: [],
      execution_count: null,
    })),
    metadata: {},
    nbformat: 4,
    nbformat_minor: 5,
  });
}

describe('import and export', () => {
  it('imports every line, then exports them again as dotenv and JSON', async () => {
    const server = fakeServer();
    const dir = folder({ 'a.env': `API_KEY=${CANARY}\nDB_USER=admin\n` });
    const io = recordingIo(server);
    await importing.run(join(dir, 'a.env'), {}, io);
    expect(io.out).toBe('Imported 2 secrets into personal (2 created, 0 updated).\n');

    const dotenv = recordingIo(server);
    await exporting.run({ format: 'dotenv' }, dotenv);
    expect(dotenv.out).toBe(`API_KEY=${CANARY}\nDB_USER=admin\n`);
    const json = recordingIo(server);
    await exporting.run({ format: 'json', only: 'API_KEY' }, json);
    expect(JSON.parse(json.out)).toEqual({
      secrets: [
        { name: 'API_KEY', scope: 'personal', type: 'generic', encoding: 'text', value: CANARY },
      ],
    });
    expect(dotenv.err + json.err).toBe('');
  });

  it('a name already there needs --overwrite: exit 5, nothing imported, no value shown', async () => {
    const server = fakeServer();
    const dir = folder({ 'a.env': `NEW=1\nAPI_KEY=${CANARY}\n` });
    await importing.run(join(dir, 'a.env'), {}, recordingIo(server));
    const before = server.rows.size;
    const again = folder({ 'b.env': `OTHER=${CANARY}\nAPI_KEY=${CANARY}\n` });
    const io = recordingIo(server);
    const failure = importing.run(join(again, 'b.env'), {}, io);
    await expect(failure).rejects.toMatchObject({ exitCode: EXIT.conflict, code: 'name_taken' });
    await failure.catch((error: Error) => expect(error.message).not.toContain(CANARY));
    expect(server.rows.size).toBe(before);
  });

  it('export refuses an unknown format with exit 2', async () => {
    const io = recordingIo(fakeServer());
    await expect(exporting.run({ format: 'xml' }, io)).rejects.toMatchObject({
      exitCode: EXIT.usage,
    });
  });
});

describe('check', () => {
  it('lists what each notebook needs and exits 1 when one is missing', async () => {
    const server = fakeServer();
    const dir = folder({ 'a.env': `API_KEY=${CANARY}\n` });
    await importing.run(join(dir, 'a.env'), {}, recordingIo(server));
    const nb = folder({
      'a.ipynb': notebook(
        "from notebook_secrets import get_secret\nkey = get_secret('API_KEY')",
        "token = get_secret('HF_TOKEN')",
      ),
    });
    const io = recordingIo(server);
    await check.run([join(nb, 'a.ipynb')], {}, io);
    expect(io.out).toMatch(/a\.ipynb\n +present +API_KEY +cell 1\n +missing +HF_TOKEN +cell 2\n$/);
    expect(io.err).toBe(
      `1 of 2 secrets needed is missing from the team server http://127.0.0.1:8787: HF_TOKEN. Add each with \`notebook-secrets set NAME\`, or ask its owner to share it.\n`,
    );
    expect(io.exitCode).toBe(1);
    expect(io.out + io.err).not.toContain(CANARY);
  });

  it('not signed in, looks names up in the local store; a missing file exits 2', async () => {
    const io = recordingIo(fakeServer(), {
      env: { NOTEBOOK_SECRETS_SERVER: undefined, NOTEBOOK_SECRETS_TOKEN: undefined },
    });
    const nb = folder({ 'a.ipynb': notebook('print(1)') });
    await check.run([join(nb, 'a.ipynb')], { json: true }, io);
    expect(JSON.parse(io.out)).toEqual({
      source: 'local',
      notebooks: [{ path: join(nb, 'a.ipynb'), secrets: [] }],
      missing: [],
    });
    expect(io.exitCode).toBeUndefined();
    await expect(check.run([join(nb, 'none.ipynb')], {}, io)).rejects.toMatchObject({
      exitCode: EXIT.usage,
    });
  });
});

describe('scan', () => {
  it('a clean folder: nothing on stdout, a summary on stderr, exit 0', async () => {
    const io = recordingIo(fakeServer());
    await scan.run([folder({ 'a.py': 'print(1)\n' })], {}, io);
    expect(io.out).toBe('');
    expect(io.err).toBe('No hard-coded keys found in 1 file.\n');
    expect(io.exitCode).toBeUndefined();
  });

  it('--values finds a stored value without printing it, and exits 1', async () => {
    const server = fakeServer();
    const env = folder({ 'a.env': `API_KEY=${CANARY}\n` });
    await importing.run(join(env, 'a.env'), {}, recordingIo(server));
    const dir = folder({ 'a.py': `key = "${CANARY}"\n` });
    const io = recordingIo(server);
    await scan.run([dir], { values: true, format: 'json' }, io);
    const found = JSON.parse(io.out) as { path: string; line: number }[];
    expect(found).toMatchObject([{ path: join(dir, 'a.py'), line: 1 }]);
    expect(io.exitCode).toBe(1);
    expect(io.out + io.err).not.toContain(CANARY);
  });

  it('refuses an unknown --format with exit 2', async () => {
    const io = recordingIo(fakeServer());
    await expect(scan.run([], { format: 'xml' }, io)).rejects.toMatchObject({
      exitCode: EXIT.usage,
    });
  });
});

describe('completion', () => {
  it('prints the script of the shell named; another shell exits 2', async () => {
    const program = createProgram();
    program.command('get').option('--scope <scope>', 'the scope');
    const io = recordingIo(fakeServer());
    await completion.run('bash', program, io);
    expect(io.out).toContain("    get) opts='--scope --help' ;;");
    await expect(completion.run('tcsh', program, io)).rejects.toMatchObject({
      exitCode: EXIT.usage,
      message: "The shell 'tcsh' is not one of bash, zsh, fish.",
    });
  });
});
