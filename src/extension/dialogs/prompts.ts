/** The small input steps that New and Edit are made of. Escape anywhere ends the command quietly. */
import * as vscode from 'vscode';
import { descriptionProblem, nameProblem, SECRET_TYPES, type SecretType } from '../../core';
import {
  DESCRIPTION_PROMPT,
  NAME_PROMPT,
  nameTakenProblem,
  TYPE_DESCRIPTIONS,
  typeLabel,
  valueProblem,
} from '../../core/viewText';
import { answered } from '../registerCommand';

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
    prompt: NAME_PROMPT,
    placeHolder: 'OPENAI_API_KEY',
    value: options.value,
    ignoreFocusOut: true,
    validateInput: (text) =>
      nameProblem(text) ?? (options.isTaken?.(text) ? nameTakenProblem(text) : undefined),
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

/** Asks for a secret's type; `current` (when editing) is marked and listed first, else Generic. */
export async function askType(
  step: Step,
  current?: SecretType,
  includeFile = false,
): Promise<SecretType> {
  const first = current ?? 'generic';
  const items = SECRET_TYPES.filter((t) => includeFile || t !== 'file').map((type) => ({
    label: typeLabel(type),
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
    prompt: DESCRIPTION_PROMPT,
    value,
    ignoreFocusOut: true,
    validateInput: (text) => descriptionProblem(text),
  });
  return answered(description);
}
