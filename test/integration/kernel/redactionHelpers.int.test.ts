/**
 * The two kernel helpers' redaction, without a kernel: the Python helper (python3) and the R
 * helper (Rscript) are given the same values and the same generated texts (slices of the
 * values, escaped, encoded, cut by line wraps, among other text), and must agree, leave no run
 * of 16 characters of a value and no whole encoding, and change nothing in a text that holds
 * none.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SYSTEM_PYTHON } from './harness';
import { LATEX, RUN, jsonEscape, valueLeft } from './valueLeft';

const ROOT = join(__dirname, '..', '..', '..');

/** A small seeded generator, so that a failure can be run again. */
function generator(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!;
  return { next, int, pick };
}

const VALUE_CHARS = [
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
  ...`&<>"'_/+=-%$#{}~^|\\ .:`,
  'é',
  'ж',
  'к',
  '€',
  '🔑',
];
// No '&', '\\' or value characters beyond letters: other text must never look like a value.
const OTHER_CHARS = [...'abcdefghijklmnopqrstuvwxyz        \n.,;()'];

const htmlEscapes: ((s: string) => string)[] = [
  (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'),
  (s) =>
    s
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&#x27;'),
  (s) =>
    s
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&#34;')
      .replace(/'/g, '&#39;'),
  (s) => [...s].map((c) => `&#${c.codePointAt(0)};`).join(''),
  (s) => s.replace(/[&<>"']/g, (c) => `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`),
];
const latexEscape = (s: string) => [...s].map((c) => LATEX[c] ?? c).join('');

/** Lines of at most `width` characters (code points), the later ones indented. */
function wrap(value: string, width: number, indent: string): string {
  const chars = [...value];
  const lines: string[] = [];
  for (let i = 0; i < chars.length; i += width) lines.push(chars.slice(i, i + width).join(''));
  return lines.join(`\n${indent}`);
}

interface Case {
  values: [string, string][];
  texts: string[];
  /** Per text: whether it holds a piece of a value. */
  holds: boolean[];
}

function makeCases(seed: number, count: number): Case[] {
  const g = generator(seed);
  const other = (n: number) =>
    Array.from({ length: n }, () => g.pick(OTHER_CHARS))
      .join('')
      .replace(/^\s+|\s+$/g, '');
  const cases: Case[] = [];
  for (let c = 0; c < count; c++) {
    const first = Array.from({ length: g.int(6, 90) }, () => g.pick(VALUE_CHARS)).join('');
    const values: [string, string][] = [['A', g.next() < 0.15 ? `  ${first} ` : first]];
    if (g.next() < 0.4) {
      // A second value that shares a start with the first (a provider's key prefix).
      const shared = [...first].slice(0, g.int(0, 12)).join('');
      values.push([
        'B',
        shared + Array.from({ length: g.int(10, 50) }, () => g.pick(VALUE_CHARS)).join(''),
      ]);
    }
    const texts: string[] = [];
    const holds: boolean[] = [];
    for (let t = 0; t < 8; t++) {
      if (g.next() < 0.25) {
        texts.push(other(g.int(0, 120)));
        holds.push(false);
        continue;
      }
      const [, value] = g.pick(values);
      const chars = [...value.trim()];
      const a = g.int(0, Math.max(0, chars.length - RUN));
      const slice =
        g.next() < 0.5 ? value.trim() : chars.slice(a, a + g.int(RUN, chars.length)).join('');
      const bytes = Buffer.from(value.trim());
      const piece = g.pick([
        () => slice,
        () => g.pick(htmlEscapes)(slice),
        () => latexEscape(slice),
        () => jsonEscape(slice),
        () => wrap(value.trim(), g.int(RUN, 30), g.pick(['', '  ', '\t'])),
        () => bytes.toString('base64'),
        () => bytes.toString('base64url').replace(/=+$/, ''),
        () => (bytes.toString('base64').match(/.{1,76}/g) ?? []).join('\n'),
        () => bytes.toString('hex'),
        () => bytes.toString('hex').toUpperCase(),
        () => encodeURIComponent(value.trim()),
      ])();
      texts.push(`${other(g.int(0, 40))} ${piece} ${other(g.int(0, 40))}`);
      holds.push(true);
    }
    cases.push({ values, texts, holds });
  }
  return cases;
}

function runPython(cases: Case[]): string[][] {
  const code = [
    'import json, sys',
    `sys.path.insert(0, ${JSON.stringify(join(ROOT, 'python'))})`,
    'import notebook_secrets as ns',
    'out = []',
    'for case in json.load(sys.stdin):',
    '    r = ns._Redactor()',
    '    for name, value in case["values"]:',
    '        r.add(name, value)',
    '    r._rebuild()',
    '    out.append([r._sub(t) for t in case["texts"]])',
    'json.dump(out, sys.stdout)',
  ].join('\n');
  const run = spawnSync(SYSTEM_PYTHON, ['-c', code], {
    input: JSON.stringify(cases),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout) as string[][];
}

function runR(cases: Case[]): string[][] {
  const code = [
    `sys.source(${JSON.stringify(join(ROOT, 'r', 'notebook_secrets.R'))}, envir = (e <- new.env()))`,
    'input <- paste(readLines(file("stdin"), encoding = "UTF-8", warn = FALSE), collapse = "\\n")',
    'for (case in e$.json_parse(input)) {',
    '  e$.state$forms <- character(0); e$.state$form_runs <- logical(0)',
    '  e$.state$served <- list(); e$.state$matcher <- NULL',
    '  for (v in case$values) { x <- v[[2]]; Encoding(x) <- "UTF-8"; e$.remember(v[[1]], x) }',
    '  for (t in case$texts) {',
    '    Encoding(t) <- "UTF-8"',
    '    cat(e$.base64_encode(charToRaw(enc2utf8(e$.redact_text(t)))), "\\n", sep = "")',
    '  }',
    '}',
  ].join('\n');
  const run = spawnSync('Rscript', ['-e', code], {
    input: JSON.stringify(cases),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
  });
  if (run.status !== 0) throw new Error(run.stderr);
  const lines = run.stdout.split('\n');
  let i = 0;
  return cases.map((c) => c.texts.map(() => Buffer.from(lines[i++] ?? '', 'base64').toString()));
}

describe('the Python and R helpers redact alike', () => {
  const cases = makeCases(20240611, 250);
  const python = runPython(cases);
  const r = runR(cases);

  it('agree on every text', () => {
    const differ = cases.flatMap((c, i) =>
      c.texts.flatMap((_t, j) => (python[i]![j] === r[i]![j] ? [] : [`case ${i}, text ${j}`])),
    );
    expect(differ).toEqual([]);
  });

  it('leave no run of 16 characters and no whole encoding of a value', () => {
    const leaks = cases.flatMap((c, i) =>
      c.texts.flatMap((_t, j) =>
        c.values.flatMap(([name, value]) =>
          [python[i]![j]!, r[i]![j]!].flatMap((out) =>
            valueLeft(out, value).map((what) => `case ${i}, text ${j}, ${name}: ${what}`),
          ),
        ),
      ),
    );
    expect(leaks).toEqual([]);
  });

  it('change nothing in a text that holds no value', () => {
    const changed = cases.flatMap((c, i) =>
      c.texts.flatMap((t, j) =>
        !c.holds[j] && python[i]![j] !== t ? [`case ${i}, text ${j}`] : [],
      ),
    );
    expect(changed).toEqual([]);
  });
});
