/**
 * What of a served value is left in a text a kernel sent: the leak check of the redaction tests.
 * It undoes HTML and LaTeX escaping before looking, so that every variant of those counts.
 */

/** The shortest run of a value's characters that redaction replaces. */
export const RUN = 16;

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
/** Undoes HTML escaping: named references (any case) and numeric ones, semicolon optional. */
export const unescapeHtml = (s: string): string =>
  s.replace(/&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);?/g, (m, e: string) => {
    if (/^#x/i.test(e)) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return NAMED[e.toLowerCase()] ?? m;
  });

/** LaTeX escapes as R's repr writes them (pandas writes a space where repr writes `{}`). */
export const LATEX: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '&': '\\&',
  '%': '\\%',
  $: '\\$',
  '#': '\\#',
  _: '\\_',
  '{': '\\{',
  '}': '\\}',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
  '|': '\\textbar{}',
};
const LATEX_WORDS = Object.fromEntries(
  Object.entries(LATEX)
    .filter(([, e]) => e.endsWith('{}'))
    .map(([c, e]) => [e.slice(1, -2), c]),
);
/** Undoes LaTeX escaping, as R's repr and pandas write it. */
export const unescapeLatex = (s: string): string =>
  s.replace(
    /\\(textbar|textasciitilde|textasciicircum|textbackslash)(?:\{\}| )?|\\([_&%$#{}])/g,
    (_m, word: string, ch: string) => (word ? LATEX_WORDS[word]! : ch),
  );

export const jsonEscape = (s: string): string => JSON.stringify(s).slice(1, -1);

/** Every string of a message, keys included, at any depth. */
export function stringsOf(x: unknown, out: string[] = []): string[] {
  if (typeof x === 'string') out.push(x);
  else if (Array.isArray(x)) for (const v of x) stringsOf(v, out);
  else if (x && typeof x === 'object') {
    for (const [k, v] of Object.entries(x)) {
      out.push(k);
      stringsOf(v, out);
    }
  }
  return out;
}

/**
 * Labels (never the value itself) of what of `value` is left in `text`, as written or with its
 * HTML or LaTeX escaping undone: each run of 16 characters of the value or of its JSON-escaped
 * form, and each whole encoding.
 */
export function valueLeft(text: string, value: string): string[] {
  const trimmed = value.trim();
  const bytes = Buffer.from(trimmed);
  const runsOf = { value: trimmed, json: jsonEscape(trimmed) };
  const whole = {
    base64: bytes.toString('base64'),
    base64url: bytes.toString('base64url'),
    hex: bytes.toString('hex'),
    HEX: bytes.toString('hex').toUpperCase(),
    percent: encodeURIComponent(trimmed),
  };
  const found = new Set<string>();
  for (const view of new Set([text, unescapeHtml(text), unescapeLatex(text)])) {
    for (const [label, form] of Object.entries(runsOf)) {
      const chars = [...form];
      for (let i = 0; i + RUN <= chars.length; i++) {
        if (view.includes(chars.slice(i, i + RUN).join('')))
          found.add(`${label}[${i}..${i + RUN}]`);
      }
      if (chars.length >= 6 && view.includes(form)) found.add(label);
    }
    for (const [label, form] of Object.entries(whole)) {
      if (form.length >= 6 && view.includes(form)) found.add(label);
    }
  }
  return [...found];
}
