/**
 * A small hand-written stand-in for the `vscode` module, for unit tests only (vitest aliases
 * `vscode` here). Prompts are answered from a script: push answers with `ui.answer(...)`; every
 * prompt and message is recorded in `ui.calls` so tests can check what a user would have seen.
 */
type Listener<T> = (e: T) => unknown;
/** What an event of the fake takes: the real API's listeners, whatever their event's type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the fake's events carry test objects
type AnyListener = (e: any) => unknown;

export class Disposable {
  constructor(private readonly fn: () => void = () => undefined) {}
  static from(...items: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => items.forEach((i) => i.dispose()));
  }
  dispose(): void {
    this.fn();
  }
}

export class EventEmitter<T> {
  private listeners = new Set<Listener<T>>();
  event = (listener: Listener<T>): Disposable => {
    this.listeners.add(listener);
    return new Disposable(() => this.listeners.delete(listener));
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
  dispose(): void {
    this.listeners.clear();
  }
}

export enum TreeItemCollapsibleState {
  None = 0,
  Collapsed = 1,
  Expanded = 2,
}

export enum ConfigurationTarget {
  Global = 1,
  Workspace = 2,
  WorkspaceFolder = 3,
}

export class ThemeIcon {
  constructor(
    readonly id: string,
    readonly color?: ThemeColor,
  ) {}
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export class MarkdownString {
  value = '';
  supportThemeIcons = false;
  appendMarkdown(text: string): this {
    this.value += text;
    return this;
  }
  appendText(text: string): this {
    this.value += text.replace(/[\\`*_{}[\]()#+\-.!<>]/g, '\\$&');
    return this;
  }
}

export class TreeItem {
  id?: string;
  description?: string;
  tooltip?: string | MarkdownString;
  iconPath?: ThemeIcon;
  contextValue?: string;
  command?: { command: string; title: string; arguments?: unknown[] };
  accessibilityInformation?: { label: string };
  constructor(
    public label: string,
    public collapsibleState: TreeItemCollapsibleState = TreeItemCollapsibleState.None,
  ) {}
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
  ) {}
  static file(path: string): Uri {
    return new Uri('file', path);
  }
  static parse(text: string): Uri {
    const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(text);
    return m ? new Uri(m[1]!, m[2]!) : new Uri('file', text);
  }
  get fsPath(): string {
    return this.path;
  }
  /** Everything after `?` (this fake keeps the authority and query in `path`). */
  get query(): string {
    const at = this.path.indexOf('?');
    return at < 0 ? '' : this.path.slice(at + 1);
  }
  toString(_skipEncoding?: boolean): string {
    return `${this.scheme}://${this.path}`;
  }
}

// ---- the scripted user -------------------------------------------------------------------------

export interface PromptCall {
  kind:
    'input' | 'quickPick' | 'info' | 'warning' | 'error' | 'openDialog' | 'saveDialog' | 'status';
  message?: string;
  options?: unknown;
  items?: unknown[];
}

type Answer = unknown | ((call: PromptCall) => unknown);

export const ui = {
  calls: [] as PromptCall[],
  answers: [] as Answer[],
  /** Queues answers for the next prompts or modal messages, in order. `undefined` is Escape. */
  answer(...answers: Answer[]): void {
    this.answers.push(...answers);
  },
  reset(): void {
    this.calls = [];
    this.answers = [];
    clipboardText = '';
    configuration.clear();
    workspaceConfiguration.clear();
    registeredCommands.clear();
    contextKeys.clear();
    treeViews.clear();
    logLines.length = 0;
  },
  messages(kind?: PromptCall['kind']): string[] {
    return this.calls.filter((c) => !kind || c.kind === kind).map((c) => c.message ?? '');
  },
};

function next(call: PromptCall): unknown {
  ui.calls.push(call);
  if (ui.answers.length === 0) return undefined;
  const answer = ui.answers.shift();
  return typeof answer === 'function' ? (answer as (c: PromptCall) => unknown)(call) : answer;
}

/** Non-modal messages do not wait for an answer, as in VS Code where the user may ignore them. */
function message(
  kind: 'info' | 'warning' | 'error',
  text: string,
  ...rest: unknown[]
): Promise<unknown> {
  const options =
    typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { modal?: boolean }) : undefined;
  const items = rest.filter((r) => typeof r === 'string');
  if (!options?.modal && kind !== 'error') {
    ui.calls.push({ kind, message: text, options, items });
    return Promise.resolve(undefined);
  }
  return Promise.resolve(next({ kind, message: text, options, items }));
}

export const logLines: string[] = [];
let clipboardText = '';
const configuration = new Map<string, unknown>();
const workspaceConfiguration = new Map<string, unknown>();
const registeredCommands = new Map<string, (...args: unknown[]) => unknown>();
/** The tree views the extension created, by view id (the last one of each). */
export const treeViews = new Map<string, { options: { treeDataProvider: unknown } }>();
/** The context keys the extension set with 'setContext' (what `when` clauses read). */
export const contextKeys = new Map<string, unknown>();
const configurationChanged = new EventEmitter<{ affectsConfiguration(section: string): boolean }>();

export interface FakeInputBox {
  value: string;
  title?: string;
  placeholder?: string;
  show(): void;
  hide(): void;
  dispose(): void;
  onDidChangeValue: (l: Listener<string>) => Disposable;
  onDidAccept: (l: Listener<void>) => Disposable;
  onDidHide: (l: Listener<void>) => Disposable;
}

export const window = {
  /** What the code under test showed in an editor: a document or notebook and its options. */
  shownDocuments: [] as { document: unknown; options: unknown }[],
  showTextDocument(document: unknown, options?: unknown) {
    window.shownDocuments.push({ document, options });
    return Promise.resolve({ document, viewColumn: 1 });
  },
  showNotebookDocument(document: unknown, options?: unknown) {
    window.shownDocuments.push({ document, options });
    return Promise.resolve({ notebook: document, viewColumn: 1, revealRange: () => undefined });
  },
  activeTextEditor: undefined as unknown,
  activeNotebookEditor: undefined as unknown,
  onDidChangeActiveNotebookEditor: (l: AnyListener) =>
    textDocumentEvents.activeNotebookEditor.event(l),
  visibleTextEditors: [] as unknown[],
  createOutputChannel(name: string, _options?: { log: true }) {
    const line = (level: string) => (text: string) => logLines.push(`[${level}] ${text}`);
    return {
      name,
      trace: line('trace'),
      debug: line('debug'),
      info: line('info'),
      warn: line('warn'),
      error: (e: string | Error) =>
        logLines.push(`[error] ${String(e instanceof Error ? e.message : e)}`),
      appendLine: line('line'),
      append: line('line'),
      show: () => undefined,
      dispose: () => undefined,
    };
  },
  showInputBox: (options: unknown) => Promise.resolve(next({ kind: 'input', options })),
  showQuickPick: (items: readonly unknown[] | PromiseLike<readonly unknown[]>, options: unknown) =>
    Promise.resolve(items).then((resolved) =>
      next({ kind: 'quickPick', items: [...resolved], options }),
    ),
  showInformationMessage: (text: string, ...rest: unknown[]) => message('info', text, ...rest),
  showWarningMessage: (text: string, ...rest: unknown[]) => message('warning', text, ...rest),
  showErrorMessage: (text: string, ...rest: unknown[]) => message('error', text, ...rest),
  showOpenDialog: (options: unknown) => Promise.resolve(next({ kind: 'openDialog', options })),
  showSaveDialog: (options: unknown) => Promise.resolve(next({ kind: 'saveDialog', options })),
  setStatusBarMessage: (text: string) => {
    ui.calls.push({ kind: 'status', message: text });
    return new Disposable();
  },
  createTreeView: (id: string, options: { treeDataProvider: unknown }) => {
    const view = {
      options,
      description: undefined as string | undefined,
      message: undefined as string | undefined,
      dispose: () => undefined,
    };
    treeViews.set(id, view);
    return view;
  },
  createInputBox(): FakeInputBox {
    const changed = new EventEmitter<string>();
    const accepted = new EventEmitter<void>();
    const hidden = new EventEmitter<void>();
    const box: FakeInputBox = {
      value: '',
      show: () => {
        // The scripted answer is a list of keystroke states, then 'accept' or 'escape'.
        const script = (next({ kind: 'input', options: box }) as string[] | undefined) ?? [
          'escape',
        ];
        for (const step of script) {
          if (step === 'accept') accepted.fire();
          else if (step === 'escape') box.hide();
          else changed.fire((box.value = step));
        }
      },
      hide: () => hidden.fire(),
      dispose: () => undefined,
      onDidChangeValue: changed.event,
      onDidAccept: accepted.event,
      onDidHide: hidden.event,
    };
    return box;
  },
};

export const commands = {
  registerCommand(id: string, handler: (...args: unknown[]) => unknown): Disposable {
    registeredCommands.set(id, handler);
    return new Disposable(() => registeredCommands.delete(id));
  },
  async executeCommand(id: string, ...args: unknown[]): Promise<unknown> {
    if (id === 'setContext') {
      contextKeys.set(args[0] as string, args[1]);
      return undefined;
    }
    const handler = registeredCommands.get(id);
    if (!handler) throw new Error(`command '${id}' not found`);
    return handler(...args);
  },
  registered: () => [...registeredCommands.keys()],
};

export enum NotebookCellKind {
  Markup = 1,
  Code = 2,
}

/** Records inserts; `workspace.applyEdit` hands them to `workspace.appliedEdits`. */
export class WorkspaceEdit {
  readonly inserts: { uri: unknown; position: unknown; text: string }[] = [];
  readonly replacements: { uri: unknown; range: Range; text: string }[] = [];
  readonly notebookEdits: { uri: unknown; edits: NotebookEdit[] }[] = [];
  set(uri: unknown, edits: readonly unknown[]): void {
    this.notebookEdits.push({ uri, edits: edits as NotebookEdit[] });
  }
  insert(uri: unknown, position: unknown, text: string): void {
    this.inserts.push({ uri, position, text });
  }
  replace(uri: unknown, range: Range, text: string): void {
    this.replacements.push({ uri, range, text });
  }
}

export const textDocumentEvents = {
  open: new EventEmitter<unknown>(),
  change: new EventEmitter<{ document: unknown }>(),
  close: new EventEmitter<unknown>(),
  willSaveNotebook: new EventEmitter<{ notebook: unknown }>(),
  /** Tests set `window.activeNotebookEditor`, then fire this. */
  activeNotebookEditor: new EventEmitter<unknown>(),
  changeNotebook: new EventEmitter<{ notebook: unknown; cellChanges: unknown[] }>(),
  openNotebook: new EventEmitter<unknown>(),
};

export enum DiagnosticSeverity {
  Error = 0,
  Warning = 1,
  Information = 2,
  Hint = 3,
}

export class Diagnostic {
  source?: string;
  code?: string | number;
  constructor(
    readonly range: Range,
    readonly message: string,
    readonly severity: DiagnosticSeverity = DiagnosticSeverity.Error,
  ) {}
}

export class NotebookRange {
  constructor(
    readonly start: number,
    readonly end: number,
  ) {}
}

export class NotebookCellData {
  metadata?: Record<string, unknown>;
  outputs?: unknown[];
  constructor(
    readonly kind: NotebookCellKind,
    readonly value: string,
    readonly languageId: string,
  ) {}
}

export class NotebookEdit {
  newNotebookMetadata?: Record<string, unknown>;
  constructor(
    readonly range: NotebookRange,
    readonly newCells: NotebookCellData[],
  ) {}
  static replaceCells(range: NotebookRange, cells: NotebookCellData[]): NotebookEdit {
    return new NotebookEdit(range, cells);
  }
  static updateNotebookMetadata(metadata: Record<string, unknown>): NotebookEdit {
    const edit = new NotebookEdit(new NotebookRange(0, 0), []);
    edit.newNotebookMetadata = metadata;
    return edit;
  }
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
  isBefore(other: Position): boolean {
    return this.line < other.line || (this.line === other.line && this.character < other.character);
  }
}

export class Range {
  constructor(
    readonly start: Position,
    readonly end: Position,
  ) {}
}

export class CodeActionKind {
  static readonly QuickFix = new CodeActionKind('quickfix');
  constructor(readonly value: string) {}
}

export class CodeAction {
  command?: { command: string; title: string; arguments?: unknown[] };
  edit?: WorkspaceEdit;
  isPreferred?: boolean;
  constructor(
    readonly title: string,
    readonly kind?: CodeActionKind,
  ) {}
}

/** Code action providers registered by the extension, for tests to call. */
export const languages = {
  /** Diagnostics by collection name, then by URI string. */
  diagnostics: new Map<string, Map<string, Diagnostic[]>>(),
  createDiagnosticCollection(name = '') {
    const byUri = new Map<string, Diagnostic[]>();
    languages.diagnostics.set(name, byUri);
    return {
      set: (uri: { toString(): string }, list: Diagnostic[]) =>
        void byUri.set(uri.toString(), list),
      delete: (uri: { toString(): string }) => void byUri.delete(uri.toString()),
      clear: () => byUri.clear(),
      dispose: () => void languages.diagnostics.delete(name),
    };
  },
  codeActionProviders: [] as { selector: unknown; provider: unknown }[],
  registerCodeActionsProvider(selector: unknown, provider: unknown): Disposable {
    const entry = { selector, provider };
    languages.codeActionProviders.push(entry);
    return new Disposable(() => {
      const i = languages.codeActionProviders.indexOf(entry);
      if (i !== -1) languages.codeActionProviders.splice(i, 1);
    });
  },
};

export const workspace = {
  appliedEdits: [] as WorkspaceEdit[],
  applyEdit(edit: unknown) {
    workspace.appliedEdits.push(edit as WorkspaceEdit);
    return Promise.resolve(true);
  },
  /**
   * User settings in `configuration`, workspace and folder settings in `workspaceConfiguration`
   * (update with ConfigurationTarget.Workspace or .WorkspaceFolder); `get` gives the workspace's
   * first, as VS Code does for a setting a workspace may set.
   */
  getConfiguration(section = '') {
    const at = (key: string) => `${section}.${key}`;
    return {
      get: <T>(key: string, fallback: T): T =>
        (workspaceConfiguration.has(at(key))
          ? workspaceConfiguration.get(at(key))
          : configuration.has(at(key))
            ? configuration.get(at(key))
            : fallback) as T,
      inspect: <T>(key: string) => ({
        key: at(key),
        globalValue: configuration.get(at(key)) as T | undefined,
        workspaceValue: workspaceConfiguration.get(at(key)) as T | undefined,
      }),
      update: (key: string, value: unknown, target?: ConfigurationTarget) => {
        const where =
          target === ConfigurationTarget.Workspace || target === ConfigurationTarget.WorkspaceFolder
            ? workspaceConfiguration
            : configuration;
        where.set(at(key), value);
        configurationChanged.fire({
          affectsConfiguration: (s) => `${section}.${key}`.startsWith(s),
        });
        return Promise.resolve();
      },
    };
  },
  onDidChangeConfiguration: configurationChanged.event,
  isTrusted: true,
  onDidGrantWorkspaceTrust: new EventEmitter<void>().event,
  notebookDocuments: [] as unknown[],
  workspaceFolders: [{ uri: Uri.file('/ws'), name: 'ws', index: 0 }] as unknown[] | undefined,
  onDidCloseNotebookDocument: new EventEmitter<unknown>().event as (l: AnyListener) => Disposable,
  onDidOpenNotebookDocument: (l: AnyListener) => textDocumentEvents.openNotebook.event(l),
  /** Every file of `fs.files` (the glob is not applied): the code filters by name itself. */
  findFiles: () => Promise.resolve([...workspace.fs.files.keys()].map((p) => Uri.file(p))),
  /** Notebooks opened by the code under test, by URI string; tests put their fakes here. */
  openableNotebooks: new Map<string, unknown>(),
  openNotebookDocument(uri: { toString(): string } | string) {
    const notebook = workspace.openableNotebooks.get(uri.toString());
    return notebook ? Promise.resolve(notebook) : Promise.reject(new Error(`no notebook ${uri}`));
  },
  /** Open text documents; tests fire `textDocumentEvents` to open, change and close them. */
  textDocuments: [] as unknown[],
  onDidOpenTextDocument: (l: AnyListener) => textDocumentEvents.open.event(l),
  onDidChangeTextDocument: (l: AnyListener) => textDocumentEvents.change.event(l),
  onDidCloseTextDocument: (l: AnyListener) => textDocumentEvents.close.event(l),
  onWillSaveNotebookDocument: (l: AnyListener) => textDocumentEvents.willSaveNotebook.event(l),
  onDidChangeNotebookDocument: (l: AnyListener) => textDocumentEvents.changeNotebook.event(l),
  asRelativePath: (uri: Uri | string) => (typeof uri === 'string' ? uri : uri.path),
  fs: {
    files: new Map<string, Uint8Array>(),
    stat(uri: Uri) {
      const data = workspace.fs.files.get(uri.path);
      if (!data) return Promise.reject(new Error(`no file ${uri.path}`));
      return Promise.resolve({ size: data.byteLength, type: 1 });
    },
    readFile(uri: Uri) {
      const data = workspace.fs.files.get(uri.path);
      return data ? Promise.resolve(data) : Promise.reject(new Error(`no file ${uri.path}`));
    },
    writeFile(uri: Uri, data: Uint8Array) {
      workspace.fs.files.set(uri.path, data);
      return Promise.resolve();
    },
  },
};

export enum UIKind {
  Desktop = 1,
  Web = 2,
}

export const env = {
  /** A desktop window on the extension's machine; tests set `remoteName` or `uiKind` otherwise. */
  uriScheme: 'vscode',
  remoteName: undefined as string | undefined,
  uiKind: UIKind.Desktop,
  /** What asExternalUri gives for a URI (by default the URI itself, as the desktop does). */
  externalUri: undefined as ((uri: Uri) => Uri) | undefined,
  asExternalUri(uri: Uri): Promise<Uri> {
    return Promise.resolve(env.externalUri?.(uri) ?? uri);
  },
  clipboard: {
    readText: () => Promise.resolve(clipboardText),
    writeText: (text: string) => {
      clipboardText = text;
      return Promise.resolve();
    },
  },
  /** URIs opened in the browser, in order; `onOpenExternal` plays the browser (tests set it). */
  opened: [] as string[],
  onOpenExternal: undefined as ((uri: string) => void) | undefined,
  openExternal(uri: Uri | string): Promise<boolean> {
    // As VS Code does: a string opens as written; a Uri comes out with its query decoded and
    // encoded again, its `%26` and `%3D` becoming `&` and `=`.
    const text = typeof uri === 'string' ? uri : decodeURIComponent(uri.toString());
    env.opened.push(text);
    env.onOpenExternal?.(text);
    return Promise.resolve(true);
  },
};

/** No extensions are installed (the Jupyter extension is absent). */
export const extensions = {
  getExtension: (_id: string): undefined => undefined,
  onDidChange: (_listener: () => void) => ({ dispose() {} }),
};

/** An in-memory Memento (globalState / workspaceState). */
export class FakeMemento {
  readonly data = new Map<string, unknown>();
  keys(): readonly string[] {
    return [...this.data.keys()];
  }
  get<T>(key: string, fallback?: T): T | undefined {
    return this.data.has(key) ? (this.data.get(key) as T) : fallback;
  }
  update(key: string, value: unknown): Promise<void> {
    if (value === undefined) this.data.delete(key);
    else this.data.set(key, value);
    return Promise.resolve();
  }
  setKeysForSync(): void {}
}

/** An in-memory SecretStorage with change events, like VS Code's. */
export class FakeSecretStorage {
  readonly data = new Map<string, string>();
  private readonly changed = new EventEmitter<{ key: string }>();
  readonly onDidChange = this.changed.event;
  /** A `get` of a key this accepts fails, as with a locked keychain. */
  failGet: (key: string) => boolean = () => false;
  private held: Promise<void> | undefined;
  get(key: string): Promise<string | undefined> {
    const answer = () =>
      this.failGet(key)
        ? Promise.reject(new Error('The keychain is locked.'))
        : Promise.resolve(this.data.get(key));
    return this.held ? this.held.then(answer) : answer();
  }
  /**
   * Every `get` from now on answers only once the returned function is called: SecretStorage a
   * slow round trip away, as in VS Code for the Web.
   */
  holdGets(): () => void {
    let release = () => {};
    this.held = new Promise((resolve) => (release = resolve));
    return () => {
      this.held = undefined;
      release();
    };
  }
  store(key: string, value: string): Promise<void> {
    this.data.set(key, value);
    this.changed.fire({ key });
    return Promise.resolve();
  }
  delete(key: string): Promise<void> {
    this.data.delete(key);
    this.changed.fire({ key });
    return Promise.resolve();
  }
  keys(): Promise<string[]> {
    return Promise.resolve([...this.data.keys()]);
  }
}

// --- Added for the sync UI (src/extension/sync): status bar, progress, window focus. ---
export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}
export enum QuickPickItemKind {
  Separator = -1,
  Default = 0,
}
export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}
export const statusBarItems: {
  text: string;
  tooltip?: unknown;
  command?: unknown;
  backgroundColor?: unknown;
  visible: boolean;
}[] = [];
const windowStateChanged = new EventEmitter<{ focused: boolean }>();
const progressCancelled = new EventEmitter<void>();

/** Presses Cancel on every running progress notification. */
export function cancelProgress(): void {
  progressCancelled.fire();
}
Object.assign(window, {
  createStatusBarItem: () => {
    const item = {
      text: '',
      name: '',
      visible: false,
      show() {
        item.visible = true;
      },
      hide() {
        item.visible = false;
      },
      dispose() {
        item.visible = false;
      },
    } as (typeof statusBarItems)[number] & { show(): void; hide(): void; dispose(): void };
    statusBarItems.push(item);
    return item;
  },
  withProgress: (
    _options: unknown,
    task: (
      p: { report(v: unknown): void },
      token: {
        isCancellationRequested: boolean;
        onCancellationRequested: (l: Listener<void>) => Disposable;
      },
    ) => unknown,
  ) => {
    const token = {
      isCancellationRequested: false,
      onCancellationRequested: (l: Listener<void>) => progressCancelled.event(l),
    };
    return Promise.resolve(task({ report: () => undefined }, token));
  },
  registerUriHandler: (_handler: unknown) => new Disposable(),
  onDidChangeWindowState: windowStateChanged.event,
  fireWindowState: (focused: boolean) => windowStateChanged.fire({ focused }),
});
