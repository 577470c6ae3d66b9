/**
 * "Move Hard-Coded Key to Notebook Secrets…": a quick fix on a string literal in a notebook cell
 * or a Python file that the scanner flags (a provider key, or a string assigned to a KEY, TOKEN,
 * SECRET or PASSWORD name). It creates the secret, with a name suggested from the variable, and
 * replaces the literal with get_secret('NAME'). The value goes from the document to
 * SecretStorage and nowhere else: not into a title, a log line or a message.
 */
import * as vscode from 'vscode';
import { PERSONAL, type SecretType } from '../../core';
import { GET_SECRET_IMPORT, importOffset, importsOwn } from '../../core/portToGetSecret';
import { SECRET_RULES, type SecretRule } from '../../core/secretRules';
import { scanText, suggestSecretName } from '../../core/secretScan';
import { askName } from '../dialogs/prompts';
import type { SecretRepository } from '../storage/secretRepository';
import { findingMessage } from './findingMessage';
import { StoredValueIndex } from './storedValueIndex';
import { Disposable } from '../disposables';

export const MOVE_KEY_COMMAND = 'notebookSecrets.moveHardCodedKey';

export interface HardCodedKeyDeps {
  repository: Pick<SecretRepository, 'create' | 'find' | 'list' | 'getValue' | 'onDidChange'>;
  log: vscode.LogOutputChannel;
  /** The user's values: a literal that is one of them gets "Replace with get_secret('NAME')". */
  index: StoredValueIndex;
}

/** A flagged literal that is exactly the value, quotes included: what the fix replaces. */
export interface MovableKey {
  /** Offsets of the literal, quotes included. */
  start: number;
  end: number;
  /** Offsets of the value inside the quotes. */
  valueStart: number;
  valueEnd: number;
  title: string;
  suggestedName: string;
  type: SecretType;
  /** When the literal is one of the user's stored values: that secret's name. */
  secret?: string;
}

/** Flagged literals of `text` whose quotes hold the value and nothing else. */
export function movableKeys(text: string, rules?: readonly SecretRule[]): MovableKey[] {
  const keys: MovableKey[] = [];
  for (const f of scanText(text, rules)) {
    const quote = text[f.start - 1];
    if ((quote !== "'" && quote !== '"') || text[f.end] !== quote) continue;
    // A triple-quoted string, or an f-string / bytes literal, is not rewritten.
    if (text[f.start - 2] === quote || /[A-Za-z]/.test(text[f.start - 2] ?? '')) continue;
    keys.push({
      start: f.start - 1,
      end: f.end + 1,
      valueStart: f.start,
      valueEnd: f.end,
      title: f.title,
      suggestedName: f.secret ?? suggestSecretName(f.variable),
      ...(f.secret === undefined ? {} : { secret: f.secret }),
      type: /password|pwd|passwd/i.test(`${f.rule} ${f.variable ?? ''}`)
        ? 'password'
        : /token|jwt/i.test(`${f.rule} ${f.variable ?? ''}`)
          ? 'token'
          : 'key',
    });
  }
  return keys;
}

/**
 * The import line to insert into `document`, if it lacks it: a Python file, or a notebook cell
 * when no cell of its notebook imports get_secret (the extension's kernels have it without the
 * import, but the notebook should also run where they do not, e.g. under `run --kernels`).
 */
export function importEdit(
  document: vscode.TextDocument,
): { at: vscode.Position; text: string } | undefined {
  if (document.uri.scheme === 'vscode-notebook-cell') {
    const uri = document.uri.toString();
    const notebook = vscode.workspace.notebookDocuments.find((n) =>
      n.getCells().some((c) => c.document.uri.toString() === uri),
    );
    const imported = notebook
      ?.getCells()
      .some(
        (c) => c.document.uri.toString() !== uri && importsOwn(c.document.getText(), 'get_secret'),
      );
    if (imported) return undefined;
  }
  const text = document.getText();
  if (importsOwn(text, 'get_secret')) return undefined;
  const offset = importOffset(text);
  // A file without a final newline whose last line is the header: the import goes on a new line.
  const newline = offset === text.length && text.length > 0 && !text.endsWith('\n') ? '\n' : '';
  return { at: document.positionAt(offset), text: `${newline}${GET_SECRET_IMPORT}\n` };
}

export class HardCodedKeyActions implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  constructor(private readonly deps: HardCodedKeyDeps) {}

  provideCodeActions(document: vscode.TextDocument, range: vscode.Range): vscode.CodeAction[] {
    const actions: vscode.CodeAction[] = [];
    const rules = [...this.deps.index.current(), ...SECRET_RULES];
    for (const key of movableKeys(document.getText(), rules)) {
      const start = document.positionAt(key.start);
      const end = document.positionAt(key.end);
      if (end.line < range.start.line || start.line > range.end.line) continue;
      if (key.secret) {
        // Already stored: only the call is missing.
        const call = `get_secret('${key.secret}')`;
        const replace = new vscode.CodeAction(
          `Replace with ${call}`,
          vscode.CodeActionKind.QuickFix,
        );
        replace.edit = new vscode.WorkspaceEdit();
        replace.edit.replace(document.uri, new vscode.Range(start, end), call);
        const missing = importEdit(document);
        if (missing) replace.edit.insert(document.uri, missing.at, missing.text);
        replace.isPreferred = true;
        actions.push(replace);
        continue;
      }
      const action = new vscode.CodeAction(
        `Move Hard-Coded Key to Notebook Secrets… (${key.title})`,
        vscode.CodeActionKind.QuickFix,
      );
      action.command = {
        command: MOVE_KEY_COMMAND,
        title: 'Move Hard-Coded Key to Notebook Secrets…',
        arguments: [document, key.start],
      };
      actions.push(action);
    }
    return actions;
  }

  /** Creates the secret from the literal at `offset` and replaces the literal with the call. */
  async move(document: vscode.TextDocument, offset: number): Promise<void> {
    const text = document.getText();
    const key = movableKeys(text).find((k) => k.start === offset);
    if (!key) {
      throw new Error(
        'That key is no longer in the cell (it was edited meanwhile). Nothing was stored.',
      );
    }
    const value = text.slice(key.valueStart, key.valueEnd);
    const name = await askName(
      { title: 'Move Hard-Coded Key to Notebook Secrets', step: 1, of: 1 },
      {
        value: key.suggestedName,
        isTaken: (n) => this.deps.repository.find(n, PERSONAL) !== undefined,
      },
    );
    await this.deps.repository.create({ name, value, type: key.type, description: '' });
    const edit = new vscode.WorkspaceEdit();
    edit.replace(
      document.uri,
      new vscode.Range(document.positionAt(key.start), document.positionAt(key.end)),
      `get_secret('${name}')`,
    );
    const missing = importEdit(document);
    if (missing) edit.insert(document.uri, missing.at, missing.text);
    const applied = await vscode.workspace.applyEdit(edit);
    this.deps.log.info(`Moved a hard-coded ${key.title} into the secret ${name}.`);
    if (!applied) {
      throw new Error(
        `Saved ${name}, but the cell could not be changed. Replace the key with get_secret('${name}') yourself.`,
      );
    }
    void vscode.window.showInformationMessage(
      `Saved the key as ${name}; the cell now reads get_secret('${name}'). Clear the cell's old outputs if they show the key.`,
    );
  }
}

const SCANNED_SCHEMES = new Set(['vscode-notebook-cell', 'file', 'untitled']);

/** Warnings on hard-coded keys in notebook cells and Python files, kept up to date as they change. */
export class HardCodedKeyDiagnostics extends Disposable {
  private readonly collection = this.register(
    vscode.languages.createDiagnosticCollection('notebookSecrets.hardCodedKeys'),
  );

  constructor(
    private readonly index?: StoredValueIndex,
    onValuesChanged?: (listener: () => void) => { dispose(): void },
  ) {
    super();
    const refresh = () => {
      for (const document of vscode.workspace.textDocuments) this.update(document);
    };
    this.register(vscode.workspace.onDidOpenTextDocument((d) => this.update(d)));
    this.register(vscode.workspace.onDidChangeTextDocument((e) => this.update(e.document)));
    this.register(vscode.workspace.onDidCloseTextDocument((d) => this.collection.delete(d.uri)));
    if (onValuesChanged && index)
      this.register(onValuesChanged(() => void index.rules().then(refresh, () => undefined)));
    refresh();
    void index?.rules().then(refresh, () => undefined);
  }

  update(document: vscode.TextDocument): void {
    if (document.languageId !== 'python' || !SCANNED_SCHEMES.has(document.uri.scheme)) return;
    const rules = [...(this.index?.current() ?? []), ...SECRET_RULES];
    const diagnostics = scanText(document.getText(), rules).map((f) => {
      const diagnostic = new vscode.Diagnostic(
        new vscode.Range(document.positionAt(f.start), document.positionAt(f.end)),
        findingMessage(f),
        vscode.DiagnosticSeverity.Warning,
      );
      diagnostic.source = 'Notebook Secrets';
      diagnostic.code = f.rule;
      return diagnostic;
    });
    this.collection.set(document.uri, diagnostics);
  }
}

/** Registers the warnings, the quick fix for notebook cells and Python files, and its command. */
/**
 * The warnings and quick fixes; `move` is what MOVE_KEY_COMMAND runs (the composition root
 * registers it, with every other command).
 */
export function registerHardCodedKeyActions(
  deps: HardCodedKeyDeps,
): vscode.Disposable & { move(document: vscode.TextDocument, at: number): Promise<unknown> } {
  const actions = new HardCodedKeyActions(deps);
  const parts = vscode.Disposable.from(
    new HardCodedKeyDiagnostics(deps.index, (l) => deps.repository.onDidChange(l)),
    vscode.languages.registerCodeActionsProvider(
      [
        { scheme: 'vscode-notebook-cell', language: 'python' },
        { scheme: 'file', language: 'python' },
        { scheme: 'untitled', language: 'python' },
      ],
      actions,
      { providedCodeActionKinds: HardCodedKeyActions.kinds },
    ),
  );
  return {
    move: (document, at) => actions.move(document, at),
    dispose: () => void parts.dispose(),
  };
}
