/**
 * The Secrets view around its tree: the description names the filter, and the message says how
 * many of the secrets it shows, kept current as the store and the filter change.
 */
import * as vscode from 'vscode';
import type { SecretRepository } from '../storage/secretRepository';
import type { SecretsTreeProvider } from './secretsTree';
import type { ViewState } from './viewState';

export function createSecretsView(
  tree: SecretsTreeProvider,
  state: ViewState,
  repository: SecretRepository,
): vscode.Disposable[] {
  const treeView = vscode.window.createTreeView('notebookSecrets.secrets', {
    treeDataProvider: tree,
    showCollapseAll: true,
  });
  const describeView = () => {
    treeView.description = state.describeFilter();
    const { shown, total } = tree.counts();
    treeView.message =
      state.describeFilter() && shown > 0 ? `Showing ${shown} of ${total} secrets.` : undefined;
  };
  return [treeView, repository.onDidChange(describeView), state.onDidChange(describeView)];
}
