/** A small, strict dotenv reader and writer for `import` and `export`. */
export interface DotenvEntry {
  name: string;
  value: string;
  line: number;
}

/**
 * Reads `NAME=value` lines: `export ` prefix allowed, `#` comments and blank lines skipped, values
 * in single quotes taken literally, in double quotes with \n \r \t \" \\ escapes (and may span
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
      const end = rest.indexOf("'", 1);
      if (end < 0) throw new Error(`Line ${line}: the single quote is not closed.`);
      value = rest.slice(1, end);
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

export function formatDotenv(entries: { name: string; value: string }[]): string {
  return entries
    .map(({ name, value }) => {
      const escaped = value
        .replace(/\\/g, '\\\\')
        .replace(/"/g, '\\"')
        .replace(/\n/g, '\\n')
        .replace(/\r/g, '\\r')
        .replace(/\t/g, '\\t');
      return `${name}="${escaped}"\n`;
    })
    .join('');
}
