/**
 * The options several subcommands share, written once so that a flag means and reads the same in
 * every command's help. Each call returns a new commander Option; a command adds it with
 * `.addOption(…)` where it stands in that command's help.
 */
import { Option } from 'commander';
import { SecretType } from '../core/model';

/** `--server <url>`: the team server to talk to. */
export function serverOption(description = 'server URL (default: the saved one)'): Option {
  return new Option('--server <url>', description);
}

/** What `--scope` does in each kind of command. */
const SCOPE_HELP = {
  /** Names one secret to change: only needed when the name is in several scopes. */
  change: 'personal, project:ID or team:ID (needed when the name is in several)',
  /** Names one secret to read (else the one that wins by precedence). */
  read: 'personal, project:ID or team:ID',
  /** Where new secrets go. */
  create: 'personal (default), project:ID or team:ID',
  /** Narrows a listing. */
  list: 'personal, project, team, project:ID or team:ID',
  /** Narrows the secrets a command hands on (export, run). */
  filter: 'only secrets of this scope kind or scope key',
  /** `audit NAME`: which of several secrets of that name. */
  audit: 'personal, project:ID or team:ID (with NAME in several scopes)',
  /** `local …`: accepted for the same command lines as the server commands. */
  local: 'personal (the only scope of local secrets)',
} as const;

/** `--scope <scope>`, with the help of its kind of command. */
export function scopeOption(use: keyof typeof SCOPE_HELP): Option {
  return new Option('--scope <scope>', SCOPE_HELP[use]);
}

/** `--project <id>`: the active project for this run. */
export function projectOption(description = 'the active project (default: the saved one)'): Option {
  return new Option('--project <id>', description);
}

/** `--json`: machine-readable output. */
export function jsonOption(description = 'print the result as JSON'): Option {
  return new Option('--json', description);
}

/** `--type <type>`: one of the secret types. */
export function typeOption(): Option {
  return new Option('--type <type>', `one of ${SecretType.options.join(', ')}`);
}

/** `--search <text>` of the listings. */
export function searchOption(): Option {
  return new Option('--search <text>', 'only names or descriptions containing this text');
}
