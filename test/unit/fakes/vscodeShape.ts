/**
 * Holds the vscode fake (vscode.ts) to @types/vscode at compile time: each function of the fake
 * listed here accepts every call the real one accepts (its last overload), so a test cannot call
 * the fake in a way the extension could not call VS Code, and a change in @types/vscode that the
 * fake does not follow fails `tsc` (and so `npm run lint`). The fake stays partial: what it lacks
 * is not checked, and what its functions return is the tests' business.
 */
import type * as vscode from 'vscode';
import type * as fake from './vscode';

/** The names among `keys` whose fake cannot take the real function's arguments. */
type Refusing<Fake, Real, Keys extends keyof Fake & keyof Real> = {
  [K in Keys]: Real[K] extends (...args: infer A) => unknown
    ? Fake[K] extends (...args: A) => unknown
      ? never
      : K
    : never;
}[Keys];

/** Compiles only when nothing is refused. */
type None<T extends never> = T;

export type Checked = [
  None<
    Refusing<
      typeof fake.window,
      typeof vscode.window,
      | 'showTextDocument'
      | 'showNotebookDocument'
      | 'onDidChangeActiveNotebookEditor'
      | 'createOutputChannel'
      | 'showInputBox'
      | 'showQuickPick'
      | 'showInformationMessage'
      | 'showWarningMessage'
      | 'showErrorMessage'
      | 'showOpenDialog'
      | 'showSaveDialog'
      | 'setStatusBarMessage'
      | 'createTreeView'
      | 'createInputBox'
    >
  >,
  None<
    Refusing<
      typeof fake.workspace,
      typeof vscode.workspace,
      | 'applyEdit'
      | 'getConfiguration'
      | 'onDidChangeConfiguration'
      | 'onDidGrantWorkspaceTrust'
      | 'onDidCloseNotebookDocument'
      | 'onDidOpenNotebookDocument'
      | 'findFiles'
      | 'openNotebookDocument'
      | 'onDidOpenTextDocument'
      | 'onDidChangeTextDocument'
      | 'onDidCloseTextDocument'
      | 'onWillSaveNotebookDocument'
      | 'onDidChangeNotebookDocument'
      | 'asRelativePath'
    >
  >,
  None<
    Refusing<typeof fake.commands, typeof vscode.commands, 'registerCommand' | 'executeCommand'>
  >,
  None<
    Refusing<
      typeof fake.languages,
      typeof vscode.languages,
      'createDiagnosticCollection' | 'registerCodeActionsProvider'
    >
  >,
  None<Refusing<typeof fake.env, typeof vscode.env, 'asExternalUri' | 'openExternal'>>,
  None<Refusing<typeof fake.extensions, typeof vscode.extensions, 'getExtension' | 'onDidChange'>>,
  None<
    Refusing<
      typeof fake.workspace.fs,
      typeof vscode.workspace.fs,
      'stat' | 'readFile' | 'writeFile'
    >
  >,
  None<
    Refusing<fake.EventEmitter<number>, vscode.EventEmitter<number>, 'event' | 'fire' | 'dispose'>
  >,
  None<
    Refusing<
      fake.FakeSecretStorage,
      vscode.SecretStorage,
      'get' | 'store' | 'delete' | 'keys' | 'onDidChange'
    >
  >,
  None<Refusing<fake.FakeMemento, vscode.Memento, 'get' | 'update' | 'keys'>>,
  None<Refusing<typeof fake.Uri, typeof vscode.Uri, 'parse' | 'file'>>,
  None<Refusing<fake.WorkspaceEdit, vscode.WorkspaceEdit, 'set' | 'insert' | 'replace'>>,
];
