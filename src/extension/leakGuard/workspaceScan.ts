/**
 * "Scan Workspace for Secrets": the rules of `notebook-secrets scan` (provider key formats, and
 * the user's own values in any common encoding) over the workspace's notebooks, Python, .env,
 * JSON, YAML and TOML files. Findings go to the Problems panel and to a quick pick that opens
 * each one; opened, a notebook cell or Python file gets the live warnings and their quick fixes
 * (Move Hard-Coded Key to Notebook Secrets…, Replace with get_secret) in place of the scan's.
 * Only masked prefixes and secret names are shown; a value never reaches a message or the log.
 */
import * as vscode from 'vscode';
import { SECRET_RULES } from '../../core/secretRules';
import {
  NotebookFormatError,
  SCANNED_FILE,
  SKIPPED_FOLDERS,
  scanFile,
  type SecretFinding,
} from '../../core/secretScan';
import { findingMessage } from './findingMessage';
import type { StoredValueIndex } from './storedValueIndex';
import { Disposable } from '../disposables';

export const SCAN_WORKSPACE_COMMAND = 'notebookSecrets.scanWorkspace';

/** Files larger than this are listed as skipped: a 10 MB JSON is data, not code. */
export const MAX_SCANNED_BYTES = 10 * 1024 * 1024;
const MAX_FILES = 20_000;

const INCLUDE = '**/{*.ipynb,*.py,*.env,.env,.env.*,*.json,*.yaml,*.yml,*.toml}';
const EXCLUDE = `**/{${[...SKIPPED_FOLDERS].join(',')}}/**`;

export interface WorkspaceScanDeps {
  index: Pick<StoredValueIndex, 'rules'>;
  log: vscode.LogOutputChannel;
}

interface FileFindings {
  uri: vscode.Uri;
  notebook: boolean;
  findings: SecretFinding[];
}

/** What a scan found, for the caller (and tests) to read. */
export interface WorkspaceScanResult {
  scanned: number;
  files: FileFindings[];
  skipped: string[];
  unreadable: string[];
}

const isNotebook = (uri: vscode.Uri) => uri.path.toLowerCase().endsWith('.ipynb');
const baseName = (uri: vscode.Uri) => uri.path.slice(uri.path.lastIndexOf('/') + 1);

/** Where a finding is, for people: `cell 3, line 2 (output 1)` or `line 7`. */
export function findingPlace(f: SecretFinding): string {
  if (f.cell === undefined) return `line ${f.line}`;
  return `cell ${f.cell}, ${f.output ? `output ${f.output}, ` : ''}line ${f.line}`;
}

/** From 1-based line and column, `length` characters on that line. */
const span = (line: number, column: number, length: number) =>
  new vscode.Range(
    new vscode.Position(line - 1, column - 1),
    new vscode.Position(line - 1, column - 1 + length),
  );

const capitalized = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export class WorkspaceScan extends Disposable {
  private readonly collection = this.register(
    vscode.languages.createDiagnosticCollection('notebookSecrets.workspaceScan'),
  );
  private shown = new Map<string, FileFindings>();

  constructor(private readonly deps: WorkspaceScanDeps) {
    // Once open, a cell or a Python file has live warnings (with quick fixes): drop the scan's.
    super();
    this.register(vscode.workspace.onDidOpenTextDocument(() => this.publish()));
    this.register(vscode.workspace.onDidOpenNotebookDocument(() => this.publish()));
  }

  /** Scans the workspace, publishes the findings and returns them. */
  async scan(token?: vscode.CancellationToken): Promise<WorkspaceScanResult> {
    const rules = [...(await this.deps.index.rules()), ...SECRET_RULES];
    const uris = (await vscode.workspace.findFiles(INCLUDE, EXCLUDE, MAX_FILES, token))
      .filter((uri) => SCANNED_FILE.test(baseName(uri)))
      .sort((a, b) => a.path.localeCompare(b.path));
    const result: WorkspaceScanResult = { scanned: 0, files: [], skipped: [], unreadable: [] };
    for (const uri of uris) {
      if (token?.isCancellationRequested) break;
      const path = vscode.workspace.asRelativePath(uri);
      let bytes: Uint8Array;
      try {
        const stat = await vscode.workspace.fs.stat(uri);
        if (stat.size > MAX_SCANNED_BYTES) {
          result.skipped.push(path);
          continue;
        }
        bytes = await vscode.workspace.fs.readFile(uri);
      } catch {
        result.unreadable.push(path);
        continue;
      }
      result.scanned++;
      try {
        const findings = scanFile(uri.path, new TextDecoder().decode(bytes), rules);
        if (findings.length > 0) result.files.push({ uri, notebook: isNotebook(uri), findings });
      } catch (error) {
        if (!(error instanceof NotebookFormatError)) throw error;
        result.unreadable.push(path);
      }
    }
    this.shown = new Map(result.files.map((f) => [f.uri.toString(), f]));
    this.publish();
    const count = result.files.reduce((n, f) => n + f.findings.length, 0);
    // Counts and paths only: the findings' masks stay in the Problems panel.
    this.deps.log.info(
      `Scanned ${result.scanned} file(s) of the workspace: ${count} possible secret(s) in ${result.files.length} file(s)` +
        (result.skipped.length ? `, ${result.skipped.length} skipped as too large` : '') +
        (result.unreadable.length ? `, ${result.unreadable.length} unreadable` : '') +
        '.',
    );
    return result;
  }

  /** Sets the Problems panel from the last scan, leaving out what live warnings now cover. */
  private publish(): void {
    const openPython = new Set(
      vscode.workspace.textDocuments
        .filter((d) => d.languageId === 'python' && d.uri.scheme === 'file')
        .map((d) => d.uri.toString()),
    );
    const openNotebooks = new Set(vscode.workspace.notebookDocuments.map((n) => n.uri.toString()));
    this.collection.clear();
    for (const [key, file] of this.shown) {
      if (openPython.has(key)) continue;
      // An open notebook's sources have live warnings; its outputs only these.
      const findings = openNotebooks.has(key)
        ? file.findings.filter((f) => f.output !== undefined)
        : file.findings;
      this.collection.set(
        file.uri,
        findings.map((f) => {
          const range = file.notebook ? span(1, 1, 0) : span(f.line, f.column, f.end - f.start);
          const d = new vscode.Diagnostic(
            range,
            file.notebook
              ? `${capitalized(findingPlace(f))}: ${findingMessage(f, f.output !== undefined)}`
              : findingMessage(f),
            vscode.DiagnosticSeverity.Warning,
          );
          d.source = 'Notebook Secrets';
          d.code = f.rule;
          return d;
        }),
      );
    }
  }

  /** The command: scan with progress, then a quick pick of the findings that opens each one. */
  async run(): Promise<void> {
    if (!vscode.workspace.workspaceFolders?.length) {
      void vscode.window.showInformationMessage(
        'Open a folder first: Scan Workspace for Secrets reads the files of the open folders. For other files, run `notebook-secrets scan PATH` in a terminal.',
      );
      return;
    }
    const result = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: 'Scanning the workspace for secrets…',
        cancellable: true,
      },
      (_progress, token) => this.scan(token),
    );
    const notes = [
      ...(result.skipped.length
        ? [
            `${result.skipped.length} file(s) over 10 MB skipped (run \`notebook-secrets scan\` on them)`,
          ]
        : []),
      ...(result.unreadable.length
        ? [
            `${result.unreadable.length} file(s) could not be read: ${result.unreadable.slice(0, 3).join(', ')}`,
          ]
        : []),
    ];
    const count = result.files.reduce((n, f) => n + f.findings.length, 0);
    if (count === 0) {
      void vscode.window.showInformationMessage(
        `No hard-coded keys or stored values found in ${result.scanned} file(s) of the workspace.` +
          (notes.length ? ` ${notes.join('; ')}.` : ''),
      );
      return;
    }
    const items = result.files.flatMap((file) =>
      file.findings.map((finding) => ({
        label: `$(warning) ${vscode.workspace.asRelativePath(file.uri)}`,
        description: findingPlace(finding),
        detail: finding.secret ? finding.title : `${finding.title} (${finding.masked})`,
        file,
        finding,
      })),
    );
    const picked = await vscode.window.showQuickPick(items, {
      title: `${count} possible secret(s) in ${result.files.length} file(s), also in the Problems panel`,
      placeHolder:
        notes.length > 0 ? `Pick one to open it. ${notes.join('; ')}.` : 'Pick one to open it',
      matchOnDescription: true,
      matchOnDetail: true,
    });
    if (picked) await this.open(picked.file, picked.finding);
  }

  /** Opens a finding: the file at its line, or the notebook at its cell (and line). */
  private async open(file: FileFindings, f: SecretFinding): Promise<void> {
    if (!file.notebook) {
      await vscode.window.showTextDocument(file.uri, {
        selection: span(f.line, f.column, f.end - f.start),
      });
      return;
    }
    const notebook = await vscode.workspace.openNotebookDocument(file.uri);
    const cell = Math.max(0, (f.cell ?? 1) - 1);
    const editor = await vscode.window.showNotebookDocument(notebook, {
      selections: [new vscode.NotebookRange(cell, cell + 1)],
    });
    editor.revealRange(new vscode.NotebookRange(cell, cell + 1));
    if (f.output === undefined && cell < notebook.cellCount) {
      // The cell's own editor, at the key: its warning and quick fixes are there.
      await vscode.window.showTextDocument(notebook.cellAt(cell).document, {
        viewColumn: editor.viewColumn,
        selection: span(f.line, f.column, f.end - f.start),
      });
    }
  }
}

/** Registers the command and its Problems panel entries. */
