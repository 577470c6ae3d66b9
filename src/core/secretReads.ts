/**
 * Where a notebook's cells read a secret, in each of the forms notebooks already use: our
 * `get_secret('X')`, Colab's `userdata.get('X')`, Kaggle's `UserSecretsClient().get_secret('X')`,
 * Databricks' `dbutils.secrets.get(scope=…, key='X')`, SingleStore's `get_secret('X')` (imported
 * from `singlestoredb.management`), Hopsworks' `….get_secrets_api().get_secret('X').value` and
 * `secrets_api.get('X')`, and environment reads (`os.environ['X']`, `os.getenv('X')`,
 * `os.environ.get('X')`, `%env X`; R's `Sys.getenv("X")`). Names are read from string literals
 * only; comments, other strings and f-strings are skipped. Each read keeps the offsets of the
 * whole expression, so it can be rewritten to `get_secret('X')` (portToGetSecret.ts).
 *
 * Which module a name came from is known from the notebook's imports and simple assignments
 * (`userdata` from `google.colab`, `client = UserSecretsClient()`, `api = project.get_secrets_api()`),
 * read over every cell first: a cell may use what an earlier cell imported. Pure.
 */
import { NAME_PATTERN } from './model';
import { tokenize, type CellLanguage, type Token } from './codeTokens';

export type SecretReadForm =
  'get_secret' | 'colab' | 'kaggle' | 'databricks' | 'singlestore' | 'hopsworks' | 'environment';

/** The forms of other platforms, which Notebook Secrets can serve unchanged or rewrite. */
export const PLATFORM_FORMS = [
  'colab',
  'kaggle',
  'databricks',
  'singlestore',
  'hopsworks',
] as const;
export type PlatformForm = (typeof PLATFORM_FORMS)[number];

/** How a form is named to users ("reads keys the Colab way"). */
export const FORM_LABELS: Record<SecretReadForm, string> = {
  get_secret: 'get_secret',
  colab: 'Colab',
  kaggle: 'Kaggle',
  databricks: 'Databricks',
  singlestore: 'SingleStore',
  hopsworks: 'Hopsworks',
  environment: 'environment',
};

export interface SecretRead {
  name: string;
  form: SecretReadForm;
  /** Offsets in the cell's source of the whole expression that reads the name. */
  start: number;
  end: number;
  /** Reads bytes (`get_secret_bytes`, Databricks' `getBytes`). */
  bytes: boolean;
  /**
   * Whether `get_secret('NAME')` (or `get_secret_bytes`) in place of start..end gives the same
   * value. Not for a read with a default (`os.getenv('X', 'none')`), a Hopsworks secret object
   * whose `.value` is read later, an R cell, or our own calls.
   */
  rewritable: boolean;
}

/**
 * A statement that binds a name to a platform's secrets API: an import (`from google.colab import
 * userdata`, `import hopsworks`) or an assignment (`user_secrets = UserSecretsClient()`,
 * `secrets_api = project.get_secrets_api()`). A rewrite to get_secret may leave it unused.
 */
export interface PlatformBinding {
  form: PlatformForm;
  kind: 'import' | 'assignment';
  /** The imported module (`google.colab`); for `import M`, M; for an assignment, ''. */
  module: string;
  /** `from M import …` (true) or `import M` (false). */
  from: boolean;
  /** Offsets of the whole statement. */
  start: number;
  end: number;
  /** What it binds: the imported names (`bound` is the `as` name), or the assigned name. */
  names: { name: string; bound: string }[];
}

export interface CellSource {
  source: string;
  language: CellLanguage;
}

/** What the notebook's imports and assignments bound, over all its cells. */
interface Context {
  userdata: Set<string>;
  kaggleClass: Set<string>;
  kaggleClients: Set<string>;
  singlestore: boolean;
  hopsworksApis: Set<string>;
  environ: Set<string>;
  getenv: Set<string>;
}

/** The secret reads of each cell, in order (one list per cell of `cells`). */
export function findSecretReads(cells: readonly CellSource[]): SecretRead[][] {
  const tokenized = cells.map((c) => ({ ...c, tokens: tokenize(c.source, c.language) }));
  const context = emptyContext();
  for (const cell of tokenized) {
    if (cell.language === 'python') learn(cell.tokens, cell.source, context);
  }
  return tokenized.map((cell) => readsOf(cell.tokens, cell.source, cell.language, context));
}

/** The statements of each cell that bind a platform's secrets API (one list per cell). */
export function findPlatformBindings(cells: readonly CellSource[]): PlatformBinding[][] {
  const context = emptyContext();
  return cells.map((cell) =>
    cell.language === 'python' ? learn(tokenize(cell.source, 'python'), cell.source, context) : [],
  );
}

const IMPORT_FORMS: { module: string; name: string; form: PlatformForm }[] = [
  { module: 'google.colab', name: 'userdata', form: 'colab' },
  { module: 'kaggle_secrets', name: 'UserSecretsClient', form: 'kaggle' },
  { module: 'singlestoredb.management', name: 'get_secret', form: 'singlestore' },
];

function emptyContext(): Context {
  return {
    userdata: new Set(),
    kaggleClass: new Set(),
    kaggleClients: new Set(),
    singlestore: false,
    hopsworksApis: new Set(),
    environ: new Set(),
    getenv: new Set(),
  };
}

interface ImportStatement {
  module: string;
  from: boolean;
  names: { name: string; bound: string }[];
  start: number;
  end: number;
}

/** `from M import a, b as c` statements (one line, or in parentheses). */
function imports(tokens: readonly Token[], source: string): ImportStatement[] {
  const found: ImportStatement[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'name' || !startsLine(source, t.start)) continue;
    const single = tokens[i + 1];
    if (t.full === 'import' && single?.kind === 'name') {
      // `import M` or `import M as x`, one module.
      const as = tokens[i + 2];
      const alias = as?.kind === 'name' && as.full === 'as' ? tokens[i + 3] : undefined;
      const last = alias?.kind === 'name' ? alias : single;
      if (tokens[(alias ? i + 3 : i + 1) + 1]?.text === ',') continue;
      found.push({
        module: single.full,
        from: false,
        names: [{ name: single.full, bound: alias?.kind === 'name' ? alias.full : single.full }],
        start: t.start,
        end: last.end,
      });
      continue;
    }
    if (t.full !== 'from') continue;
    const module = tokens[i + 1];
    if (module?.kind !== 'name' || tokens[i + 2]?.kind !== 'name') continue;
    if ((tokens[i + 2] as { full: string }).full !== 'import') continue;
    let j = i + 3;
    const paren = tokens[j]?.text === '(';
    if (paren) j++;
    const names: { name: string; bound: string }[] = [];
    let end = tokens[i + 2]!.end;
    while (j < tokens.length) {
      const n = tokens[j];
      if (n?.kind !== 'name') break;
      if (!paren && source.slice(end, n.start).includes('\n')) break;
      let bound = n.full;
      end = n.end;
      j++;
      const as = tokens[j];
      if (as?.kind === 'name' && as.full === 'as' && tokens[j + 1]?.kind === 'name') {
        bound = (tokens[j + 1] as { full: string }).full;
        end = tokens[j + 1]!.end;
        j += 2;
      }
      names.push({ name: n.full, bound });
      if (tokens[j]?.text !== ',') break;
      end = tokens[j]!.end;
      j++;
    }
    if (paren && tokens[j]?.text === ')') end = tokens[j]!.end;
    if (names.length > 0)
      found.push({ module: module.full, from: true, names, start: t.start, end });
  }
  return found;
}

/** Adds what the cell binds to `context`; returns the statements that bind platform APIs. */
function learn(tokens: readonly Token[], source: string, context: Context): PlatformBinding[] {
  const bindings: PlatformBinding[] = [];
  for (const imp of imports(tokens, source)) {
    const form = imp.from
      ? IMPORT_FORMS.find(
          (f) => f.module === imp.module && imp.names.some((n) => n.name === f.name),
        )?.form
      : imp.module === 'hopsworks'
        ? 'hopsworks'
        : undefined;
    if (form) bindings.push({ form, kind: 'import', ...imp });
    for (const { name, bound } of imp.from ? imp.names : []) {
      if (imp.module === 'google.colab' && name === 'userdata') context.userdata.add(bound);
      if (imp.module === 'kaggle_secrets' && name === 'UserSecretsClient') {
        context.kaggleClass.add(bound);
      }
      if (imp.module === 'singlestoredb.management' && name === 'get_secret') {
        context.singlestore = true;
      }
      if (imp.module === 'os' && name === 'environ') context.environ.add(bound);
      if (imp.module === 'os' && name === 'getenv') context.getenv.add(bound);
    }
  }
  // `client = UserSecretsClient()`, `api = project.get_secrets_api()`: the right side is a chain
  // of calls that ends the statement, and its last call says what the name holds.
  for (let i = 0; i + 2 < tokens.length; i++) {
    const target = tokens[i]!;
    if (target.kind !== 'name' || target.full.includes('.') || !startsLine(source, target.start)) {
      continue;
    }
    if (tokens[i + 1]?.text !== '=' || tokens[i + 2]?.kind !== 'name') continue;
    let j = i + 2;
    let last: NameToken | undefined;
    while (tokens[j]?.kind === 'name' && (j === i + 2 || startsWithDot(tokens[j]!))) {
      const close = callEnd(tokens, j + 1);
      if (close === undefined) {
        last = undefined;
        break;
      }
      last = tokens[j] as NameToken;
      j = close + 1;
    }
    if (!last || (tokens[j] && !lineBreakBetween(source, tokens[j - 1]!, tokens[j]!))) continue;
    const kaggle =
      context.kaggleClass.has(last.full) || last.full === 'kaggle_secrets.UserSecretsClient';
    const form =
      kaggle && last === tokens[i + 2]
        ? 'kaggle'
        : last.text === 'get_secrets_api'
          ? 'hopsworks'
          : undefined;
    if (!form) continue;
    (form === 'kaggle' ? context.kaggleClients : context.hopsworksApis).add(target.full);
    bindings.push({
      form,
      kind: 'assignment',
      module: '',
      from: false,
      start: target.start,
      end: tokens[j - 1]!.end,
      names: [{ name: target.full, bound: target.full }],
    });
  }
  return bindings.sort((a, b) => a.start - b.start);
}

function readsOf(
  tokens: readonly Token[],
  source: string,
  language: CellLanguage,
  context: Context,
): SecretRead[] {
  const reads: SecretRead[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'name') continue;
    const read = language === 'python' ? pythonRead(tokens, i, t, context) : rRead(tokens, i, t);
    if (read && NAME_PATTERN.test(read.name)) reads.push(read);
  }
  if (language === 'python') {
    // `%env NAME` prints the variable (`%env NAME=value` sets it).
    for (const match of source.matchAll(/^[ \t]*%env[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]*$/gm)) {
      const start = match.index;
      reads.push({
        name: match[1]!,
        form: 'environment',
        start,
        end: start + match[0].length,
        bytes: false,
        rewritable: false,
      });
    }
  }
  return reads.sort((a, b) => a.start - b.start);
}

type NameToken = Extract<Token, { kind: 'name' }>;

function rRead(tokens: readonly Token[], i: number, t: NameToken): SecretRead | undefined {
  if (tokens[i + 1]?.text !== '(') return undefined;
  const before = tokens[i - 1];
  // `get_secret <- function(` defines it; `notebook_secrets::get_secret(` calls it.
  if (t.full === 'Sys.getenv' || OWN_CALLEES.has(t.text)) {
    const call = parseCall(tokens, i + 1);
    const name = call && argument(call.args, 0, ['name', 'x']);
    if (!call || name === undefined || before?.text === 'def') return undefined;
    return {
      name,
      form: t.full === 'Sys.getenv' ? 'environment' : 'get_secret',
      start: t.start,
      end: call.end,
      bytes: t.text === 'get_secret_raw',
      rewritable: false,
    };
  }
  return undefined;
}

const OWN_CALLEES = new Set(['get_secret', 'get_secret_bytes', 'get_secret_raw']);

function pythonRead(
  tokens: readonly Token[],
  i: number,
  t: NameToken,
  context: Context,
): SecretRead | undefined {
  // Environment subscripts: os.environ['X'] (not assigned to, not deleted).
  if ((t.full === 'os.environ' || context.environ.has(t.full)) && tokens[i + 1]?.text === '[') {
    const key = tokens[i + 2];
    const close = tokens[i + 3];
    if (key?.kind !== 'string' || !key.literal || close?.text !== ']') return undefined;
    const after = tokens[i + 4];
    const assigned =
      (after?.text === '=' && tokens[i + 5]?.text !== '=') ||
      (after?.kind === 'punct' && /^[+\-*/|&%]$/.test(after.text) && tokens[i + 5]?.text === '=');
    const deleted = tokens[i - 1]?.kind === 'name' && (tokens[i - 1] as NameToken).full === 'del';
    if (assigned || deleted) return undefined;
    return {
      name: key.text,
      form: 'environment',
      start: t.start,
      end: close.end,
      bytes: false,
      rewritable: true,
    };
  }
  if (tokens[i + 1]?.text !== '(') return undefined;
  if (tokens[i - 1]?.kind === 'name' && (tokens[i - 1] as NameToken).full === 'def')
    return undefined;
  const call = parseCall(tokens, i + 1);
  if (!call) return undefined;
  const receiver = t.full.includes('.') ? t.full.slice(0, t.full.lastIndexOf('.')) : undefined;
  const chained = startsWithDot(t) ? chainCallee(tokens, i) : undefined;
  const start = chained?.start ?? t.start;
  const read = (
    form: SecretReadForm,
    name: string | undefined,
    opts: { bytes?: boolean; rewritable?: boolean; end?: number } = {},
  ): SecretRead | undefined =>
    name === undefined
      ? undefined
      : {
          name,
          form,
          start,
          end: opts.end ?? call.end,
          bytes: opts.bytes ?? false,
          rewritable: (opts.rewritable ?? true) && !(startsWithDot(t) && !chained),
        };

  if (
    t.full === 'os.environ.get' ||
    t.full === 'os.getenv' ||
    context.getenv.has(t.full) ||
    [...context.environ].some((e) => t.full === `${e}.get`)
  ) {
    return read('environment', argument(call.args, 0, ['key']), {
      rewritable: call.args.length === 1,
    });
  }
  if (t.full === 'dbutils.secrets.get' || t.full === 'dbutils.secrets.getBytes') {
    return read('databricks', argument(call.args, 1, ['key']), {
      bytes: t.text === 'getBytes',
    });
  }
  if (t.text === 'get') {
    if (
      receiver !== undefined &&
      (context.userdata.has(receiver) || receiver === 'google.colab.userdata')
    ) {
      return read('colab', argument(call.args, 0, ['key']));
    }
    if (isHopsworksApi(receiver, chained, context)) {
      return read('hopsworks', argument(call.args, 0, ['name']));
    }
    return undefined;
  }
  if (!OWN_CALLEES.has(t.text) || t.text === 'get_secret_raw') {
    return t.text === 'get_secret_raw'
      ? read('get_secret', ownName(call), { rewritable: false })
      : undefined;
  }
  if (t.text === 'get_secret' && (receiver !== undefined || chained)) {
    if (
      (receiver !== undefined && context.kaggleClients.has(receiver)) ||
      (chained &&
        (context.kaggleClass.has(chained.callee) ||
          chained.callee === 'kaggle_secrets.UserSecretsClient'))
    ) {
      return read('kaggle', argument(call.args, 0, ['label']));
    }
    if (isHopsworksApi(receiver, chained, context)) {
      // `.get_secret('X')` is a Secret; `.get_secret('X').value` is the value.
      const value = tokens[call.close + 1];
      const withValue = value?.kind === 'name' && value.full === '.value';
      return read('hopsworks', argument(call.args, 0, ['name']), {
        rewritable: withValue,
        ...(withValue && { end: value.end }),
      });
    }
  }
  if (t.full === 'get_secret' && context.singlestore) {
    return read('singlestore', argument(call.args, 0, ['name']));
  }
  return read('get_secret', ownName(call), {
    rewritable: false,
    bytes: t.text === 'get_secret_bytes',
  });
}

function isHopsworksApi(
  receiver: string | undefined,
  chained: { callee: string } | undefined,
  context: Context,
): boolean {
  if (receiver !== undefined && context.hopsworksApis.has(receiver)) return true;
  return chained !== undefined && chained.callee.split('.').pop() === 'get_secrets_api';
}

/** get_secret('X') and get_secret(name='X'). */
function ownName(call: ParsedCall): string | undefined {
  return argument(call.args, 0, ['name']);
}

interface Argument {
  keyword?: string;
  tokens: Token[];
}

interface ParsedCall {
  args: Argument[];
  /** Index of the closing parenthesis, and its end offset. */
  close: number;
  end: number;
}

/** The arguments of the call whose `(` is at `open`, split at top-level commas. */
function parseCall(tokens: readonly Token[], open: number): ParsedCall | undefined {
  const args: Argument[] = [];
  let current: Token[] = [];
  let depth = 0;
  for (let i = open + 1; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'punct' && '([{'.includes(t.text)) depth++;
    if (t.kind === 'punct' && ')]}'.includes(t.text)) {
      if (depth === 0) {
        if (current.length > 0) args.push(toArgument(current));
        return { args, close: i, end: t.end };
      }
      depth--;
    }
    if (depth === 0 && t.text === ',') {
      args.push(toArgument(current));
      current = [];
      continue;
    }
    current.push(t);
  }
  return undefined;
}

function toArgument(tokens: Token[]): Argument {
  const [first, second] = tokens;
  if (first?.kind === 'name' && second?.text === '=' && tokens[2]?.text !== '=') {
    return { keyword: first.full, tokens: tokens.slice(2) };
  }
  return { tokens };
}

/** The literal at positional `index`, else a keyword argument named in `keywords`. */
function argument(
  args: readonly Argument[],
  index: number,
  keywords: string[],
): string | undefined {
  const literal = (a: Argument | undefined) => {
    const only = a?.tokens.length === 1 ? a.tokens[0] : undefined;
    return only?.kind === 'string' && only.literal ? only.text : undefined;
  };
  const positional = args.filter((a) => a.keyword === undefined);
  const firstKeyword = args.findIndex((a) => a.keyword !== undefined);
  if (firstKeyword < 0 || firstKeyword > index) {
    const at = positional[index];
    if (at) return literal(at);
  }
  return literal(args.find((a) => a.keyword !== undefined && keywords.includes(a.keyword)));
}

/** The index of the `)` closing the call whose `(` is at `open`, when it is one. */
function callEnd(tokens: readonly Token[], open: number): number | undefined {
  if (tokens[open]?.text !== '(') return undefined;
  return parseCall(tokens, open)?.close;
}

/**
 * For `.m(` after a call (`UserSecretsClient().get_secret(`), the callee of the call before it and
 * where the whole chain starts.
 */
function chainCallee(
  tokens: readonly Token[],
  i: number,
): { callee: string; start: number } | undefined {
  let close = i - 1;
  let callee: string | undefined;
  for (;;) {
    if (tokens[close]?.text !== ')') return undefined;
    let depth = 0;
    let open = close;
    for (; open >= 0; open--) {
      const text = tokens[open]!.text;
      if (tokens[open]!.kind !== 'punct') continue;
      if (text === ')' || text === ']' || text === '}') depth++;
      if (text === '(' || text === '[' || text === '{') depth--;
      if (depth === 0) break;
    }
    const fn = tokens[open - 1];
    if (fn?.kind !== 'name') return undefined;
    callee ??= fn.full.replace(/^\./, '');
    if (!startsWithDot(fn)) return { callee, start: fn.start };
    close = open - 2;
  }
}

function startsWithDot(t: Token): boolean {
  return t.kind === 'name' && t.full.startsWith('.');
}

function startsLine(source: string, offset: number): boolean {
  const lineStart = source.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*$/.test(source.slice(lineStart, offset));
}

function lineBreakBetween(source: string, a: Token, b: Token): boolean {
  return source.slice(a.end, b.start).includes('\n');
}
