/**
 * Finds hard-coded keys in notebooks and source files. A notebook is read as a notebook: each
 * cell's source is joined and scanned as the text the user sees (so JSON's escaped quotes hide
 * nothing and line numbers are the cell's own), text outputs are scanned too, and images and
 * widget state are skipped (base64 blobs are where other scanners find false positives).
 * Findings carry a masked prefix of the value, never the value.
 */
import { looksLikeValue, SECRET_RULES, type RuleHit, type SecretRule } from './secretRules';

export interface SecretFinding {
  /** 1-based cell number for a notebook; absent for a plain file. */
  cell?: number;
  /** Where in the cell: its source, or its Nth output (1-based). */
  output?: number;
  /** 1-based line and column within the cell's source or output text (or the file). */
  line: number;
  column: number;
  rule: string;
  title: string;
  /** The first characters of the value and its length: `sk-p… (56 chars)`. */
  masked: string;
  /** For `NAME = '…'`: the name the value was assigned to. */
  variable?: string;
  /** For a stored value: the secret's name. */
  secret?: string;
  /** Offsets of the value in the scanned text (the cell's source, or the file). */
  start: number;
  end: number;
}

/** What the scan needs to report a value without showing it. */
export function maskValue(value: string): string {
  const shown = Math.min(4, Math.floor(value.length / 4));
  return `${value.slice(0, shown)}… (${value.length} chars)`;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** The name a string literal at `start` is assigned to (`name = '…'`, `"name": "…"`), if any. */
function variableOf(text: string, start: number, known?: string): { variable?: string } {
  if (known) return { variable: known };
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const before = text.slice(lineStart, start);
  const m = /([A-Za-z_][A-Za-z0-9_]*)['"]?[ \t]*(?::|=)[ \t]*[rRbBuU]?['"]$/.exec(before);
  return m?.[1] ? { variable: m[1] } : {};
}

/** Scans one text (a cell's source, an output, a .py file). */
export function scanText(
  text: string,
  rules: readonly SecretRule[] = SECRET_RULES,
): SecretFinding[] {
  const found: (SecretFinding & { presetRule?: string })[] = [];
  const taken: [number, number][] = [];
  const ignores: { start: number; end: number; rule: string }[] = [];
  const add = (rule: SecretRule, hit: RuleHit, value: string, variable?: string) => {
    const { start, end } = hit;
    // A rule earlier in the list already reported this value (stored values, then the preset,
    // then our own rules).
    if (taken.some(([s, e]) => start < e && end > s)) return;
    taken.push([start, end]);
    found.push({
      ...lineAndColumn(text, start),
      rule: hit.id ?? rule.id,
      title: hit.title ?? rule.title,
      masked: rule.mask ?? maskValue(value),
      ...(rule.secret === undefined ? {} : { secret: rule.secret }),
      ...variableOf(text, start, variable),
      start,
      end,
      ...(hit.presetRule === undefined ? {} : { presetRule: hit.presetRule }),
    });
  };
  for (const rule of rules) {
    if (rule.find) {
      const result = rule.find(text);
      ignores.push(...result.ignores);
      for (const hit of result.hits) add(rule, hit, text.slice(hit.start, hit.end));
      continue;
    }
    if (!rule.pattern) continue;
    rule.pattern.lastIndex = 0;
    for (const match of text.matchAll(rule.pattern)) {
      const group = rule.group ?? 0;
      const value = match[group];
      if (value === undefined || match.index === undefined) continue;
      const start = match.index + (group === 0 ? 0 : match[0].indexOf(value));
      if (rule.group !== undefined && !looksLikeValue(value)) continue;
      add(
        rule,
        { start, end: start + value.length },
        value,
        rule.id === 'assigned-secret' ? match[2] : undefined,
      );
    }
  }
  // `secretlint-disable-line` and friends (the preset's comment rule) turn off what they cover,
  // for every rule or the preset rule they name; a stored value is always reported.
  const kept = found.filter(
    (f) =>
      f.secret !== undefined ||
      !ignores.some(
        (i) =>
          (i.rule === '*' || i.rule === f.presetRule) && f.start >= i.start && f.start <= i.end,
      ),
  );
  return kept.map(({ presetRule: _presetRule, ...f }) => f).sort((a, b) => a.start - b.start);
}

/** Files a folder scan reads (by base name); a file named explicitly is read whatever its name. */
export const SCANNED_FILE = /\.(?:ipynb|py|env|json|ya?ml|toml)$|^\.env(?:\..+)?$/i;

/** Folders a folder scan skips: tools' copies and dependencies, not the user's own files. */
export const SKIPPED_FOLDERS: ReadonlySet<string> = new Set([
  '.git',
  'node_modules',
  '.venv',
  'venv',
  '__pycache__',
  '.ipynb_checkpoints',
  '.mypy_cache',
  '.tox',
]);

/** A notebook that cannot be read as one: the message says why (never a value). */
export class NotebookFormatError extends Error {}

const joined = (source: unknown): string =>
  Array.isArray(source) ? source.join('') : typeof source === 'string' ? source : '';

/** The text of an output a reader sees; images and widget state left out. */
function outputText(output: Record<string, unknown>): string {
  const parts: string[] = [];
  if (output.output_type === 'stream') parts.push(joined(output.text));
  if (output.output_type === 'error') {
    if (typeof output.evalue === 'string') parts.push(output.evalue);
    if (Array.isArray(output.traceback)) parts.push(...output.traceback.map(String));
  }
  const data = output.data;
  if (data && typeof data === 'object') {
    for (const [mime, value] of Object.entries(data as Record<string, unknown>)) {
      if (mime.startsWith('image/') && mime !== 'image/svg+xml') continue;
      if (mime.startsWith('application/vnd.jupyter.widget')) continue;
      parts.push(typeof value === 'string' || Array.isArray(value) ? joined(value) : '');
      if (mime.endsWith('json') && typeof value === 'object' && !Array.isArray(value))
        parts.push(JSON.stringify(value, null, 1));
    }
  }
  return parts.join('\n');
}

/** Scans an `.ipynb` file's text: each cell's source and text outputs. */
export function scanNotebook(
  json: string,
  rules: readonly SecretRule[] = SECRET_RULES,
): SecretFinding[] {
  let notebook: unknown;
  try {
    notebook = JSON.parse(json);
  } catch (error) {
    throw new NotebookFormatError(`not valid JSON (${(error as Error).message})`);
  }
  const cells = (notebook as { cells?: unknown } | null)?.cells;
  if (!Array.isArray(cells)) throw new NotebookFormatError('no "cells" list: not a notebook');
  const found: SecretFinding[] = [];
  cells.forEach((cell: Record<string, unknown> | null, index) => {
    if (!cell || typeof cell !== 'object') return;
    for (const f of scanText(joined(cell.source), rules)) found.push({ ...f, cell: index + 1 });
    const outputs = Array.isArray(cell.outputs) ? cell.outputs : [];
    outputs.forEach((output: Record<string, unknown> | null, o) => {
      if (!output || typeof output !== 'object') return;
      for (const f of scanText(outputText(output), rules))
        found.push({ ...f, cell: index + 1, output: o + 1 });
    });
  });
  return found;
}

/** Scans a file by its name: `.ipynb` as a notebook, anything else as text. */
export function scanFile(
  path: string,
  text: string,
  rules: readonly SecretRule[] = SECRET_RULES,
): SecretFinding[] {
  return path.toLowerCase().endsWith('.ipynb') ? scanNotebook(text, rules) : scanText(text, rules);
}

/** `openai_api_key` → `OPENAI_API_KEY`: a secret name suggested from a variable. */
export function suggestSecretName(variable: string | undefined, fallback = 'API_KEY'): string {
  const name = (variable ?? '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9_]/g, '_')
    .replace(/^[^A-Za-z_]+/, '')
    .toUpperCase()
    .slice(0, 128);
  return name || fallback;
}
