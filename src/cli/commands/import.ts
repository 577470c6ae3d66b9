/**
 * `notebook-secrets import FILE.env`: one secret per NAME=value line, all or nothing. The whole
 * file is parsed and checked (names, duplicates, sizes, names already taken in the scope) before
 * the first write; if a write still fails, the ones made before it are undone.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { SecretsError } from '../../core/errors';
import { PERSONAL, SecretType, type SecretMetadata } from '../../core/model';
import { sameScope, scopeKey } from '../../core/scope';
import { assertValueSize, nameProblem } from '../../core/validation';
import { parseDotenv, type DotenvEntry } from '../client/dotenv';
import { action, type CliIo } from '../client/io';
import {
  CliError,
  EXIT,
  exitCodeOf,
  parseScopeOption,
  printJson,
  type GlobalOptions,
  type Session,
} from '../client/session';
import { jsonOption, scopeOption, serverOption } from '../options';

export interface ImportOptions extends GlobalOptions {
  scope?: string;
  type?: string;
  overwrite?: boolean;
}

const NOTHING = 'Nothing was imported.';

/** Every problem of the file itself, before anything is asked of the server. */
function checkEntries(file: string, entries: DotenvEntry[]): void {
  const bad = entries.filter((e) => nameProblem(e.name));
  if (bad.length > 0) {
    throw new CliError(
      `${file}: invalid names on line ${bad.map((e) => `${e.line} (${e.name})`).join(', ')}: ${nameProblem(bad[0]!.name)} ${NOTHING}`,
    );
  }
  const lines = new Map<string, number[]>();
  for (const e of entries) lines.set(e.name, [...(lines.get(e.name) ?? []), e.line]);
  const duplicates = [...lines].filter(([, at]) => at.length > 1);
  if (duplicates.length > 0) {
    throw new CliError(
      `${file}: ${duplicates.map(([name, at]) => `${name} is on lines ${at.join(' and ')}`).join('; ')}. Keep one line per name. ${NOTHING}`,
    );
  }
  for (const e of entries) {
    try {
      assertValueSize(e.value);
    } catch (error) {
      throw new CliError(
        `${file}, line ${e.line} (${e.name}): ${(error as Error).message} ${NOTHING}`,
        EXIT.usage,
        'value_too_large',
      );
    }
  }
}

interface Written {
  name: string;
  created: boolean;
  version: number;
  id: string;
  /** The version before the import (updates), to restore on rollback. */
  previous?: number;
}

/** Undoes the writes of a failed import; returns the names it could not undo. */
async function rollback(session: Session, written: Written[]): Promise<string[]> {
  const left: string[] = [];
  for (const w of [...written].reverse()) {
    try {
      if (w.created) await session.api.deleteSecret(w.id, w.version);
      else await session.api.restore(w.id, w.previous!, w.version);
    } catch {
      left.push(w.name);
    }
  }
  return left;
}

export function register(program: Command): void {
  program
    .command('import')
    .description(
      'Import secrets from a .env file, all or nothing (names already in the scope need --overwrite)',
    )
    .argument('<file>', 'a dotenv file (NAME=value lines)')
    .addOption(scopeOption('create'))
    .option('--type <type>', `type of the new secrets, one of ${SecretType.options.join(', ')}`)
    .option('--overwrite', 'update secrets of the same name in the scope (else refuse)')
    .addOption(serverOption())
    .addOption(jsonOption())
    .action(action((io, file: string, options: ImportOptions) => run(file, options, io)));
}

/** Imports every NAME=value line of `file`, or nothing. */
export async function run(file: string, options: ImportOptions, io: CliIo): Promise<void> {
  const type = options.type === undefined ? undefined : SecretType.safeParse(options.type);
  if (type && !type.success)
    throw new CliError(
      `The type '${options.type}' is not one of ${SecretType.options.join(', ')}.`,
    );
  const scope = options.scope ? parseScopeOption(options.scope) : PERSONAL;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`);
  }
  let entries: DotenvEntry[];
  try {
    entries = parseDotenv(text);
  } catch (error) {
    throw new CliError(`${file}: ${(error as Error).message} ${NOTHING}`);
  }
  checkEntries(file, entries);
  const session = io.openSession(options);
  const existing = new Map<string, SecretMetadata>();
  for (const s of await session.api.listSecrets({ scope: scopeKey(scope) }))
    if (sameScope(s.scope, scope)) existing.set(s.name, s);
  const taken = entries.filter((e) => existing.has(e.name)).map((e) => e.name);
  if (taken.length > 0 && !options.overwrite) {
    throw new CliError(
      `${taken.join(', ')} already ${taken.length === 1 ? 'exists' : 'exist'} in ${scopeKey(scope)}. Pass --overwrite to update ${taken.length === 1 ? 'it' : 'them'}. ${NOTHING}`,
      EXIT.conflict,
      'name_taken',
    );
  }
  const written: Written[] = [];
  for (const entry of entries) {
    const current = existing.get(entry.name);
    try {
      const secret = current
        ? await session.api.updateSecret(current.id, current.version, {
            value: entry.value,
            encoding: 'text',
            ...(type?.data && { type: type.data }),
          })
        : await session.api.createSecret({
            name: entry.name,
            value: entry.value,
            encoding: 'text',
            scope,
            ...(type?.data && { type: type.data }),
          });
      written.push({
        name: secret.name,
        created: !current,
        version: secret.version,
        id: secret.id,
        ...(current && { previous: current.version }),
      });
    } catch (error) {
      const left = await rollback(session, written);
      const message = error instanceof Error ? error.message : String(error);
      throw new CliError(
        `Importing ${entry.name} (line ${entry.line}) failed: ${message} ${
          left.length === 0
            ? `${NOTHING}${written.length > 0 ? ` (${written.length} written before it were undone.)` : ''}`
            : `Could not undo ${left.join(', ')}; check them with \`notebook-secrets history\`.`
        }`,
        exitCodeOf(error),
        error instanceof SecretsError ? error.code : 'error',
      );
    }
  }
  if (options.json)
    printJson(io, {
      scope: scopeKey(scope),
      imported: written.map(({ name, created, version }) => ({ name, created, version })),
    });
  else {
    const created = written.filter((r) => r.created).length;
    io.stdout(
      `Imported ${written.length} secrets into ${scopeKey(scope)} (${created} created, ${written.length - created} updated).\n`,
    );
  }
}
