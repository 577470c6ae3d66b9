/**
 * The systemd unit of docs/deploying.md parses: `systemd-analyze verify` reads it with no warning
 * (where systemd is installed; it prints warnings and still exits 0, so its output must be empty).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const hasSystemd = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('the systemd unit of docs/deploying.md', () => {
  it.runIf(hasSystemd)('parses with systemd-analyze verify, hardened as the page says', () => {
    const page = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'deploying.md'), 'utf8');
    const unit = [...page.matchAll(/```ini\n([\s\S]*?)```/g)]
      .map((m) => m[1]!)
      .find((block) => block.includes('[Service]'));
    expect(unit).toBeDefined();
    for (const line of [
      'User=notebook-secrets',
      'ProtectSystem=strict',
      'NoNewPrivileges=true',
      'LoadCredential=key:/etc/notebook-secrets/key',
      'Environment=NOTEBOOK_SECRETS_KEY_FILE=%d/key',
    ]) {
      expect(unit).toContain(line);
    }
    const dir = mkdtempSync(join(tmpdir(), 'ns-unit-'));
    try {
      // verify checks that ExecStart's program exists: a stand-in where the page installs it.
      const program = join(dir, 'notebook-secrets');
      writeFileSync(program, '#!/bin/sh\n');
      chmodSync(program, 0o755);
      const file = join(dir, 'notebook-secrets.service');
      writeFileSync(file, unit!.replace('/usr/local/bin/notebook-secrets', program));
      const result = spawnSync('systemd-analyze', ['verify', '--man=no', file], {
        encoding: 'utf8',
      });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr.split('\n').filter((l) => l.includes(dir))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
