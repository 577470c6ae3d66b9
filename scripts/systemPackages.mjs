// Checks the Debian packages of scripts/system-packages.txt that a command needs, before it starts:
//   node scripts/systemPackages.mjs start|test
// Missing packages are installed with apt-get when running as root; otherwise this prints the one
// `sudo apt-get install` line to run and exits 1. On a system without dpkg it lists what is needed
// and goes on, since it cannot tell what is installed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const LIST = join(here, 'system-packages.txt');

/** @typedef {'start' | 'test'} Command */

/**
 * What the check asks of the machine; tests pass their own.
 * @typedef {object} Machine
 * @property {() => boolean} hasDpkg
 * @property {(name: string) => boolean} isInstalled
 * @property {() => boolean} isRoot
 * @property {(args: string[]) => number | string | null} aptGet Runs apt-get; returns its exit status (or the signal that ended it).
 * @property {(message: string) => void} log
 */

/**
 * The packages that `command` needs, in list order.
 * @param {Command} command
 * @returns {string[]}
 */
export function systemPackages(command) {
  return readFileSync(LIST, 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim().split(/\s+/))
    .flatMap(([name, ...commands]) => (name && commands.includes(command) ? [name] : []));
}

/** @type {Machine} */
const machine = {
  hasDpkg: () => !spawnSync('dpkg-query', ['--version']).error,
  isInstalled(name) {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return r.status === 0 && r.stdout.includes('install ok installed');
  },
  isRoot: () => process.getuid?.() === 0,
  aptGet(args) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    return r.status ?? r.signal;
  },
  log: (message) => console.error(message),
};

/**
 * Makes sure the packages `command` needs are there; returns false if the caller must stop.
 * @param {Command} command
 * @param {Machine} [system]
 * @returns {boolean}
 */
export function ensureSystemPackages(command, system = machine) {
  const needed = systemPackages(command);
  if (!system.hasDpkg()) {
    system.log(
      `${command}: not a Debian system; make sure these are installed: ${needed.join(' ')}`,
    );
    return true;
  }
  const missing = needed.filter((name) => !system.isInstalled(name));
  if (missing.length === 0) return true;
  const install = ['install', '-y', '--no-install-recommends', ...missing];
  if (!system.isRoot()) {
    system.log(
      `${command}: these Debian packages are missing (see scripts/system-packages.txt).\n` +
        `Install them, then run npm ${command} again:\n\n` +
        `  sudo apt-get update && sudo apt-get ${install.join(' ')}\n`,
    );
    return false;
  }
  system.log(`${command}: installing Debian packages: ${missing.join(' ')}`);
  const lock = ['-o', 'DPkg::Lock::Timeout=300'];
  for (const args of [
    [...lock, 'update', '-qq'],
    [...lock, ...install, '-qq'],
  ]) {
    const status = system.aptGet(args);
    if (status !== 0) {
      system.log(`${command}: apt-get ${args.join(' ')} failed (exit ${status})`);
      return false;
    }
  }
  return true;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const command = process.argv[2];
  if (command !== 'start' && command !== 'test') {
    console.error('usage: node scripts/systemPackages.mjs start|test');
    process.exit(2);
  }
  process.exit(ensureSystemPackages(command) ? 0 : 1);
}
