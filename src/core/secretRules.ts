/**
 * What the scanner looks for. The primary detector is secretlint's recommended rule preset
 * (`@secretlint/secretlint-rule-preset-recommend`, see presetRules.ts): a maintained set of
 * provider formats (AWS secret keys, GitHub, Slack, OpenAI, npm, SendGrid, Shopify, Linear,
 * 1Password, private keys, credentials in URLs). After it come our own rules, one for each format the
 * preset does not cover, each saying why it is here and where the format is documented, and one
 * heuristic for a string assigned to a name that says it holds a key. Kept exact rather than
 * wide: a false positive in a notebook costs the user's trust in every other finding.
 */
import { presetScan } from './presetRules';
import { SECRET_NAME } from './secretNames';

/** A value a rule's `find` located: where, and what it is when the rule finds several kinds. */
export interface RuleHit {
  start: number;
  end: number;
  id?: string;
  title?: string;
  /** For a hit of the preset: its rule, which a `secretlint-disable` comment may name. */
  presetRule?: string;
}

export interface SecretRule {
  /** Stable id, printed next to each finding (`aws-access-key-id`). */
  id: string;
  /** What it is, for people (`AWS access key ID`). */
  title: string;
  /** Global regex; the secret is capture group `group` (default 0, the whole match). */
  pattern?: RegExp;
  group?: number;
  /** Instead of a pattern: finds the values itself, and the ranges a comment turns off. */
  find?: (text: string) => {
    hits: RuleHit[];
    ignores: { start: number; end: number; rule: string }[];
  };
  /** Where the format is documented. */
  source: string;
  /** What a finding shows instead of the value (default: its first characters and length). */
  mask?: string;
  /** For a stored value: the secret's name. */
  secret?: string;
}

/** secretlint's recommended preset, run by presetRules.ts; each hit carries its own id. */
export const PRESET_RULE: SecretRule = {
  id: 'secretlint-preset',
  title: 'secret (secretlint recommended preset)',
  find: presetScan,
  source: '@secretlint/secretlint-rule-preset-recommend',
};

/** Formats the preset does not cover (as of its version 10), and the assignment heuristic. */
export const OWN_RULES: readonly SecretRule[] = [
  {
    // The preset reports a private key only as a whole BEGIN…END block; a key shown in part
    // (a truncated print, a key cut across cells or outputs) has only its header.
    id: 'private-key',
    title: 'private key (PEM)',
    pattern: /-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----/g,
    source: 'RFC 7468 (textual encoding of PKCS #8 and friends); OpenSSH PROTOCOL.key',
  },
  {
    // The preset looks for access key IDs only with an option (enableIDScanRule) that also
    // reports AWS account IDs, which are not credentials, and costs two more passes over every
    // text with patterns that have no literal prefix; it also lacks the ABIA and ACCA prefixes.
    id: 'aws-access-key-id',
    title: 'AWS access key ID',
    pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b/g,
    source: 'AWS IAM User Guide, "Understanding unique ID prefixes"',
  },
  {
    // The preset has no GitLab rule.
    id: 'gitlab-token',
    title: 'GitLab personal access token',
    pattern: /\bglpat-[A-Za-z0-9_-]{20,}\b/g,
    source: 'GitLab Docs, "Token overview" (token prefixes)',
  },
  {
    // The preset has no Anthropic rule.
    id: 'anthropic-api-key',
    title: 'Anthropic API key',
    pattern: /\bsk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80,}/g,
    source: 'Anthropic API documentation (key format sk-ant-api03-…)',
  },
  {
    // The preset's OpenAI rule needs the T3BlbkFJ marker at fixed lengths (58 or 74 characters
    // each side); project, service-account and admin keys of other lengths go unreported.
    id: 'openai-api-key',
    title: 'OpenAI API key',
    pattern:
      /\bsk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|[A-Za-z0-9]{48})(?![A-Za-z0-9_-])/g,
    source: 'OpenAI API reference, "Authentication" (sk-, sk-proj-, sk-svcacct- keys)',
  },
  {
    // The preset's Google Cloud rule reads only whole service-account key files (.json, .p12).
    id: 'google-api-key',
    title: 'Google API key',
    pattern: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g,
    source: 'Google Cloud docs, "Manage API keys" (keys start with AIza)',
  },
  {
    // The preset has no Stripe rule.
    id: 'stripe-secret-key',
    title: 'Stripe secret or restricted key',
    pattern: /\b(?:sk|rk)_live_[0-9A-Za-z]{24,}\b/g,
    source: 'Stripe Docs, "API keys" (sk_live_, rk_live_)',
  },
  {
    // The preset has no Hugging Face rule.
    id: 'huggingface-token',
    title: 'Hugging Face access token',
    pattern: /\bhf_[A-Za-z0-9]{34,}\b/g,
    source: 'Hugging Face Hub docs, "User access tokens" (hf_ prefix)',
  },
  {
    // The preset has no JWT rule.
    id: 'jwt',
    title: 'JSON Web Token',
    pattern: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}/g,
    source: 'RFC 7519 (a JWS compact serialization whose header and payload are JSON objects)',
  },
  {
    // The preset's basic-auth rule reads only http, https and ftp URLs, not database URLs.
    id: 'connection-string-password',
    title: 'password in a connection URL',
    // scheme://user:password@host; the password is group 1.
    pattern:
      /\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver|snowflake|clickhouse)(?:\+[a-z0-9]+)?:\/\/[^\s:/@'"]+:([^\s@'"/]{4,})@[^\s'"]+/g,
    group: 1,
    source: 'RFC 3986 userinfo, as used by libpq, MySQL, MongoDB and Redis connection URIs',
  },
  {
    // Keys of any provider, by the name they are assigned to; the preset has no such rule.
    id: 'assigned-secret',
    title: 'string assigned to a key, token, secret or password name',
    // NAME = 'value', NAME: "value", "NAME": "value", NAME="value" (Python, JSON, YAML, .env).
    pattern: new RegExp(
      `(?<![A-Za-z0-9_])(['"]?)(${SECRET_NAME})\\1[ \\t]*(?::|=)[ \\t]*(['"])([^'"\\s]{8,200})\\3`,
      'gi',
    ),
    group: 4,
    source: 'heuristic of this project',
  },
];

/** Every rule, the preset first: a value it reports is not reported again by our own rules. */
export const SECRET_RULES: readonly SecretRule[] = [PRESET_RULE, ...OWN_RULES];

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
 * and without padding), percent-encoded, JSON-escaped and hex. The kernel helpers redact these
 * and more (HTML- and LaTeX-escaped forms, long runs of a value; docs/get_secret.md).
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
