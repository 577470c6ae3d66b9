/**
 * Just enough of Python's and R's lexical rules to tell code from comments and strings, for the
 * scanners that read names out of notebook cells (neededSecrets.ts, secretReads.ts). Every token
 * keeps its offsets in the source, so a finding can be rewritten in place.
 */

export type CellLanguage = 'python' | 'r';

export type Token =
  | {
      kind: 'name';
      /** The last part of a dotted name: `get` of `userdata.get`, `get_secret` of `.get_secret`. */
      text: string;
      /** The whole dotted word as written: `os.environ.get`, `.get_secret` after a call. */
      full: string;
      start: number;
      end: number;
    }
  | { kind: 'string'; text: string; literal: boolean; start: number; end: number }
  | { kind: 'punct'; text: string; start: number; end: number };

const IDENT_START = /[A-Za-z_.]/;
const IDENT_PART = /[A-Za-z0-9_.]/;

/** The tokens of `source`, comments left out. */
export function tokenize(source: string, language: CellLanguage): Token[] {
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
        tokens.push({ ...read.token, start: i, end: read.end });
        i = read.end;
        continue;
      }
      // `notebook_secrets.get_secret` and R's `notebook_secrets::get_secret`: the last part counts.
      const parts = word.split('.');
      tokens.push({
        kind: 'name',
        text: parts[parts.length - 1] || word,
        full: word,
        start: i,
        end: j,
      });
      i = j;
      continue;
    }
    if (c === '"' || c === "'") {
      const read = readString(source, i, '', language);
      tokens.push({ ...read.token, start: i, end: read.end });
      i = read.end;
      continue;
    }
    if (c === '`' && language === 'r') {
      const end = source.indexOf('`', i + 1);
      const stop = end < 0 ? n : end;
      const text = source.slice(i + 1, stop);
      tokens.push({ kind: 'name', text, full: text, start: i, end: Math.min(n, stop + 1) });
      i = stop + 1;
      continue;
    }
    if (c === '=' && source[i + 1] === '=') {
      tokens.push({ kind: 'punct', text: '==', start: i, end: i + 2 });
      i += 2;
      continue;
    }
    tokens.push({ kind: 'punct', text: c, start: i, end: i + 1 });
    i++;
  }
  return tokens;
}

function isStringPrefix(word: string, language: CellLanguage): boolean {
  const lower = word.toLowerCase();
  if (language === 'r') return lower === 'r';
  return /^(?:r|u|b|f|br|rb|fr|rf)$/.test(lower);
}

type StringToken = { kind: 'string'; text: string; literal: boolean };

/** Reads the string whose opening quote is at `start`; `prefix` is Python's r/b/f or R's r. */
function readString(
  source: string,
  start: number,
  prefix: string,
  language: CellLanguage,
): { token: StringToken; end: number } {
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
): { token: StringToken; end: number } {
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
