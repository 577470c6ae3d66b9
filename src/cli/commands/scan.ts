/**
 * `notebook-secrets scan [PATH…]`: hard-coded keys in notebooks and source files, reported by
 * file, cell and line with a masked prefix of the value. Exit 1 when something is found, 0 when
 * clean, 2 on bad usage or an unreadable file or notebook. Needs no sign-in.
 */
import type { Command } from 'commander';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { base64ToBytes, isUtf8 } from '../../core/encoding';
import { SECRET_RULES, storedValueRules, type SecretRule } from '../../core/secretRules';
import {
  NotebookFormatError,
  SCANNED_FILE,
  SKIPPED_FOLDERS,
  scanFile,
  type SecretFinding,
} from '../../core/secretScan';
import { resolveAll } from '../client/resolveAll';
import { action, type CliIo } from '../client/io';
import { CliError, EXIT, type GlobalOptions } from '../client/session';
import { serverOption } from '../options';

export interface ScanOptions extends GlobalOptions {
  format?: string;
  values?: boolean;
}

/** The signed-in user's values (by precedence), each also as text when a file secret is UTF-8. */
async function valueRules(options: ScanOptions, io: CliIo): Promise<SecretRule[]> {
  const secrets = await resolveAll(io.openSession(options), undefined);
  const values: { name: string; value: string }[] = [];
  for (const s of secrets) {
    values.push({ name: s.name, value: s.value });
    if (s.encoding === 'base64') {
      const bytes = base64ToBytes(s.value);
      if (isUtf8(bytes)) values.push({ name: s.name, value: Buffer.from(bytes).toString('utf8') });
    }
  }
  return storedValueRules(values);
}

function collect(path: string, files: string[], top: boolean): void {
  let stat;
  try {
    stat = statSync(path);
  } catch (error) {
    throw new CliError(`Cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`);
  }
  if (stat.isDirectory()) {
    if (!top && SKIPPED_FOLDERS.has(basename(path))) return;
    for (const entry of readdirSync(path).sort()) collect(join(path, entry), files, false);
  } else if (top || SCANNED_FILE.test(basename(path))) {
    files.push(path);
  }
}

function where(path: string, f: SecretFinding): string {
  if (f.cell === undefined) return `${path}:line ${f.line}`;
  return `${path}:cell ${f.cell}:line ${f.line}${f.output ? ` (output ${f.output})` : ''}`;
}

/** SARIF 2.1.0, for code-scanning tools; a notebook's cell and line go into the message. */
function toSarif(results: { path: string; finding: SecretFinding }[]) {
  const rules = new Map<string, string>();
  for (const { finding } of results) rules.set(finding.rule, finding.title);
  return {
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'notebook-secrets scan',
            rules: [...rules].map(([id, title]) => ({ id, shortDescription: { text: title } })),
          },
        },
        results: results.map(({ path, finding: f }) => ({
          ruleId: f.rule,
          level: 'error',
          message: {
            text: `${f.title} ${f.masked}${f.cell === undefined ? '' : ` in cell ${f.cell}${f.output ? `, output ${f.output}` : ''}, line ${f.line}`}`,
          },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: path.split('\\').join('/') },
                ...(f.cell === undefined
                  ? { region: { startLine: f.line, startColumn: f.column } }
                  : {}),
              },
            },
          ],
          ...(f.cell === undefined
            ? {}
            : {
                properties: {
                  cell: f.cell,
                  line: f.line,
                  ...(f.output ? { output: f.output } : {}),
                },
              }),
        })),
      },
    ],
  };
}

export function register(program: Command): void {
  program
    .command('scan')
    .description('Find hard-coded keys in notebooks and files (exit 1 if any, 0 if none)')
    .argument('[paths...]', 'files or folders (default: the current folder)')
    .option('--format <format>', 'text (default), json or sarif')
    .option('--values', 'also find your stored values (signed in to a team server); never printed')
    .addOption(serverOption('server URL for --values (default: the saved one)'))
    .action(action((io, paths: string[], options: ScanOptions) => run(paths, options, io)));
}

/** Scans `paths` (default: the current folder); exit 1 when something is found. */
export async function run(paths: string[], options: ScanOptions, io: CliIo): Promise<void> {
  const format = options.format ?? 'text';
  if (format !== 'text' && format !== 'json' && format !== 'sarif')
    throw new CliError(`The format '${format}' is not one of text, json, sarif.`);
  const files: string[] = [];
  for (const path of paths.length > 0 ? paths : ['.']) collect(path, files, true);
  // Stored values first: a provider rule matching the same text is then not reported twice.
  const rules = options.values
    ? [...(await valueRules(options, io)), ...SECRET_RULES]
    : SECRET_RULES;
  const results: { path: string; finding: SecretFinding }[] = [];
  const unreadable: string[] = [];
  for (const path of files) {
    let findings: SecretFinding[];
    try {
      findings = scanFile(path, readFileSync(path, 'utf8'), rules);
    } catch (error) {
      const why =
        error instanceof NotebookFormatError
          ? error.message
          : ((error as NodeJS.ErrnoException).code ?? 'error');
      unreadable.push(`${path}: ${why}`);
      continue;
    }
    for (const finding of findings) results.push({ path, finding });
  }
  if (format === 'sarif') {
    io.stdout(`${JSON.stringify(toSarif(results), null, 2)}\n`);
  } else if (format === 'json') {
    const out = results.map(({ path, finding: f }) => ({
      path,
      ...(f.cell === undefined ? {} : { cell: f.cell }),
      ...(f.output === undefined ? {} : { output: f.output }),
      line: f.line,
      column: f.column,
      rule: f.rule,
      title: f.title,
      masked: f.masked,
      ...(f.variable === undefined ? {} : { variable: f.variable }),
    }));
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    for (const { path, finding: f } of results)
      io.stdout(`${where(path, f)}: ${f.title} (${f.rule}) ${f.masked}\n`);
    const inFiles = new Set(results.map((r) => r.path)).size;
    const scanned = files.length - unreadable.length;
    io.stderr(
      results.length === 0
        ? `No hard-coded keys found in ${scanned} file${scanned === 1 ? '' : 's'}.\n`
        : `${results.length} possible key${results.length === 1 ? '' : 's'} in ${inFiles} of ${scanned} file${scanned === 1 ? '' : 's'}. Move each into Notebook Secrets and read it with get_secret('NAME').\n`,
    );
  }
  if (unreadable.length > 0)
    throw new CliError(`Could not scan ${unreadable.join('; ')}.`, EXIT.usage);
  if (results.length > 0) io.setExitCode(1);
}
