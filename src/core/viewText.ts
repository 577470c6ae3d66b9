/**
 * The words of the Secrets views: VS Code's tree and JupyterLab's panel show the same names,
 * limits and messages, so both read them from here. Nothing here carries a value.
 */
import { formatBytes, SecretsError } from './errors';
import { MAX_FILE_BYTES, MAX_NAME_LENGTH, MAX_VALUE_BYTES } from './limits';
import type { SecretMetadata, SecretType } from './model';
import { assertValueSize } from './validation';
import { FORM_LABELS, type SecretReadForm } from './secretReads';

/** The first group of a view: the secrets the active notebook asks for. */
export const THIS_NOTEBOOK = 'This Notebook';

export const NAME_PROMPT = "Name: how notebooks ask for it, as in get_secret('NAME')";
export const DESCRIPTION_PROMPT = 'Description (optional): what it is for. Press Enter to skip.';

export const TYPE_DESCRIPTIONS: Record<SecretType, string> = {
  generic: 'Any text value',
  password: 'A password or passphrase',
  key: 'An API key',
  token: 'An access token',
  file: 'A file, stored base64',
};

/** `token` → `Token`, as the type pickers list it. */
export function typeLabel(type: SecretType): string {
  return type.charAt(0).toUpperCase() + type.slice(1);
}

/** What a name field says when the name is already used in the scope a new secret goes to. */
export function nameTakenProblem(name: string): string {
  return `A secret named '${name}' already exists. Choose another name, or edit that one.`;
}

/** Why a typed value cannot be stored, or undefined. Never echoes the value. */
export function valueProblem(text: string, limit = MAX_VALUE_BYTES): string | undefined {
  if (text.length === 0) return 'Enter a value (paste it here).';
  try {
    assertValueSize(text, limit);
    return undefined;
  } catch (error) {
    return error instanceof SecretsError ? error.message : undefined;
  }
}

export function fileTooLargeMessage(label: string, bytes: number): string {
  return `${label} is ${formatBytes(bytes)}; a file secret can be at most ${formatBytes(MAX_FILE_BYTES)} (its base64 text must fit the ${formatBytes((MAX_FILE_BYTES / 3) * 4)} value limit). Nothing was stored.`;
}

/** `service-account.json` → `SERVICE_ACCOUNT_JSON`, a valid secret name. */
export function nameFromFile(fileName: string): string {
  const name = fileName
    .toUpperCase()
    .replace(/[^A-Z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  const valid = /^[0-9]/.test(name) || name === '' ? `_${name}` : name;
  return valid.slice(0, MAX_NAME_LENGTH);
}

export function savedMessage(name: string): string {
  return `Saved ${name}. Use it in a cell with get_secret('${name}').`;
}

export function savedFileMessage(label: string, name: string): string {
  return `Saved ${label} as ${name}. Read its bytes in a cell with get_secret_bytes('${name}').`;
}

export function deleteQuestion(name: string): string {
  return `Delete the secret '${name}'?`;
}

/** `store` says where the value goes from, e.g. "VS Code SecretStorage", "the team server". */
export function deleteDetail(name: string, store: string): string {
  return `Its value is removed from ${store}. Notebooks that call get_secret('${name}') will fail. This cannot be undone.`;
}

/**
 * A secret's notes beside its name: type, owner (of someone else's personal secret shared with
 * you), role, sharing and trouble.
 */
export function secretNotes(
  secret: Pick<SecretMetadata, 'type' | 'role' | 'access'>,
  state: { owner?: string | undefined; missing?: boolean; conflicted?: boolean } = {},
): string {
  const { owner } = state;
  const notes = [secret.type === 'generic' ? '' : secret.type];
  if (owner) notes.push(`shared by ${owner}`);
  if (secret.role === 'reader') notes.push('reader');
  if (secret.access.length > 1) notes.push('shared');
  if (state.missing) notes.push('value missing');
  if (state.conflicted) notes.push('conflict');
  return notes.filter(Boolean).join(' · ');
}

/** A secret a notebook's cells ask for, and whether get_secret finds it. */
export interface NeededItem {
  name: string;
  cells: number[];
  present: boolean;
  /** How the cells read it (get_secret, Colab, the environment, …); get_secret when absent. */
  forms?: SecretReadForm[];
  /** Listed for the kernel's environment in the notebook's metadata. */
  environment?: boolean;
}

/** Where the notebook reads it: its cells, and the environment its metadata asks for. */
function whereRead(needed: NeededItem): string {
  const { cells } = needed;
  return [
    ...(cells.length > 0 ? [`${cells.length === 1 ? 'cell' : 'cells'} ${cells.join(', ')}`] : []),
    ...(needed.environment ? ['environment'] : []),
  ].join(', ');
}

/** How the cells read it, when it is not get_secret: "Colab", "os.environ". */
function readForms(needed: NeededItem): string[] {
  return (needed.forms ?? [])
    .filter((f) => f !== 'get_secret')
    .map((f) => (f === 'environment' ? 'os.environ' : FORM_LABELS[f]));
}

export function neededDescription(needed: NeededItem): string {
  return [needed.present ? 'present' : 'missing', whereRead(needed), ...readForms(needed)].join(
    ' · ',
  );
}

export function neededTooltip(needed: NeededItem): string {
  const where = whereRead(needed);
  const forms = readForms(needed);
  const read = forms.length > 0 ? ` (read ${forms.join(' and ')}-style)` : '';
  return needed.present
    ? `get_secret('${needed.name}') finds this secret (${where})${read}.`
    : `No secret named ${needed.name} for get_secret('${needed.name}') (${where})${read}. Add it with "Add…".`;
}

/** "This Notebook"'s description: the notebook, and how many secrets it lacks. */
export function notebookGroupDescription(label: string, items: readonly NeededItem[]): string {
  const missing = items.filter((i) => !i.present).length;
  return missing > 0 ? `${label} · ${missing} missing` : label;
}

export function notebookGroupTooltip(label: string): string {
  return `The secrets ${label} asks for with get_secret, and whether you have each.`;
}

/** Said once when a notebook opens that asks for secrets the user does not have. */
export function missingSecretsMessage(label: string, missing: readonly string[]): string {
  const names = missing.map((n) => `'${n}'`).join(', ');
  return missing.length === 1
    ? `${label} needs the secret ${names}, which you do not have yet. Add it before running the cell that reads it.`
    : `${label} needs ${missing.length} secrets you do not have yet: ${names}. Add them before running the cells that read them.`;
}

/** The consent dialog's buttons. */
export const CONSENT_BUTTONS = {
  once: 'Allow Once',
  always: 'Always for This Notebook',
  deny: 'Deny',
} as const;

/**
 * The question names the secret first: the label may come from a Jupyter server (a session path)
 * and must not be able to read as the question (it has no control characters: see
 * KernelSessions and displayText).
 */
export function consentQuestion(name: string): string {
  return `Allow the secret '${name}'?`;
}

/** `revoke` names where standing grants are revoked, e.g. a command or a panel section. */
export function consentDetail(label: string, name: string, revoke: string): string {
  return (
    `Asked by ${label}.\n\n` +
    `Code running in that kernel called get_secret('${name}').\n\n` +
    'Allow Once: for this kernel session (until it restarts).\n' +
    `Always for This Notebook: remembered; revoke it with ${revoke}.\n` +
    'Deny: the cell gets SecretAccessError.'
  );
}
