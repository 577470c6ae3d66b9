/**
 * The rules of secretlint's recommended preset (`@secretlint/secretlint-rule-preset-recommend`),
 * run on one text at a time through the small part of secretlint's rule context they use
 * (`createTranslator`, `report`, `ignore`). Driving the rules directly, rather than through
 * `lintSource` of `@secretlint/core`, keeps the scan synchronous (diagnostics are computed as the
 * user types) and several times faster on a notebook's many small texts (bench/scan.bench.ts).
 *
 * A rule's message holds the value it found, so messages are never built: the translator keeps
 * the message id and its properties in memory, and a hit carries only where the value is and an
 * id and title of our own for it.
 */
import { creator as recommend } from '@secretlint/secretlint-rule-preset-recommend';

/** A value one of the preset's rules found. */
export interface PresetHit {
  /** Our stable id (`github-token`) and title for what was found. */
  id: string;
  title: string;
  /** The preset rule that found it (`@secretlint/secretlint-rule-github`). */
  presetRule: string;
  start: number;
  end: number;
}

/** A range a `secretlint-disable…` comment turns off, for one preset rule or for all (`*`). */
export interface PresetIgnore {
  start: number;
  end: number;
  rule: string;
}

/**
 * Our id and title for each of the preset's message ids, so findings keep the ids users already
 * filter on. `null`: not reported (an AWS account ID names an account; AWS does not treat it as
 * a secret). The AWS rule runs with its defaults: access key IDs and account IDs are off.
 */
const KINDS: Record<string, { id: string; title: string } | null> = {
  AWSSecretAccessKey: { id: 'aws-secret-access-key', title: 'AWS secret access key' },
  AWSAccountID: null,
  PrivateKeyJSON: { id: 'gcp-service-account-key', title: 'Google Cloud service account key' },
  PrivateKeyP12: { id: 'gcp-service-account-key', title: 'Google Cloud service account key' },
  PackageJSON_xOauthToken: { id: 'github-token', title: 'GitHub token' },
  Npmrc_authToken: { id: 'npm-token', title: 'npm token' },
  NPM_ACCESS_TOKEN: { id: 'npm-token', title: 'npm access token' },
  SLACK_TOKEN: { id: 'slack-token', title: 'Slack token' },
  IncomingWebhook: { id: 'slack-webhook', title: 'Slack incoming webhook URL' },
  BasicAuth: { id: 'basic-auth-url', title: 'user name and password in a URL' },
  OPENAI_TOKEN: { id: 'openai-api-key', title: 'OpenAI API key' },
  LINEAR_API_TOKEN: { id: 'linear-api-key', title: 'Linear API key' },
  PrivateKey: { id: 'private-key', title: 'private key (PEM)' },
  SENDGRID_KEY: { id: 'sendgrid-api-key', title: 'SendGrid API key' },
  SHOPIFY_KEY: { id: 'shopify-token', title: 'Shopify access token or app secret' },
  GITHUB_TOKEN: { id: 'github-token', title: 'GitHub token' },
  OPS_TOKEN: { id: '1password-service-account-token', title: '1Password service account token' },
};

/**
 * When a rule can be skipped: a literal every pattern of the rule needs is absent (checked with
 * `includes`, far cheaper than the rule's patterns, which have no literal prefix and so are tried
 * at every position of the text). Rules not listed always run.
 */
const SKIP_UNLESS: Record<string, (text: string) => boolean> = {
  // Its one default pattern is AWS?_SECRET_ACCESS_KEY = "…" in any of three letter cases.
  '@secretlint/secretlint-rule-aws': (text) => text.includes('ccess') || text.includes('CCESS'),
  // It reads `secretlint-disable…` comments only.
  '@secretlint/secretlint-rule-filter-comments': (text) => text.includes('secretlint-'),
};

// The part of secretlint's rule API the preset's rules use (@secretlint/types).
interface Translated {
  messageId: string;
  props: Record<string, unknown>;
}
interface Source {
  content: string;
  filePath: undefined;
  ext: string;
  contentType: 'text';
  indexToPosition(index: number): { line: number; column: number };
  locationToRange(loc: {
    start: { line: number; column: number };
    end: { line: number; column: number };
  }): [number, number];
}
interface RuleContext {
  createTranslator(): (messageId: string, props?: Record<string, unknown>) => string;
  report(descriptor: { message: string; range: readonly [number, number] }): void;
  ignore(descriptor: { range: readonly [number, number]; targetRuleId: string }): void;
}
interface Rule {
  meta: { id: string; type?: string };
  create(context: RuleContext, options: object): { file?(source: Source): unknown };
}

/** What the rules report into while one text is scanned. */
interface Run {
  text: string;
  hits: PresetHit[];
  ignores: PresetIgnore[];
}

let rules: { id: string; file: (source: Source) => unknown }[] | undefined;
let run: Run | undefined;
const translated = new Map<string, Translated>();

/** Where the value a rule found is: the property of its message that is the found text. */
function valueRange(text: string, range: readonly [number, number], props: Translated['props']) {
  let best: [number, number] | undefined;
  for (const value of Object.values(props)) {
    if (typeof value !== 'string' || value.length === 0) continue;
    // Some rules report the start of the whole match (`aws_secret_access_key = "…`) with the
    // length of the value; the value itself is found from there.
    const start = text.startsWith(value, range[0]) ? range[0] : text.indexOf(value, range[0]);
    if (start === -1 || start > range[1] + 256) continue;
    if (!best || value.length > best[1] - best[0]) best = [start, start + value.length];
  }
  return best ?? [range[0], range[1]];
}

function load(): NonNullable<typeof rules> {
  if (rules) return rules;
  const presetRules = (recommend as unknown as { rules: Rule[] }).rules;
  rules = presetRules.map((rule) => {
    const id = rule.meta.id;
    const context: RuleContext = {
      createTranslator: () => (messageId, props) => {
        const token = `${translated.size}`;
        translated.set(token, { messageId, props: props ?? {} });
        return token;
      },
      report: ({ message, range }) => {
        const t = translated.get(message);
        if (!run || !t) return;
        const kind = KINDS[t.messageId];
        if (kind === null) return;
        const [start, end] = valueRange(run.text, range, t.props);
        run.hits.push({
          id: kind?.id ?? id.replace(/^@secretlint\/secretlint-rule-/, 'secretlint-'),
          title: kind?.title ?? `secret (secretlint rule ${id})`,
          presetRule: id,
          start,
          end,
        });
      },
      ignore: ({ range, targetRuleId }) => {
        run?.ignores.push({ start: range[0], end: range[1], rule: targetRuleId });
      },
    };
    const file = rule.create(context, {}).file;
    const needed = SKIP_UNLESS[id];
    return {
      id,
      file: (source: Source) =>
        file && (!needed || needed(source.content)) ? file(source) : undefined,
    };
  });
  return rules;
}

function source(text: string): Source {
  // Only the comment rule asks for positions: the line starts are found on its first call.
  let starts: number[] | undefined;
  const lineStarts = () => {
    if (starts) return starts;
    starts = [0];
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    return starts;
  };
  const offset = (line: number, column: number) =>
    line - 1 >= lineStarts().length ? text.length : lineStarts()[Math.max(0, line - 1)]! + column;
  return {
    content: text,
    // No file name or extension: the rules that read a whole file (a .p12 or service-account
    // .json key) stay out of a cell's text; a key inside such a file is found by its own format.
    filePath: undefined,
    ext: '',
    contentType: 'text',
    // secretlint's positions: 1-based lines, 0-based columns.
    indexToPosition(index) {
      const at = lineStarts();
      let line = 0;
      while (line + 1 < at.length && at[line + 1]! <= index) line++;
      return { line: line + 1, column: index - at[line]! };
    },
    locationToRange: ({ start, end }) => [
      offset(start.line, start.column),
      offset(end.line, end.column),
    ],
  };
}

/** Runs every rule of the preset on one text: the values found, and ranges turned off. */
export function presetScan(text: string): { hits: PresetHit[]; ignores: PresetIgnore[] } {
  const all = load();
  const current: Run = { text, hits: [], ignores: [] };
  run = current;
  try {
    const src = source(text);
    // Every rule of the preset is synchronous on text without a file name (only the .p12 rule
    // is not, and it needs one).
    for (const rule of all) void rule.file(src);
  } finally {
    run = undefined;
    translated.clear();
  }
  return { hits: current.hits, ignores: current.ignores };
}

/** The ids of the preset's rules, for docs and tests. */
export const presetRuleIds = (): string[] => load().map((r) => r.id);
