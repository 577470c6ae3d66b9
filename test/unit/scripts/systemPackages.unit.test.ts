import { describe, expect, it } from 'vitest';
import {
  ensureSystemPackages,
  systemPackages,
  type Machine,
} from '../../../scripts/systemPackages.mjs';

function machine(over: Partial<Machine> & { installed?: string[] }) {
  const logs: string[] = [];
  const aptCalls: string[][] = [];
  const system: Machine = {
    hasDpkg: () => true,
    isInstalled: (name) => (over.installed ?? []).includes(name),
    isRoot: () => false,
    aptGet: (args) => (aptCalls.push(args), 0),
    log: (message) => logs.push(message),
    ...over,
  };
  return { system, logs, aptCalls };
}

describe('the system package check of npm start and npm test', () => {
  it('reads which packages each command needs from scripts/system-packages.txt', () => {
    expect(systemPackages('start')).toEqual(
      expect.arrayContaining(['libkrb5-dev', 'jupyter-server', 'python3-ipykernel']),
    );
    expect(systemPackages('start')).not.toContain('chromium');
    expect(systemPackages('test')).toEqual(
      expect.arrayContaining(['chromium', 'postgresql', 'jupyter-server']),
    );
  });

  it('goes on when everything is installed', () => {
    const { system, logs } = machine({ installed: systemPackages('test') });
    expect(ensureSystemPackages('test', system)).toBe(true);
    expect(logs).toEqual([]);
  });

  it('not as root: names the one sudo line to run and stops, installing nothing', () => {
    const { system, logs, aptCalls } = machine({ installed: ['chromium'] });
    expect(ensureSystemPackages('start', system)).toBe(false);
    expect(aptCalls).toEqual([]);
    expect(logs.join('\n')).toContain(
      `sudo apt-get update && sudo apt-get install -y --no-install-recommends ${systemPackages('start').join(' ')}`,
    );
  });

  it('as root: installs what is missing with apt-get, and stops if apt-get fails', () => {
    const ok = machine({ isRoot: () => true, installed: ['g++', 'make'] });
    expect(ensureSystemPackages('start', ok.system)).toBe(true);
    expect(ok.aptCalls.map((a) => a.filter((x) => !x.startsWith('-')))).toEqual([
      ['DPkg::Lock::Timeout=300', 'update'],
      ['DPkg::Lock::Timeout=300', 'install', ...systemPackages('start').slice(2)],
    ]);
    const failing = machine({ isRoot: () => true, aptGet: () => 100 });
    expect(ensureSystemPackages('start', failing.system)).toBe(false);
    expect(failing.logs.at(-1)).toMatch(/apt-get .*update.* failed \(exit 100\)/);
  });
});
