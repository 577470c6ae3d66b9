/**
 * Provider key formats the scanner looks for, each from the provider's own documentation of its
 * key or token format (the source is named on each rule), plus one heuristic for a string
 * assigned to a name that says it holds a key. Kept small and exact rather than wide: a false
 * positive in a notebook costs the user's trust in every other finding.
 */

export interface SecretRule {
  /** Stable id, printed next to each finding (`aws-access-key-id`). */
  id: string;
  /** What it is, for people (`AWS access key ID`). */
  title: string;
  /** Global regex; the secret is capture group `group` (default 0, the whole match). */
  pattern: RegExp;
  group?: number;
  /** Where the format is documented. */
  source: string;
  /** What a finding shows instead of the value (default: its first characters and length). */
  mask?: string;
  /** For a stored value: the secret's name. */
  secret?: string;
}

export const SECRET_RULES: readonly SecretRule[] = [
  {
    id: 'private-key',
    title: 'private key (PEM)',
    pattern: /-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----/g,
    source: 'RFC 7468 (textual encoding of PKCS #8 and friends); OpenSSH PROTOCOL.key',
  },
  {
    id: 'aws-access-key-id',
    title: 'AWS access key ID',
    pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b/g,
    source: 'AWS IAM User Guide, "Understanding unique ID prefixes"',
  },
  {
    id: 'github-token',
    title: 'GitHub token',
    pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{59,251})\b/g,
    source: 'GitHub Docs, "About authentication to GitHub" (token prefixes)',
  },
  {
    id: 'gitlab-token',
    title: 'GitLab personal access token',
    pattern: /\bglpat-[A-Za-z0-9_-]{20,}\b/g,
    source: 'GitLab Docs, "Token overview" (token prefixes)',
  },
  {
    id: 'anthropic-api-key',
    title: 'Anthropic API key',
    pattern: /\bsk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80,}/g,
    source: 'Anthropic API documentation (key format sk-ant-api03-…)',
  },
  {
    id: 'openai-api-key',
    title: 'OpenAI API key',
    pattern:
      /\bsk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|[A-Za-z0-9]{48})(?![A-Za-z0-9_-])/g,
    source: 'OpenAI API reference, "Authentication" (sk-, sk-proj-, sk-svcacct- keys)',
  },
  {
    id: 'slack-token',
    title: 'Slack token',
    pattern: /\bxox[abposr]-(?:\d+-)+[A-Za-z0-9-]{10,}/g,
    source: 'Slack API docs, "Token types"',
  },
  {
    id: 'slack-webhook',
    title: 'Slack incoming webhook URL',
    pattern: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]+\/B[A-Z0-9]+\/[A-Za-z0-9]{20,}/g,
    source: 'Slack API docs, "Sending messages using incoming webhooks"',
  },
  {
    id: 'google-api-key',
    title: 'Google API key',
    pattern: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g,
    source: 'Google Cloud docs, "Manage API keys" (keys start with AIza)',
  },
  {
    id: 'stripe-secret-key',
    title: 'Stripe secret or restricted key',
    pattern: /\b(?:sk|rk)_live_[0-9A-Za-z]{24,}\b/g,
    source: 'Stripe Docs, "API keys" (sk_live_, rk_live_)',
  },
  {
    id: 'huggingface-token',
    title: 'Hugging Face access token',
    pattern: /\bhf_[A-Za-z0-9]{34,}\b/g,
    source: 'Hugging Face Hub docs, "User access tokens" (hf_ prefix)',
  },
  {
    id: 'jwt',
    title: 'JSON Web Token',
    pattern: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}/g,
    source: 'RFC 7519 (a JWS compact serialization whose header and payload are JSON objects)',
  },
  {
    id: 'connection-string-password',
    title: 'password in a connection URL',
    // scheme://user:password@host; the password is group 1.
    pattern:
      /\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver|snowflake|clickhouse)(?:\+[a-z0-9]+)?:\/\/[^\s:/@'"]+:([^\s@'"/]{4,})@[^\s'"]+/g,
    group: 1,
    source: 'RFC 3986 userinfo, as used by libpq, MySQL, MongoDB and Redis connection URIs',
  },
  {
    id: 'assigned-secret',
    title: 'string assigned to a key, token, secret or password name',
    // NAME = 'value', NAME: "value", "NAME": "value", NAME="value" (Python, JSON, YAML, .env).
    pattern:
      /(?<![A-Za-z0-9_])(['"]?)((?:[A-Za-z_][A-Za-z0-9_]*?)?(?:(?:API|ACCESS|SECRET|PRIVATE|AUTH|CLIENT|APP|MASTER|SIGNING|ENCRYPTION)_?KEY|APIKEY|TOKEN|SECRET|PASSWORD|PASSWD|PWD)|KEY)\1[ \t]*(?::|=)[ \t]*(['"])([^'"\s]{8,200})\3/gi,
    group: 4,
    source: 'heuristic of this project',
  },
];

/** Placeholders people write where a key goes: never reported. */
const PLACEHOLDER =
  /^(?:<.*>|\$\{.*\}|\{\{.*\}\}|%\(.*\)s|(?:your|my|insert|replace|enter|put|add)[-_ ]?.*|.*(?:example|placeholder|changeme|redacted|dummy|xxxx|\*\*\*\*|\.\.\.).*|(.)\1+)$/i;

/** A string that could be a value (not a placeholder, not an ordinary word). */
export function looksLikeValue(value: string): boolean {
  if (PLACEHOLDER.test(value)) return false;
  // An ordinary identifier or word ("openai_api_key", "password") is a name, not a value.
  return /\d/.test(value) || (/[a-z]/.test(value) && /[A-Z]/.test(value)) || value.length >= 24;
}

/** Values shorter than this are not matched (as in the kernel's output redaction). */
export const MIN_VALUE_LENGTH = 6;

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/**
 * The forms a value is commonly written in: as is, stripped, base64 (standard and URL-safe, with
 * and without padding), percent-encoded, JSON-escaped and hex. The same list the kernel helper
 * redacts.
 */
export function encodedForms(value: string): string[] {
  if (value.trim().length < MIN_VALUE_LENGTH) return [];
  const forms = new Set<string>();
  for (const text of new Set([value, value.trim()])) {
    const bytes = Buffer.from(text, 'utf8');
    const b64 = bytes.toString('base64');
    const url = bytes.toString('base64url');
    for (const form of [
      text,
      JSON.stringify(text).slice(1, -1),
      encodeURIComponent(text),
      b64,
      b64.replace(/=+$/, ''),
      url,
      bytes.toString('hex'),
      bytes.toString('hex').toUpperCase(),
    ])
      forms.add(form);
  }
  return [...forms].filter((f) => f.length >= MIN_VALUE_LENGTH);
}

/**
 * One rule per stored value (`stored-value`), matching it exactly in any form of
 * `encodedForms`: no false positives. Findings show `[secret NAME]`, never a prefix.
 */
export function storedValueRules(values: { name: string; value: string }[]): SecretRule[] {
  return values
    .map(({ name, value }) => ({ name, forms: encodedForms(value) }))
    .filter(({ forms }) => forms.length > 0)
    .map(({ name, forms }) => ({
      id: 'stored-value',
      title: `the value of your secret ${name}`,
      pattern: new RegExp(
        forms
          .sort((a, b) => b.length - a.length)
          .map(escapeRegExp)
          .join('|'),
        'g',
      ),
      source: 'your stored values',
      mask: `[secret ${name}]`,
      secret: name,
    }));
}
