/**
 * The secrets a notebook needs, found statically: the names its Python and R code cells read as
 * string literals, in any of the forms secretReads.ts knows: `get_secret('X')`, Colab's
 * `userdata.get('X')`, Kaggle's, Databricks', SingleStore's and Hopsworks' calls, and reads of the
 * environment (`os.environ['X']`, `os.getenv('X')`, R's `Sys.getenv("X")`). An environment read
 * counts only when its name looks like a key (the leak guard's rule) or is one the caller says the
 * user has: `os.getenv('HOME')` needs no secret. Comments and the insides of other strings are
 * skipped; a name built at run time (a variable, an f-string) cannot be known and is left out.
 * Pure: the extension and the CLI share it.
 */
import type { CellLanguage } from './codeTokens';
import { looksLikeSecretName } from './secretNames';
import { findSecretReads, type SecretRead, type SecretReadForm } from './secretReads';

export type { CellLanguage } from './codeTokens';

export interface NeededSecret {
  name: string;
  /** 1-based numbers of the cells that name it, in order. */
  cells: number[];
  /** How the cells read it, each form once. */
  forms: SecretReadForm[];
}

export interface CodeCell {
  source: string;
  language: CellLanguage;
  /** Its 1-based number among all the notebook's cells (default: its place in the list). */
  number?: number;
}

export interface NeedsOptions {
  /** Whether an environment read of `name` counts (default: the name looks like a key). */
  environmentCounts?: (name: string) => boolean;
}

/** Environment variables every shell has, which a key-like name rule would catch (`PWD`). */
const SHELL_VARIABLES = new Set(['PWD', 'OLDPWD']);

/** Whether a read asks for a secret: every form but an environment read of an ordinary name. */
export function readCounts(read: SecretRead, options: NeedsOptions = {}): boolean {
  if (read.form !== 'environment') return true;
  if (SHELL_VARIABLES.has(read.name)) return false;
  return looksLikeSecretName(read.name) || (options.environmentCounts?.(read.name) ?? false);
}

/** Names the cell's source reads, in order, each once. */
export function findNeededNames(
  source: string,
  language: CellLanguage,
  options: NeedsOptions = {},
): string[] {
  const reads = findSecretReads([{ source, language }])[0] ?? [];
  return [...new Set(reads.filter((r) => readCounts(r, options)).map((r) => r.name))];
}

/** The names every code cell needs, each with the cells that name it. */
export function findNeededSecrets(
  cells: readonly CodeCell[],
  options: NeedsOptions = {},
): NeededSecret[] {
  const found = new Map<string, NeededSecret>();
  findSecretReads(cells).forEach((reads, index) => {
    const number = cells[index]!.number ?? index + 1;
    for (const read of reads) {
      if (!readCounts(read, options)) continue;
      const entry = found.get(read.name) ?? { name: read.name, cells: [], forms: [] };
      if (!entry.cells.includes(number)) entry.cells.push(number);
      if (!entry.forms.includes(read.form)) entry.forms.push(read.form);
      found.set(read.name, entry);
    }
  });
  return [...found.values()];
}

/** A kernel or cell language as a scanned one, or undefined for languages we do not read. */
export function cellLanguage(language: string | undefined): CellLanguage | undefined {
  const lower = (language ?? '').toLowerCase();
  if (lower === 'python' || lower === 'python3' || lower === 'ipython') return 'python';
  if (lower === 'r') return 'r';
  return undefined;
}

/** A notebook that cannot be read: the message says why. */
export class NotebookReadError extends Error {}

/**
 * The code cells of an `.ipynb` file's text, in the notebook's language (its kernelspec or
 * language_info; Python when it names none). Throws NotebookReadError for anything not a notebook.
 */
export function notebookCodeCells(json: string): CodeCell[] {
  let notebook: unknown;
  try {
    notebook = JSON.parse(json);
  } catch (error) {
    throw new NotebookReadError(`not valid JSON (${(error as Error).message})`);
  }
  const root = notebook as {
    cells?: unknown;
    metadata?: { kernelspec?: { language?: unknown }; language_info?: { name?: unknown } };
  } | null;
  if (!root || typeof root !== 'object' || !Array.isArray(root.cells)) {
    throw new NotebookReadError('no "cells" list: not a notebook');
  }
  const declared = root.metadata?.kernelspec?.language ?? root.metadata?.language_info?.name;
  const language = cellLanguage(typeof declared === 'string' ? declared : 'python');
  if (!language) return [];
  const cells: CodeCell[] = [];
  (root.cells as unknown[]).forEach((cell, index) => {
    const c = cell as { cell_type?: unknown; source?: unknown } | null;
    if (!c || typeof c !== 'object' || c.cell_type !== 'code') return;
    const source = Array.isArray(c.source)
      ? c.source.join('')
      : typeof c.source === 'string'
        ? c.source
        : '';
    cells.push({ source, language, number: index + 1 });
  });
  return cells;
}
