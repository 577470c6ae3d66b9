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
  // Counted only while a filter is on: counting groups the tree, which a store change (each page
  // of a sync) would otherwise make it do at once rather than when the view next reads it.
  const describeView = () => {
    const filter = state.describeFilter();
    treeView.description = filter;
    const counts = filter ? tree.counts() : undefined;
    treeView.message =
      counts && counts.shown > 0
        ? `Showing ${counts.shown} of ${counts.total} secrets.`
        : undefined;
  };
  return [treeView, repository.onDidChange(describeView), state.onDidChange(describeView)];
}
