/**
 * Rewriting other platforms' secret reads to `get_secret('NAME')`: the edits behind the quick fix
 * "Use get_secret" (one read) and "Port This Notebook" (all of them). Each rewritten read becomes
 * `get_secret('NAME')` (`get_secret_bytes` for bytes); `from notebook_secrets import get_secret`
 * is added once; a platform import or client that no read uses any more is taken out (it would
 * fail where the platform is not: `from google.colab import userdata` outside Colab), and when it
 * was an import on its own, our import takes its place. SingleStore's `get_secret` has the same
 * name and call as ours, so porting one of its calls ports its import, and with it every call.
 * Pure: offsets in, edits out.
 */
import { tokenize } from './codeTokens';
import {
  findPlatformBindings,
  findSecretReads,
  type CellSource,
  type PlatformBinding,
  type SecretRead,
} from './secretReads';

export const GET_SECRET_IMPORT = 'from notebook_secrets import get_secret';

/** One replacement in one cell: `text` in place of start..end. */
export interface CellEdit {
  cell: number;
  start: number;
  end: number;
  text: string;
}

/** A read a port can rewrite: in cell `cell`. */
export interface PortableRead {
  cell: number;
  read: SecretRead;
  /** What replaces it. */
  replacement: string;
}

/** Every read of the notebook that get_secret can replace as it is. */
export function portableReads(cells: readonly CellSource[]): PortableRead[] {
  return findSecretReads(cells).flatMap((reads, cell) =>
    reads
      .filter((read) => read.rewritable && read.form !== 'get_secret')
      .map((read) => ({ cell, read, replacement: callFor(read) })),
  );
}

function callFor(read: SecretRead): string {
  return `get_secret${read.bytes ? '_bytes' : ''}('${read.name}')`;
}

/** The edits that port `chosen` (some of portableReads), sorted by cell, then from the end. */
export function portEdits(
  cells: readonly CellSource[],
  chosen: readonly PortableRead[],
): CellEdit[] {
  if (chosen.length === 0) return [];
  const edits: CellEdit[] = [];
  for (const { cell, read, replacement } of chosen) {
    if (cells[cell]!.source.slice(read.start, read.end) !== replacement) {
      edits.push({ cell, start: read.start, end: read.end, text: replacement });
    }
  }
  const gone = (cell: number, start: number, end: number) =>
    edits.some((e) => e.cell === cell && e.start <= start && end <= e.end);
  const bindings = findPlatformBindings(cells).flatMap((list, cell) =>
    list.map((binding) => ({ cell, binding })),
  );
  const tokens = cells.map((c) => (c.language === 'python' ? tokenize(c.source, 'python') : []));
  // A name is used when a token outside what is being removed refers to it.
  const used = (bound: string, except: { cell: number; start: number; end: number }) =>
    tokens.some((list, cell) =>
      list.some(
        (t) =>
          t.kind === 'name' &&
          (t.full === bound || t.full.startsWith(`${bound}.`)) &&
          !(cell === except.cell && except.start <= t.start && t.end <= except.end) &&
          !gone(cell, t.start, t.end),
      ),
    );
  const singlestore = chosen.some((c) => c.read.form === 'singlestore');
  const removed: { cell: number; binding: PlatformBinding; keep: string[] }[] = [];
  // A client assignment removed may leave its import unused: look again until nothing changes.
  for (let changed = true; changed;) {
    changed = false;
    for (const { cell, binding } of bindings) {
      if (removed.some((r) => r.binding === binding)) continue;
      const span = { cell, start: binding.start, end: binding.end };
      const keep = binding.names.filter(
        (n) =>
          !(binding.form === 'singlestore' && singlestore && n.name === 'get_secret') &&
          (used(n.bound, span) || !bindsPlatform(binding, n.name)),
      );
      if (keep.length === binding.names.length) continue;
      removed.push({ cell, binding, keep: keep.map((n) => n.bound) });
      edits.push({ cell, start: binding.start, end: binding.end, text: '' });
      changed = true;
    }
  }
  const own = importsNeeded(cells, chosen);
  // Our import takes the place of a platform import that went, when it comes before the reads.
  const firstCell = Math.min(...chosen.map((c) => c.cell));
  let placed = own.length === 0;
  for (const r of removed) {
    const edit = edits.find((e) => e.cell === r.cell && e.start === r.binding.start)!;
    const rest = r.keep.length > 0 ? restOfImport(r.binding, r.keep) : '';
    if (
      !placed &&
      r.binding.kind === 'import' &&
      r.cell <= firstCell &&
      wholeLines(cells[r.cell]!.source, edit)
    ) {
      edit.text = rest ? `${rest}\n${ownImport(own)}` : ownImport(own);
      placed = true;
    } else if (rest) {
      edit.text = rest;
    } else {
      Object.assign(edit, wholeLineSpan(cells[r.cell]!.source, edit));
    }
  }
  if (!placed) {
    const at = importOffset(cells[firstCell]!.source);
    edits.push({ cell: firstCell, start: at, end: at, text: `${ownImport(own)}\n` });
  }
  return edits.sort((a, b) => a.cell - b.cell || b.start - a.start);
}

/** Whether `name` in the binding is the platform's secrets API (`drive` of google.colab is not). */
function bindsPlatform(binding: PlatformBinding, name: string): boolean {
  if (binding.kind === 'assignment' || !binding.from) return true;
  return ['userdata', 'UserSecretsClient', 'get_secret'].includes(name);
}

/** The same import, with only the names in `keep`. */
function restOfImport(binding: PlatformBinding, keep: string[]): string {
  const names = binding.names
    .filter((n) => keep.includes(n.bound))
    .map((n) => (n.bound === n.name ? n.name : `${n.name} as ${n.bound}`));
  return `from ${binding.module} import ${names.join(', ')}`;
}

/** get_secret and get_secret_bytes, as far as the chosen reads need them and no cell imports them. */
function importsNeeded(cells: readonly CellSource[], chosen: readonly PortableRead[]): string[] {
  const names = [...new Set(chosen.map((c) => (c.read.bytes ? 'get_secret_bytes' : 'get_secret')))];
  return names.filter((name) => !cells.some((c) => importsOwn(c.source, name)));
}

function ownImport(names: string[]): string {
  return `from notebook_secrets import ${names.sort().join(', ')}`;
}

/** Whether `source` imports `name` from notebook_secrets (under its own name). */
export function importsOwn(source: string, name: string): boolean {
  return new RegExp(
    `^[ \\t]*from[ \\t]+notebook_secrets[ \\t]+import[ \\t]*(?:\\([^)]*|[^\\n]*)\\b${name}\\b(?![ \\t]+as\\b)`,
    'm',
  ).test(source);
}

function wholeLines(source: string, span: { start: number; end: number }): boolean {
  const lineStart = source.lastIndexOf('\n', span.start - 1) + 1;
  const lineEnd = source.indexOf('\n', span.end);
  return (
    /^[ \t]*$/.test(source.slice(lineStart, span.start)) &&
    /^[ \t]*(?:#.*)?$/.test(source.slice(span.end, lineEnd < 0 ? source.length : lineEnd))
  );
}

/** The span widened to its whole lines and their newline, when nothing else is on them. */
function wholeLineSpan(
  source: string,
  span: { start: number; end: number },
): { start: number; end: number } {
  if (!wholeLines(source, span)) return span;
  const start = source.lastIndexOf('\n', span.start - 1) + 1;
  const lineEnd = source.indexOf('\n', span.end);
  return { start, end: lineEnd < 0 ? source.length : lineEnd + 1 };
}

/**
 * Where `from notebook_secrets import get_secret` goes in Python code that lacks it: after a
 * shebang, leading comments, the module docstring and `from __future__` imports. Undefined when
 * the code imports it already.
 */
export function importOffset(text: string): number {
  const lines = text.split('\n');
  let i = 0;
  let offset = 0;
  const skip = () => (offset += lines[i++]!.length + 1);
  const blankOrComment = (l: string) => /^\s*(?:#.*)?$/.test(l);
  while (i < lines.length && blankOrComment(lines[i]!)) skip();
  const doc = /^[rRuU]?("""|''')/.exec(lines[i] ?? '');
  if (doc) {
    const quote = doc[1]!;
    const closedOnFirst = lines[i]!.includes(quote, doc[0].length);
    skip();
    if (!closedOnFirst) {
      while (i < lines.length && !lines[i]!.includes(quote)) skip();
      if (i < lines.length) skip();
    }
  }
  const afterHeader = offset;
  let afterFuture: number | undefined;
  while (i < lines.length) {
    const line = lines[i]!;
    const future = /^from\s+__future__\s+import\b/.test(line);
    if (!future && !blankOrComment(line)) break;
    skip();
    if (future) afterFuture = offset;
  }
  return Math.min(afterFuture ?? afterHeader, text.length);
}
