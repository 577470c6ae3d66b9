import * as os from 'node:os';
import * as vscode from 'vscode';
import { LocalSecretStore, STORE_PREFIX, type IntegrityReport } from '../../core';
import { SealedFileStore, type WatchedKeyValueStore } from './sealedFileStore';

/** What the commands and the tree need from wherever secrets live (local now, synced later). */
export type SecretRepository = Pick<
  LocalSecretStore,
  | 'list'
  | 'get'
  | 'find'
  | 'resolve'
  | 'getValue'
  | 'create'
  | 'update'
  | 'delete'
  | 'isMissingValue'
  | 'onDidChange'
  | 'load'
>;

/**
 * The local store on VS Code SecretStorage (or, in VS Code for the Web, on the sealed files that
 * stand in for it: sealedFileStore.ts), kept consistent with it: loaded at start, reloaded when
 * another window changes a secret, and every repair reported (names only, never values).
 */
export class SecretStorageRepository implements vscode.Disposable {
  readonly store: LocalSecretStore;
  /**
   * Settles when the first load (the first `reload()`) has finished, whether it read the store or
   * failed (reported as any load's failure is); it never rejects. Activation does not wait for
   * the load (in VS Code for the Web, a round trip to the browser): what reads secrets waits on
   * this instead, so it never sees the empty store of before the load.
   */
  readonly loaded: Promise<void>;
  private firstLoadDone: () => void = () => undefined;
  private readonly subscription: vscode.Disposable;
  private reloadTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly changedKeys = new Set<string>();

  /**
   * On the extension's SecretStorage, except in VS Code for the Web: there SecretStorage is one
   * entry of the browser's localStorage, rewritten whole on each store and bounded to a few
   * megabytes, so the store's keys go to sealed files instead (sealedFileStore.ts).
   */
  static forContext(
    context: Pick<vscode.ExtensionContext, 'secrets' | 'globalStorageUri'>,
    log: vscode.LogOutputChannel,
    onLoadError: (message: string | undefined) => void,
  ): SecretStorageRepository {
    if (vscode.env.uiKind !== vscode.UIKind.Web || context.globalStorageUri.scheme !== 'file') {
      return new SecretStorageRepository(context.secrets, log, onLoadError);
    }
    const sealed = new SealedFileStore(context.secrets, context.globalStorageUri.fsPath, (m) =>
      log.info(m),
    );
    const repository = new SecretStorageRepository(
      sealed,
      log,
      onLoadError,
      "the sealed files in the extension's global storage",
    );
    repository.owned = sealed;
    return repository;
  }

  /** A store this repository made, disposed with it. */
  private owned: vscode.Disposable | undefined;

  constructor(
    secrets: WatchedKeyValueStore,
    private readonly log: vscode.LogOutputChannel,
    private readonly onLoadError: (message: string | undefined) => void,
    /** Where the values are, as errors name it. */
    private readonly place = 'VS Code SecretStorage',
  ) {
    this.store = new LocalSecretStore(secrets, { user: safeUserName() });
    this.loaded = new Promise((resolve) => (this.firstLoadDone = resolve));
    this.subscription = secrets.onDidChange((e) => {
      if (!e.key.startsWith(STORE_PREFIX)) return;
      // One refresh for a burst of changes (a write touches a value and a chunk of the index).
      this.changedKeys.add(e.key);
      clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => void this.refresh(), 100);
    });
  }

  /** Takes in what changed in SecretStorage: this window's own writes cost it nothing. */
  private async refresh(): Promise<void> {
    const keys = [...this.changedKeys];
    this.changedKeys.clear();
    try {
      const report = await this.store.refresh(keys);
      this.onLoadError(undefined);
      if (report) this.report(report);
    } catch (error) {
      this.failed(error);
    }
  }

  /** Loads from SecretStorage; a failure shows in the tree with a retry, never as an empty list. */
  async reload(): Promise<IntegrityReport | undefined> {
    try {
      const report = await this.store.load();
      this.onLoadError(undefined);
      this.report(report);
      return report;
    } catch (error) {
      this.failed(error);
      return undefined;
    } finally {
      this.firstLoadDone();
    }
  }

  private failed(error: unknown): void {
    const message = `Could not read secrets from ${this.place}: ${error instanceof Error ? error.message : String(error)}`;
    this.log.error(message);
    this.onLoadError(message);
  }

  private report(report: IntegrityReport): void {
    if (report.rebuiltIndex) {
      this.log.warn('The secrets index could not be read; it was rebuilt from the stored values.');
    }
    if (report.recovered.length > 0) {
      const names = report.recovered.join(', ');
      this.log.warn(
        `Recovered ${report.recovered.length} secret(s) whose index entry was missing: ${names}`,
      );
      void vscode.window.showWarningMessage(
        `Notebook Secrets recovered ${report.recovered.length} secret(s) whose details were missing: ${names}. Check their type and description.`,
      );
    }
    if (report.missingValues.length > 0) {
      this.log.warn(`Value missing from ${this.place} for: ${report.missingValues.join(', ')}`);
    }
  }

  dispose(): void {
    clearTimeout(this.reloadTimer);
    this.subscription.dispose();
    this.owned?.dispose();
  }
}

function safeUserName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'me';
  }
}
