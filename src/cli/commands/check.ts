/**
 * `notebook-secrets check NOTEBOOK…`: the secrets each notebook needs (names its Python and R cells
 * read as literals with get_secret, another platform's calls or the environment, and the names its
 * metadata lists for its kernel's environment) and whether each is there for you: on the team
 * server when signed in (by the same precedence as get_secret, within the active project), else
 * in the local store. Reads names only, never a value. Exit 1 when one is missing, 0 when none,
 * 2 on bad input (a missing file, a file that is not a notebook), before anything is looked up.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import {
  findNeededSecrets,
  notebookCodeCells,
  NotebookReadError,
  type CodeCell,
} from '../../core/neededSecrets';
import { notebookFileChoices } from '../../core/notebookChoices';
import { FORM_LABELS, type SecretReadForm } from '../../core/secretReads';
import { resolveByPrecedence } from '../../core/scope';
import { configDir } from '../client/credentials';
import { LocalKeychainStore, type Keychain } from '../client/localKeychainStore';
import { action, type CliIo } from '../client/io';
import { CliError, EXIT, formatTable, printJson, type GlobalOptions } from '../client/session';
import { jsonOption, projectOption, serverOption } from '../options';

export interface CheckOptions extends GlobalOptions {
  json?: boolean;
}

interface Checked {
  path: string;
  secrets: {
    name: string;
    cells: number[];
    present: boolean;
    /** How the cells read it: get_secret, colab, kaggle, …, environment. */
    forms: SecretReadForm[];
    /** Listed in the notebook's metadata for its kernel's environment. */
    environment: boolean;
  }[];
}

/** Where presence is looked up: a name test, and how to describe it to the user. */
interface Store {
  kind: 'server' | 'local';
  label: string;
  has(name: string): boolean;
  addHint: string;
}

/** The index of the local store is enough to know its names: the keychain is never opened. */
const noKeychain: Keychain = {
  get: () => undefined,
  set: () => {
    throw new Error('check never writes');
  },
  delete: () => false,
};

async function openStore(options: CheckOptions, io: CliIo): Promise<Store> {
  let session;
  try {
    session = io.openSession(options);
  } catch (error) {
    const named = options.server ?? io.env.NOTEBOOK_SECRETS_SERVER;
    if (!(error instanceof CliError && error.exitCode === EXIT.unauthorized) || named) throw error;
  }
  if (session) {
    const secrets = await session.api.listSecrets();
    const project = session.project;
    return {
      kind: 'server',
      label: `the team server ${session.server}${project ? ` (project ${project})` : ''}`,
      has: (name) => resolveByPrecedence(secrets, name, project ? { project } : {}) !== undefined,
      addHint: 'Add each with `notebook-secrets set NAME`, or ask its owner to share it.',
    };
  }
  const local = new LocalKeychainStore(configDir(io.env), noKeychain);
  const names = new Set(local.list().map((e) => e.name));
  return {
    kind: 'local',
    label: 'the local store on this machine (not signed in to a team server)',
    has: (name) => names.has(name),
    addHint: 'Add each with `notebook-secrets local set NAME`.',
  };
}

interface ReadNotebook {
  path: string;
  cells: CodeCell[];
  /** Names its metadata lists for the kernel's environment. */
  environment: string[];
}

function readNotebooks(paths: string[]): ReadNotebook[] {
  const read: ReadNotebook[] = [];
  const bad: string[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      bad.push(
        `${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a folder, not a notebook' : (code ?? 'unreadable')}`,
      );
      continue;
    }
    try {
      read.push({
        path,
        cells: notebookCodeCells(text),
        environment: notebookFileChoices(text).environment,
      });
    } catch (error) {
      if (!(error instanceof NotebookReadError)) throw error;
      bad.push(`${path}: ${error.message}`);
    }
  }
  if (bad.length > 0) {
    throw new CliError(`Cannot check ${bad.join('; ')}. Name .ipynb notebook files.`, EXIT.usage);
  }
  return read;
}

const cellList = (cells: number[]) =>
  `${cells.length === 1 ? 'cell' : 'cells'} ${cells.join(', ')}`;

export function register(program: Command): void {
  program
    .command('check')
    .description(
      "List the secrets notebooks need (get_secret, other platforms' calls, environment reads) and whether you have each (exit 1 if one is missing)",
    )
    .argument('<notebooks...>', '.ipynb files')
    .addOption(serverOption())
    .addOption(projectOption('the project whose secrets count (default: the active one)'))
    .addOption(jsonOption())
    .action(action((io, paths: string[], options: CheckOptions) => run(paths, options, io)));
}

/** Lists what each notebook needs and whether it is there; exit 1 when one is missing. */
export async function run(paths: string[], options: CheckOptions, io: CliIo): Promise<void> {
  const notebooks = readNotebooks(paths);
  const store = await openStore(options, io);
  const checked: Checked[] = notebooks.map(({ path, cells, environment }) => {
    // An environment read counts when its name looks like a key, or is one you have.
    const names = findNeededSecrets(cells, { environmentCounts: (n) => store.has(n) });
    const listed = environment.filter((e) => !names.some((n) => n.name === e));
    return {
      path,
      secrets: [
        ...names.map((n) => ({
          name: n.name,
          cells: n.cells,
          present: store.has(n.name),
          forms: n.forms,
          environment: environment.includes(n.name),
        })),
        ...listed.map((name) => ({
          name,
          cells: [],
          present: store.has(name),
          forms: [],
          environment: true,
        })),
      ],
    };
  });
  const missing = new Set(
    checked.flatMap((c) => c.secrets.filter((s) => !s.present).map((s) => s.name)),
  );
  if (options.json) {
    printJson(io, { source: store.kind, notebooks: checked, missing: [...missing].sort() });
  } else {
    for (const notebook of checked) {
      io.stdout(`${notebook.path}\n`);
      if (notebook.secrets.length === 0) {
        io.stdout('  needs no secrets\n');
        continue;
      }
      const rows = notebook.secrets.map((s) => {
        const forms = s.forms
          .filter((f) => f !== 'get_secret')
          .map((f) => (f === 'environment' ? 'os.environ' : FORM_LABELS[f]));
        const where = [
          ...(s.cells.length > 0 ? [cellList(s.cells)] : []),
          ...(s.environment ? ['environment'] : []),
        ].join(', ');
        return [
          `  ${s.present ? 'present' : 'missing'}`,
          s.name,
          forms.length > 0 ? `${where} (${forms.join(', ')})` : where,
        ];
      });
      io.stdout(`${formatTable(rows)}\n`);
    }
    const needed = new Set(checked.flatMap((c) => c.secrets.map((s) => s.name)));
    io.stderr(
      missing.size === 0
        ? `All ${needed.size} secret${needed.size === 1 ? '' : 's'} needed are in ${store.label}.\n`
        : `${missing.size} of ${needed.size} secret${needed.size === 1 ? '' : 's'} needed ${missing.size === 1 ? 'is' : 'are'} missing from ${store.label}: ${[...missing].sort().join(', ')}. ${store.addHint}\n`,
    );
  }
  if (missing.size > 0) io.setExitCode(1);
}
