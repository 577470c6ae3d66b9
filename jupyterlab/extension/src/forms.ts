/**
 * The panel's forms as JupyterLab dialogs: New, Edit, Sign in, Share. Each field is checked as
 * you type with the same rules and messages as the VS Code view (src/core/viewText.ts), and the
 * dialog's accept button stays disabled while a field is wrong. Value fields are password inputs
 * that start empty; nothing typed is kept once the dialog closes.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import { descriptionProblem, nameProblem } from '../../../src/core/validation';
import { SECRET_TYPES, type Scope, type SecretType } from '../../../src/core/model';
import {
  DESCRIPTION_PROMPT,
  NAME_PROMPT,
  nameTakenProblem,
  TYPE_DESCRIPTIONS,
  typeLabel,
  valueProblem,
} from '../../../src/core/viewText';

interface Field {
  key: string;
  label: string;
  input: HTMLInputElement | HTMLSelectElement;
  check?: (text: string) => string | undefined;
}

/** A dialog body of labelled fields; `getValue()` gives the fields' texts by key. */
class FormBody extends Widget implements Dialog.IBodyWidget<Record<string, string>> {
  private readonly fields: Field[] = [];
  private readonly message: HTMLElement;

  constructor(intro?: string) {
    super();
    this.addClass('jp-NotebookSecrets-form');
    if (intro) {
      const p = document.createElement('p');
      p.textContent = intro;
      this.node.appendChild(p);
    }
    this.message = document.createElement('div');
    this.message.className = 'jp-NotebookSecrets-formError';
    this.message.setAttribute('role', 'alert');
  }

  text(
    key: string,
    label: string,
    options: {
      value?: string;
      password?: boolean;
      placeholder?: string;
      check?: (text: string) => string | undefined;
    } = {},
  ): this {
    const input = document.createElement('input');
    input.type = options.password ? 'password' : 'text';
    input.value = options.value ?? '';
    input.placeholder = options.placeholder ?? '';
    input.autocomplete = 'off';
    input.spellcheck = false;
    return this.add({ key, label, input, ...(options.check && { check: options.check }) });
  }

  select(key: string, label: string, options: { value: string; label: string }[], value?: string) {
    const input = document.createElement('select');
    for (const o of options) {
      const option = document.createElement('option');
      option.value = o.value;
      option.textContent = o.label;
      input.appendChild(option);
    }
    if (value !== undefined) input.value = value;
    return this.add({ key, label, input });
  }

  private add(field: Field): this {
    const row = document.createElement('label');
    row.className = 'jp-NotebookSecrets-field';
    const caption = document.createElement('span');
    caption.textContent = field.label;
    field.input.classList.add('jp-mod-styled');
    field.input.setAttribute('aria-label', field.label);
    field.input.dataset.field = field.key;
    field.input.addEventListener('input', () => this.validate());
    row.append(caption, field.input);
    this.node.appendChild(row);
    this.node.appendChild(this.message);
    this.fields.push(field);
    return this;
  }

  /** Shows the first problem and enables the accept button only without one. */
  validate(): boolean {
    const problem = this.fields
      .map((f) => f.check?.(f.input.value))
      .find((p): p is string => p !== undefined);
    this.message.textContent = problem ?? '';
    const accept = this.node
      .closest('.jp-Dialog-content')
      ?.querySelector<HTMLButtonElement>('.jp-Dialog-button.jp-mod-accept');
    if (accept) accept.disabled = problem !== undefined;
    return problem === undefined;
  }

  protected override onAfterAttach(): void {
    this.validate();
    this.fields[0]?.input.focus();
  }

  getValue(): Record<string, string> {
    return Object.fromEntries(this.fields.map((f) => [f.key, f.input.value]));
  }
}

/** Runs a form; undefined when dismissed. */
async function ask(
  title: string,
  body: FormBody,
  accept: string,
): Promise<Record<string, string> | undefined> {
  const result = await showDialog({
    title,
    body,
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: accept })],
    focusNodeSelector: 'input',
  });
  return result.button.accept && result.value ? result.value : undefined;
}

const typeOptions = (includeFile: boolean) =>
  SECRET_TYPES.filter((t) => includeFile || t !== 'file').map((t) => ({
    value: t,
    label: `${typeLabel(t)} — ${TYPE_DESCRIPTIONS[t]}`,
  }));

export interface NewSecretAnswer {
  name: string;
  value: string;
  type: SecretType;
  description: string;
  scope: Scope;
}

/** New Secret (or Add… with the name a notebook asks for). `scopes`: where it may go. */
export async function askNewSecret(options: {
  name?: string;
  isTaken: (name: string, scope: string) => boolean;
  scopes: { value: string; label: string; scope: Scope }[];
}): Promise<NewSecretAnswer | undefined> {
  const body = new FormBody();
  const scopeOf = () =>
    body.node.querySelector<HTMLSelectElement>('[data-field="scope"]')?.value ?? 'personal';
  body.text('name', 'Name', {
    value: options.name ?? '',
    placeholder: 'OPENAI_API_KEY',
    check: (text) =>
      nameProblem(text) ?? (options.isTaken(text, scopeOf()) ? nameTakenProblem(text) : undefined),
  });
  body.node.querySelector('input')?.setAttribute('title', NAME_PROMPT);
  body.text('value', 'Value', {
    password: true,
    placeholder: 'hidden as you type',
    check: valueProblem,
  });
  body.select('type', 'Type', typeOptions(false), 'generic');
  body.text('description', 'Description (optional)', {
    placeholder: DESCRIPTION_PROMPT,
    check: descriptionProblem,
  });
  if (options.scopes.length > 1) {
    body.select(
      'scope',
      'Scope',
      options.scopes.map((s) => ({ value: s.value, label: s.label })),
      'personal',
    );
  }
  const answer = await ask(options.name ? `Add ${options.name}` : 'New Secret', body, 'Save');
  if (!answer) return undefined;
  const scope = options.scopes.find((s) => s.value === (answer.scope ?? 'personal'))?.scope;
  return {
    name: answer.name ?? '',
    value: answer.value ?? '',
    type: (answer.type ?? 'generic') as SecretType,
    description: answer.description ?? '',
    scope: scope ?? { kind: 'personal' },
  };
}

/** New Secret from File: the name, with the file read by the caller. */
export async function askFileSecret(options: {
  label: string;
  name: string;
  isTaken: (name: string) => boolean;
}): Promise<{ name: string; description: string } | undefined> {
  const body = new FormBody()
    .text('name', 'Name', {
      value: options.name,
      check: (text) =>
        nameProblem(text) ?? (options.isTaken(text) ? nameTakenProblem(text) : undefined),
    })
    .text('description', 'Description (optional)', {
      value: `From ${options.label}`,
      check: descriptionProblem,
    });
  const answer = await ask(`New Secret from ${options.label}`, body, 'Save');
  return answer && { name: answer.name ?? '', description: answer.description ?? '' };
}

/** Edit: an empty value keeps the current one; only what changed is returned. */
export async function askEdit(secret: {
  name: string;
  type: SecretType;
  description: string;
  encoding: string;
}): Promise<{ value?: string; type?: SecretType; description?: string } | undefined> {
  const body = new FormBody(
    secret.encoding === 'base64'
      ? 'A file secret: its description and type can be changed here.'
      : 'Leave the value empty to keep the current one; it is never shown here.',
  );
  if (secret.encoding !== 'base64') {
    body.text('value', 'New value', {
      password: true,
      check: (text) => (text === '' ? undefined : valueProblem(text)),
    });
  }
  body
    .select('type', 'Type', typeOptions(secret.type === 'file'), secret.type)
    .text('description', 'Description', { value: secret.description, check: descriptionProblem });
  const answer = await ask(`Edit ${secret.name}`, body, 'Save');
  if (!answer) return undefined;
  const change: { value?: string; type?: SecretType; description?: string } = {};
  if (answer.value) change.value = answer.value;
  if (answer.type && answer.type !== secret.type) change.type = answer.type as SecretType;
  if (answer.description !== undefined && answer.description !== secret.description) {
    change.description = answer.description;
  }
  return change;
}

/** Sign in to Team Server: the URL and a token of the user's account. */
export async function askSignIn(
  server = '',
): Promise<{ server: string; token: string } | undefined> {
  const body = new FormBody(
    'The token is kept on the machine that runs Jupyter (its OS keyring, or a 0600 file), as `notebook-secrets login` keeps it.',
  )
    .text('server', 'Server URL', {
      value: server,
      placeholder: 'https://secrets.example.com',
      check: (text) => (text.trim() ? undefined : 'Enter the team server URL.'),
    })
    .text('token', 'Token', {
      password: true,
      check: (text) => (text.trim() ? undefined : 'Enter the token of your account.'),
    });
  const answer = await ask('Sign in to Team Server', body, 'Sign In');
  return answer && { server: answer.server ?? '', token: answer.token ?? '' };
}

/** Share: who may read or change a secret, one `user:ID role` or `team:ID role` a line. */
export async function askAccess(
  name: string,
  current: { principal: { kind: string; id: string }; role: string }[],
): Promise<string | undefined> {
  const body = new FormBody(
    `Who has ${name}: one line each, "user:ID owner|reader" or "team:ID owner|reader". A secret keeps at least one owner.`,
  );
  const area = document.createElement('textarea');
  area.className = 'jp-mod-styled jp-NotebookSecrets-access';
  area.rows = Math.max(4, current.length + 2);
  area.value = current.map((g) => `${g.principal.kind}:${g.principal.id} ${g.role}`).join('\n');
  area.setAttribute('aria-label', 'Access');
  body.node.appendChild(area);
  const result = await showDialog({
    title: `Share ${name}`,
    body,
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Save' })],
  });
  return result.button.accept ? area.value : undefined;
}
