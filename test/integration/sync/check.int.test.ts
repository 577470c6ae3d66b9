/**
 * `notebook-secrets check` as CI runs it: the bundled CLI in a child process against the real
 * server, and without sign-in against the local store's index. Exit 0/1/2 as docs/cli.md says.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCliInto } from '../server/serverProcess';
import { cliRunner, type RunCli } from './cliRunner';
import { addTeam, addUser, startServer, type RunningServer } from './harness';

const CANARY = `canary-check-${Math.random().toString(36).slice(2)}`;

function notebook(cells: string[], language = 'python', choices?: Record<string, unknown>): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: language === 'R' ? 'ir' : 'python3', language },
      ...(choices && { notebook_secrets: choices }),
    },
    cells: cells.map((source) => ({
      cell_type: 'code',
      source: source.split(/(?<=\n)/),
      metadata: {},
      outputs: [],
      execution_count: null,
    })),
  });
}

describe('notebook-secrets check (built binary, real server)', () => {
  let server: RunningServer;
  let home: string;
  let dir: string;
  let run: RunCli;
  const transcript: string[] = [];

  beforeAll(async () => {
    server = await startServer();
    const cli = await buildCliInto('test-cli-check');
    home = mkdtempSync(join(tmpdir(), 'ns-check-'));
    dir = join(home, 'notebooks');
    mkdirSync(dir);
    run = cliRunner(cli, home, transcript);
    await addTeam(server, 'data');
    for (const user of ['alice', 'bob']) {
      const token = await addUser(server, user, ['data']);
      expect(
        (await run(user, ['login', '--server', server.url, '--token-stdin'], token)).code,
      ).toBe(0);
    }
    expect((await run('alice', ['set', 'OPENAI_API_KEY', '-'], CANARY)).code).toBe(0);
    expect((await run('alice', ['set', 'TEAM_DB', '-', '--scope', 'team:data'], CANARY)).code).toBe(
      0,
    );
    writeFileSync(
      join(dir, 'analysis.ipynb'),
      notebook([
        "import notebook_secrets\nkey = notebook_secrets.get_secret('OPENAI_API_KEY')",
        "# get_secret('COMMENTED_OUT')\ndb = get_secret(name='TEAM_DB')",
      ]),
    );
    writeFileSync(join(dir, 'model.ipynb'), notebook(['key <- get_secret("TEAM_DB")'], 'R'));
    writeFileSync(join(dir, 'plain.ipynb'), notebook(['print(1)']));
  });

  afterAll(async () => {
    expect(transcript.join('\n')).not.toContain(CANARY);
    expect(server.output()).not.toContain(CANARY);
    await server.dispose();
    rmSync(home, { recursive: true, force: true });
  });

  it('exits 0 when every secret the notebooks name is there, listing each with its cells', async () => {
    const ok = await run('alice', [
      'check',
      join(dir, 'analysis.ipynb'),
      join(dir, 'model.ipynb'),
      join(dir, 'plain.ipynb'),
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /analysis\.ipynb\n\s+present\s+OPENAI_API_KEY\s+cell 1\n\s+present\s+TEAM_DB\s+cell 2\n/,
    );
    expect(ok.stdout).toMatch(/model\.ipynb\n\s+present\s+TEAM_DB\s+cell 1\n/);
    expect(ok.stdout).toMatch(/plain\.ipynb\n\s+needs no secrets/);
    expect(ok.stdout).not.toContain('COMMENTED_OUT');
    expect(ok.stderr).toMatch(/All 2 secrets needed are in the team server/);
  });

  it("exits 1 for a user who lacks one, naming it (a teammate's personal secret is not theirs)", async () => {
    const bob = await run('bob', ['check', join(dir, 'analysis.ipynb')]);
    expect(bob.code).toBe(1);
    expect(bob.stdout).toMatch(/missing\s+OPENAI_API_KEY/);
    expect(bob.stdout).toMatch(/present\s+TEAM_DB/);
    expect(bob.stderr).toMatch(
      /1 of 2 secrets needed is missing from the team server .*: OPENAI_API_KEY\. Add each with `notebook-secrets set NAME`/,
    );
    const json = await run('bob', ['check', '--json', join(dir, 'analysis.ipynb')]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      source: 'server',
      notebooks: [
        {
          path: join(dir, 'analysis.ipynb'),
          secrets: [
            {
              name: 'OPENAI_API_KEY',
              cells: [1],
              present: false,
              forms: ['get_secret'],
              environment: false,
            },
            {
              name: 'TEAM_DB',
              cells: [2],
              present: true,
              forms: ['get_secret'],
              environment: false,
            },
          ],
        },
      ],
      missing: ['OPENAI_API_KEY'],
    });
  });

  it("lists other platforms' reads, environment reads of names you have, and the notebook's environment", async () => {
    writeFileSync(
      join(dir, 'colab.ipynb'),
      notebook(
        [
          "from google.colab import userdata\nkey = userdata.get('OPENAI_API_KEY')",
          "import os\ndb = os.getenv('TEAM_DB')\nhome = os.getenv('HOME')",
        ],
        'python',
        { environment: ['ANTHROPIC_API_KEY'] },
      ),
    );
    const colab = await run('alice', ['check', join(dir, 'colab.ipynb')]);
    expect(colab.code).toBe(1);
    expect(colab.stdout).toMatch(
      /colab\.ipynb\n\s+present\s+OPENAI_API_KEY\s+cell 1 \(Colab\)\n\s+present\s+TEAM_DB\s+cell 2 \(os\.environ\)\n\s+missing\s+ANTHROPIC_API_KEY\s+environment\n/,
    );
    expect(colab.stdout).not.toContain('HOME');
  });

  it('exits 2 on a missing file or one that is not a notebook, before looking anything up', async () => {
    writeFileSync(join(dir, 'notes.txt'), 'get_secret("X")');
    const bad = await run('alice', [
      'check',
      join(dir, 'analysis.ipynb'),
      join(dir, 'gone.ipynb'),
      join(dir, 'notes.txt'),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/gone\.ipynb: no such file/);
    expect(bad.stderr).toMatch(/notes\.txt: not valid JSON/);
    const json = await run('alice', ['check', '--json', dir]);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { exit: 2 } });
    expect((await run('alice', ['check'])).code).toBe(2);
  });

  it('reads the local store when not signed in', async () => {
    const carol = await run('carol', ['check', join(dir, 'model.ipynb')]);
    expect(carol.code).toBe(1);
    expect(carol.stdout).toMatch(/missing\s+TEAM_DB/);
    expect(carol.stderr).toMatch(
      /missing from the local store .*`notebook-secrets local set NAME`/,
    );
    // The local store's index names what it holds (values stay in the OS keychain).
    const config = join(home, 'carol', 'config');
    mkdirSync(config, { recursive: true });
    const now = new Date().toISOString();
    writeFileSync(
      join(config, 'local-secrets.json'),
      JSON.stringify({
        version: 1,
        secrets: [
          {
            name: 'TEAM_DB',
            type: 'generic',
            encoding: 'text',
            version: 1,
            created_at: now,
            updated_at: now,
          },
        ],
      }),
    );
    const after = await run('carol', ['check', '--json', join(dir, 'model.ipynb')]);
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ source: 'local', missing: [] });
  });
});
