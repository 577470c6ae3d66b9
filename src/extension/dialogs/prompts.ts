/** The small input steps that New and Edit are made of. Escape anywhere ends the command quietly. */
import * as vscode from 'vscode';
import {
  assertValueSize,
  descriptionProblem,
  MAX_VALUE_BYTES,
  nameProblem,
  SECRET_TYPES,
  SecretsError,
  type SecretType,
} from '../../core';
import { answered } from '../commands/registerCommand';

export interface Step {
  title: string;
  step: number;
  of: number;
}

const title = (s: Step): string => `${s.title} (${s.step}/${s.of})`;

export async function askName(
  step: Step,
  options: { value?: string; isTaken?: (name: string) => boolean } = {},
): Promise<string> {
  const name = await vscode.window.showInputBox({
    title: title(step),
    prompt: "Name: how notebooks ask for it, as in get_secret('NAME')",
    placeHolder: 'OPENAI_API_KEY',
    value: options.value,
    ignoreFocusOut: true,
    validateInput: (text) =>
      nameProblem(text) ??
      (options.isTaken?.(text)
        ? `A secret named '${text}' already exists. Choose another name, or edit that one.`
        : undefined),
  });
  return answered(name);
}

export async function askValue(step: Step, name: string): Promise<string> {
  const value = await vscode.window.showInputBox({
    title: title(step),
    prompt: `Value of ${name} (hidden as you type; kept in VS Code SecretStorage)`,
    password: true,
    ignoreFocusOut: true,
    validateInput: (text) => valueProblem(text),
  });
  return answered(value);
}

function valueProblem(text: string): string | undefined {
  if (text.length === 0) return 'Enter a value (paste it here).';
  try {
    assertValueSize(text, MAX_VALUE_BYTES);
    return undefined;
  } catch (error) {
    return error instanceof SecretsError ? error.message : undefined;
  }
}

const TYPE_DESCRIPTIONS: Record<SecretType, string> = {
  generic: 'Any text value',
  password: 'A password or passphrase',
  key: 'An API key',
  token: 'An access token',
  file: 'A file, stored base64',
};

/** Asks for a secret's type; `current` (when editing) is marked and listed first, else Generic. */
export async function askType(
  step: Step,
  current?: SecretType,
  includeFile = false,
): Promise<SecretType> {
  const first = current ?? 'generic';
  const items = SECRET_TYPES.filter((t) => includeFile || t !== 'file').map((type) => ({
    label: type.charAt(0).toUpperCase() + type.slice(1),
    description:
      type === current ? `${TYPE_DESCRIPTIONS[type]} (current)` : TYPE_DESCRIPTIONS[type],
    type,
  }));
  const picked = await vscode.window.showQuickPick(
    // The current type (or Generic, for a new secret) first, so Enter keeps it.
    [...items.filter((i) => i.type === first), ...items.filter((i) => i.type !== first)],
    { title: title(step), placeHolder: 'Type of secret', ignoreFocusOut: true },
  );
  return answered(picked).type;
}

export async function askDescription(step: Step, value = ''): Promise<string> {
  const description = await vscode.window.showInputBox({
    title: title(step),
    prompt: 'Description (optional): what it is for. Press Enter to skip.',
    value,
    ignoreFocusOut: true,
    validateInput: (text) => descriptionProblem(text),
  });
  return answered(description);
}
