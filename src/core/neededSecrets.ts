/**
 * The secrets a notebook needs, found statically: names its Python and R code cells pass as string
 * literals to `get_secret`, `get_secret_bytes` (Python) or `get_secret_raw` (R): `get_secret('X')`,
 * `get_secret(name="X")`, `notebook_secrets.get_secret('X')`, R's `get_secret("X")`. Comments
 * and the insides of other strings are skipped; a name built at run time (a variable, an f-string)
 * cannot be known and is left out. Pure: the extension and the CLI share it.
 */
import { NAME_PATTERN } from './model';

export type CellLanguage = 'python' | 'r';

export interface NeededSecret {
  name: string;
  /** 1-based numbers of the cells that name it, in order. */
  cells: number[];
}

export interface CodeCell {
  source: string;
  language: CellLanguage;
  /** Its 1-based number among all the notebook's cells (default: its place in the list). */
  number?: number;
}

type Token =
  | { kind: 'name'; text: string }
  | { kind: 'string'; text: string; literal: boolean }
  | { kind: 'punct'; text: string };

const CALLEES = new Set(['get_secret', 'get_secret_bytes', 'get_secret_raw']);

/** Names the cell's source passes to get_secret/get_secret_raw, in order, each once. */
export function findNeededNames(source: string, language: CellLanguage): string[] {
  const tokens = tokenize(source, language);
  const names: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'name' || !CALLEES.has(t.text)) continue;
    // `def get_secret(` / `get_secret <- function(` define the function; they name nothing.
    const before = tokens[i - 1];
    if (before?.kind === 'name' && before.text === 'def') continue;
    if (tokens[i + 1]?.text !== '(') continue;
    const name = firstNameArgument(tokens, i + 2);
    if (name !== undefined && NAME_PATTERN.test(name) && !names.includes(name)) names.push(name);
  }
  return names;
}

/** The names every code cell needs, each with the cells that name it. */
export function findNeededSecrets(cells: readonly CodeCell[]): NeededSecret[] {
  const found = new Map<string, NeededSecret>();
  cells.forEach((cell, index) => {
    for (const name of findNeededNames(cell.source, cell.language)) {
      const entry = found.get(name) ?? { name, cells: [] };
      entry.cells.push(cell.number ?? index + 1);
      found.set(name, entry);
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

/**
 * The name in a call's arguments starting at `start` (just after `(`): the first positional
 * argument when it is a lone string literal, else a `name=` keyword argument at the same depth.
 */
function firstNameArgument(tokens: readonly Token[], start: number): string | undefined {
  const literalAt = (i: number): string | undefined => {
    const t = tokens[i];
    const next = tokens[i + 1];
    if (t?.kind !== 'string' || !t.literal) return undefined;
    return next?.text === ',' || next?.text === ')' ? t.text : undefined;
  };
  const first = literalAt(start);
  if (first !== undefined) return first;
  let depth = 0;
  for (let i = start; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'punct') {
      if (t.text === '(' || t.text === '[' || t.text === '{') depth++;
      else if (t.text === ')' || t.text === ']' || t.text === '}') {
        if (depth === 0) return undefined;
        depth--;
      }
    } else if (
      depth === 0 &&
      t.kind === 'name' &&
      t.text === 'name' &&
      tokens[i + 1]?.text === '=' &&
      (tokens[i - 1]?.text === '(' || tokens[i - 1]?.text === ',')
    ) {
      return literalAt(i + 2);
    }
  }
  return undefined;
}

const IDENT_START = /[A-Za-z_.]/;
const IDENT_PART = /[A-Za-z0-9_.]/;

/** Just enough of Python's and R's lexical rules to tell code from comments and strings. */
function tokenize(source: string, language: CellLanguage): Token[] {
  const tokens: Token[] = [];
  const n = source.length;
  let i = 0;
  while (i < n) {
    const c = source[i]!;
    if (c === '#') {
      while (i < n && source[i] !== '\n') i++;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < n && IDENT_PART.test(source[j]!)) j++;
      const word = source.slice(i, j);
      const quote = source[j];
      if ((quote === '"' || quote === "'") && isStringPrefix(word, language)) {
        const read = readString(source, j, word.toLowerCase(), language);
        tokens.push(read.token);
        i = read.end;
        continue;
      }
      // `notebook_secrets.get_secret` and R's `notebook_secrets::get_secret`: the last part counts.
      const parts = word.split('.');
      tokens.push({ kind: 'name', text: parts[parts.length - 1] || word });
      i = j;
      continue;
    }
    if (c === '"' || c === "'") {
      const read = readString(source, i, '', language);
      tokens.push(read.token);
      i = read.end;
      continue;
    }
    if (c === '`' && language === 'r') {
      const end = source.indexOf('`', i + 1);
      const stop = end < 0 ? n : end;
      tokens.push({ kind: 'name', text: source.slice(i + 1, stop) });
      i = stop + 1;
      continue;
    }
    if (c === '=' && source[i + 1] === '=') {
      tokens.push({ kind: 'punct', text: '==' });
      i += 2;
      continue;
    }
    tokens.push({ kind: 'punct', text: c });
    i++;
  }
  return tokens;
}

function isStringPrefix(word: string, language: CellLanguage): boolean {
  const lower = word.toLowerCase();
  if (language === 'r') return lower === 'r';
  return /^(?:r|u|b|f|br|rb|fr|rf)$/.test(lower);
}

/** Reads the string whose opening quote is at `start`; `prefix` is Python's r/b/f or R's r. */
function readString(
  source: string,
  start: number,
  prefix: string,
  language: CellLanguage,
): { token: Token; end: number } {
  const quote = source[start]!;
  const raw = prefix.includes('r');
  // f-strings and bytes are not names we can know statically.
  const literal = !prefix.includes('f') && !prefix.includes('b');
  if (language === 'r' && raw) return readRRawString(source, start, quote);
  const triple = language === 'python' && source.startsWith(quote.repeat(3), start);
  const close = triple ? quote.repeat(3) : quote;
  let i = start + close.length;
  let text = '';
  while (i < source.length) {
    if (source.startsWith(close, i)) {
      return { token: { kind: 'string', text, literal }, end: i + close.length };
    }
    const c = source[i]!;
    if (c === '\n' && !triple && language === 'python') break;
    if (c === '\\' && i + 1 < source.length) {
      text += raw ? c + source[i + 1] : unescape(source[i + 1]!);
      i += 2;
      continue;
    }
    text += c;
    i++;
  }
  // Unterminated: not a literal anything can be read from.
  return { token: { kind: 'string', text, literal: false }, end: i };
}

/** R's r"(...)", r"[...]", r"{...}", with optional dashes: r"-(...)-". */
function readRRawString(
  source: string,
  start: number,
  quote: string,
): { token: Token; end: number } {
  let i = start + 1;
  let dashes = '';
  while (source[i] === '-') {
    dashes += '-';
    i++;
  }
  const open = source[i];
  const closer = open === '(' ? ')' : open === '[' ? ']' : open === '{' ? '}' : undefined;
  if (!closer) return { token: { kind: 'string', text: '', literal: false }, end: i };
  const terminator = closer + dashes + quote;
  const end = source.indexOf(terminator, i + 1);
  if (end < 0) return { token: { kind: 'string', text: '', literal: false }, end: source.length };
  return {
    token: { kind: 'string', text: source.slice(i + 1, end), literal: true },
    end: end + terminator.length,
  };
}

function unescape(c: string): string {
  switch (c) {
    case 'n':
      return '\n';
    case 't':
      return '\t';
    default:
      return c;
  }
}
