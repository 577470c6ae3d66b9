/**
 * The secrets the active notebook needs (core/neededSecrets.ts on its code cells), each present
 * or missing by the same precedence as get_secret, for the Secrets view's "This Notebook" group.
 * Opening a notebook with missing secrets says so once per notebook in a session, with "Add…".
 */
import * as vscode from 'vscode';
import { cellLanguage, findNeededSecrets, type CodeCell } from '../../core/neededSecrets';
import type { NotebookChoices } from '../../core/notebookChoices';
import { PLATFORM_FORMS, type PlatformForm } from '../../core/secretReads';
import { missingSecretsMessage, type NeededItem } from '../../core/viewText';
import type { SecretRepository } from '../storage/secretRepository';
import { Disposable } from '../disposables';

export type { NeededItem };

export interface NotebookNeedsSnapshot {
  /** The notebook's name as the user sees it. */
  label: string;
  secrets: NeededItem[];
}

/** What the Secrets view reads. */
export interface NotebookNeedsView {
  current(): NotebookNeedsSnapshot | undefined;
  onDidChange(listener: () => void): vscode.Disposable;
}

export interface NotebookNeedsDeps {
  repository: Pick<SecretRepository, 'resolve' | 'isMissingValue' | 'onDidChange'>;
  /** The active project of the team server, as get_secret resolves within it. */
  activeProject(): string | undefined;
  /** Starts "New Secret" with the name filled in. */
  addSecret(name: string): Thenable<unknown>;
  /** The notebook's choices, and the question asked when it reads keys another platform's way. */
  choices?: {
    of(notebook: vscode.NotebookDocument): NotebookChoices;
    offer(notebook: vscode.NotebookDocument, platforms: PlatformForm[]): void;
  };
}

/** Rescans this long after the last keystroke in a cell. */
const RESCAN_MS = 400;

export class NotebookNeeds extends Disposable implements NotebookNeedsView {
  private readonly changed = this.register(new vscode.EventEmitter<void>());
  readonly onDidChange = this.changed.event;
  private snapshot:
    | {
        notebook: vscode.NotebookDocument;
        names: ReturnType<typeof findNeededSecrets>;
        environment: string[];
      }
    | undefined;
  /** Notebooks already told about their missing secrets in this session. */
  private readonly told = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly deps: NotebookNeedsDeps) {
    super();
  }

  /** Starts following the active notebook editor (after the store's first load). */
  start(): void {
    this.registerAll(
      vscode.window.onDidChangeActiveNotebookEditor(() => this.scan(true)),
      vscode.workspace.onDidChangeNotebookDocument((e) => {
        if (e.notebook === this.snapshot?.notebook) this.scanLater();
      }),
      this.deps.repository.onDidChange(() => this.changed.fire()),
    );
    this.scan(true);
  }

  current(): NotebookNeedsSnapshot | undefined {
    if (!this.snapshot) return undefined;
    const { notebook, names, environment } = this.snapshot;
    const listed = environment.filter((name) => !names.some((n) => n.name === name));
    return {
      label: vscode.workspace.asRelativePath(notebook.uri, false),
      secrets: [
        ...names.map((n) => ({
          name: n.name,
          cells: n.cells,
          present: this.isPresent(n.name),
          forms: n.forms,
          environment: environment.includes(n.name),
        })),
        ...listed.map((name) => ({
          name,
          cells: [],
          present: this.isPresent(name),
          forms: [],
          environment: true,
        })),
      ],
    };
  }

  /** Present when get_secret would find it: resolved by precedence, with its value stored. */
  private isPresent(name: string): boolean {
    const project = this.deps.activeProject();
    const entry = this.deps.repository.resolve(name, project ? { project } : {});
    return entry !== undefined && !this.deps.repository.isMissingValue(entry.id);
  }

  private scanLater(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.scan(false), RESCAN_MS);
  }

  /** Reads the active notebook's cells; `opened` also tells the user about missing names once. */
  scan(opened: boolean): void {
    const notebook = vscode.window.activeNotebookEditor?.notebook;
    this.snapshot = notebook && {
      notebook,
      // An environment read counts when its name looks like a key, or is one of the user's.
      names: findNeededSecrets(codeCells(notebook), {
        environmentCounts: (name) => this.isPresent(name),
      }),
      environment: this.deps.choices?.of(notebook).environment ?? [],
    };
    this.changed.fire();
    if (opened && notebook) {
      this.tellMissing(notebook);
      const platforms = PLATFORM_FORMS.filter((p) =>
        this.snapshot?.names.some((n) => n.forms.includes(p)),
      );
      this.deps.choices?.offer(notebook, platforms);
    }
  }

  private tellMissing(notebook: vscode.NotebookDocument): void {
    const key = notebook.uri.toString();
    if (this.told.has(key)) return;
    const missing =
      this.current()
        ?.secrets.filter((s) => !s.present)
        .map((s) => s.name) ?? [];
    if (missing.length === 0) return;
    this.told.add(key);
    const label = vscode.workspace.asRelativePath(notebook.uri, false);
    void vscode.window
      .showWarningMessage(missingSecretsMessage(label, missing), 'Add…')
      .then(async (choice) => {
        if (choice !== 'Add…') return;
        const name =
          missing.length === 1
            ? missing[0]
            : await vscode.window.showQuickPick(missing, {
                title: `Add a secret ${label} needs`,
                placeHolder: 'The secret to add',
              });
        if (name) await this.deps.addSecret(name);
      });
  }

  override dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    super.dispose();
  }
}

/** The code cells in a language we read; others (markdown, SQL, …) name nothing. */
function codeCells(notebook: vscode.NotebookDocument): CodeCell[] {
  const cells: CodeCell[] = [];
  for (const cell of notebook.getCells()) {
    if (cell.kind !== vscode.NotebookCellKind.Code) continue;
    const language = cellLanguage(cell.document.languageId);
    if (language) {
      cells.push({ source: cell.document.getText(), language, number: cell.index + 1 });
    }
  }
  return cells;
}
