/** A small, strict dotenv reader and writer for `import` and `export`. */
export interface DotenvEntry {
  name: string;
  value: string;
  line: number;
}

/**
 * Reads `NAME=value` lines: `export ` prefix allowed, `#` comments and blank lines skipped, values
 * in single quotes taken literally (and may span lines), in double quotes with \n \r \t \" \\ escapes (and may span
 * lines), unquoted values trimmed with a trailing ` # comment` dropped. Errors name the line, never
 * the value.
 */
export function parseDotenv(text: string): DotenvEntry[] {
  const out: DotenvEntry[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = /^(?:export\s+)?([^=\s]+)\s*=\s?(.*)$/.exec(trimmed);
    if (!match) throw new Error(`Line ${i + 1} is not NAME=value.`);
    const name = match[1]!;
    let rest = match[2]!;
    const line = i + 1;
    let value: string;
    if (rest.startsWith("'")) {
      let body = rest.slice(1);
      let end = body.indexOf("'");
      while (end < 0 && i + 1 < lines.length) {
        body += `\n${lines[++i]!}`;
        end = body.indexOf("'");
      }
      if (end < 0) throw new Error(`Line ${line}: the single quote is not closed.`);
      value = body.slice(0, end);
    } else if (rest.startsWith('"')) {
      let body = rest.slice(1);
      let closed = findClosingQuote(body);
      while (closed < 0 && i + 1 < lines.length) {
        body += `\n${lines[++i]!}`;
        closed = findClosingQuote(body);
      }
      if (closed < 0) throw new Error(`Line ${line}: the double quote is not closed.`);
      value = body
        .slice(0, closed)
        .replace(
          /\\([nrt"\\])/g,
          (_, c: string) => ({ n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' })[c]!,
        );
    } else {
      rest = rest.replace(/\s+#.*$/, '');
      value = rest.trim();
    }
    out.push({ name, value, line });
  }
  return out;
}

function findClosingQuote(text: string): number {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}

/** Characters every dotenv reader takes literally without quotes (docker --env-file included). */
const PLAIN = /^[A-Za-z0-9_./:@%+,=^-]*$/;

/**
 * How a value is written so that sh/bash `source`, python-dotenv and Node's dotenv read it back
 * identically: plain values bare (docker --env-file, which removes no quotes, reads those too);
 * otherwise in single quotes (literal in all three; python-dotenv only unescapes \\ and \'
 * there, so neither may occur); a value with a single quote in double quotes when it holds none
 * of " $ ` \ or a line break. Undefined: no quoting reads back the same everywhere (also for
 * `${NAME}`, which python-dotenv expands whatever the quotes).
 */
export function dotenvValue(value: string): string | undefined {
  if (PLAIN.test(value)) return value;
  // python-dotenv expands ${NAME} (and ${NAME:-default}) inside any quotes, with no escape.
  if (/\$\{[^}:]*(?::-[^}]*)?\}/.test(value)) return undefined;
  if (!value.includes("'") && !value.includes('\r') && !/\\(\\|$)/.test(value)) return `'${value}'`;
  if (!/["$`\\\n\r]/.test(value)) return `"${value}"`;
  return undefined;
}

/** Names whose values no dotenv quoting carries identically to every common reader. */
export function unportableDotenv(entries: { name: string; value: string }[]): string[] {
  return entries.filter((e) => dotenvValue(e.value) === undefined).map((e) => e.name);
}

export function formatDotenv(entries: { name: string; value: string }[]): string {
  return entries
    .map(({ name, value }) => {
      const written = dotenvValue(value);
      if (written === undefined)
        throw new Error(`The value of ${name} cannot be written as dotenv.`);
      return `${name}=${written}\n`;
    })
    .join('');
}
