import * as vscode from 'vscode';
import {
  filterSecrets,
  groupSecrets,
  SCOPE_LABELS,
  sharedBy,
  type SecretGroup,
  type SecretMetadata,
  type SecretType,
} from '../../core';
import {
  neededDescription,
  neededTooltip,
  notebookGroupDescription,
  notebookGroupTooltip,
  secretNotes,
  THIS_NOTEBOOK,
} from '../../core/viewText';
import type { NeededItem, NotebookNeedsView } from '../needs/notebookNeeds';
import type { ViewState } from './viewState';
import { Disposable } from '../disposables';

/** What the tree reads: the local store, or later the synced store. All reads are in memory. */
export interface SecretListSource {
  list(): readonly SecretMetadata[];
  isMissingValue(id: string): boolean;
  /** Conflicted items (sync): both sides kept, the user has to choose. */
  isConflicted?(id: string): boolean;
  onDidChange(listener: () => void): { dispose(): void };
}

export type SecretsNode =
  | { kind: 'group'; key: string; label: string; items: readonly SecretMetadata[] }
  | { kind: 'secret'; secret: SecretMetadata }
  | { kind: 'error'; message: string }
  /** "This Notebook": the secrets the active notebook's cells ask for. */
  | { kind: 'notebook'; label: string; items: readonly NeededItem[] }
  | { kind: 'needed'; item: NeededItem };

export { THIS_NOTEBOOK };

const TYPE_ICONS: Record<SecretType, string> = {
  generic: 'symbol-key',
  password: 'lock',
  key: 'key',
  token: 'shield',
  file: 'file-binary',
};

export class SecretsTreeProvider
  extends Disposable
  implements vscode.TreeDataProvider<SecretsNode>
{
  private readonly changed = this.register(new vscode.EventEmitter<SecretsNode | undefined>());
  readonly onDidChangeTreeData = this.changed.event;
  private loadError: string | undefined;
  private groups: SecretGroup<SecretMetadata>[] | undefined;

  constructor(
    private readonly source: SecretListSource,
    private readonly state: ViewState,
    private readonly needs?: NotebookNeedsView,
  ) {
    super();
    this.register(source.onDidChange(() => this.refresh()));
    this.register(state.onDidChange(() => this.refresh()));
    if (needs) this.register(needs.onDidChange(() => this.refresh()));
  }

  /** Shows a failed load as a warning item with a retry action instead of an empty tree. */
  setLoadError(message: string | undefined): void {
    this.loadError = message;
    this.refresh();
  }

  refresh(): void {
    this.groups = undefined;
    this.changed.fire(undefined);
  }

  /** Counts for the view's message: how many secrets the filter shows, of how many. */
  counts(): { shown: number; total: number } {
    const shown = this.currentGroups().reduce((n, g) => n + g.items.length, 0);
    return { shown, total: this.source.list().length };
  }

  getChildren(node?: SecretsNode): SecretsNode[] {
    if (node?.kind === 'group') return node.items.map((secret) => ({ kind: 'secret', secret }));
    if (node?.kind === 'notebook') return node.items.map((item) => ({ kind: 'needed', item }));
    if (node) return [];
    if (this.loadError) return [{ kind: 'error', message: this.loadError }];
    const notebook = this.notebookNode();
    const groups = this.currentGroups().map((g): SecretsNode => ({
      kind: 'group',
      key: g.key,
      label: g.label,
      items: g.items,
    }));
    return notebook ? [notebook, ...groups] : groups;
  }

  /** The "This Notebook" group, when the active notebook asks for at least one secret. */
  private notebookNode(): SecretsNode | undefined {
    const current = this.needs?.current();
    if (!current || current.secrets.length === 0) return undefined;
    return { kind: 'notebook', label: current.label, items: current.secrets };
  }

  getTreeItem(node: SecretsNode): vscode.TreeItem {
    switch (node.kind) {
      case 'group': {
        const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `group:${node.key}`;
        item.description = String(node.items.length);
        item.contextValue = 'group';
        return item;
      }
      case 'error': {
        const item = new vscode.TreeItem(node.message, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon(
          'warning',
          new vscode.ThemeColor('problemsWarningIcon.foreground'),
        );
        item.tooltip = `${node.message}\nClick to try again.`;
        item.command = { command: 'notebookSecrets.refresh', title: 'Retry' };
        item.contextValue = 'error';
        return item;
      }
      case 'secret':
        return this.secretItem(node.secret);
      case 'notebook':
        return notebookItem(node.label, node.items);
      case 'needed':
        return neededItem(node.item);
    }
  }

  getParent(node: SecretsNode): SecretsNode | undefined {
    if (node.kind === 'needed') return this.notebookNode();
    if (node.kind !== 'secret') return undefined;
    const parent = this.currentGroups().find((g) => g.items.includes(node.secret));
    return parent && { kind: 'group', key: parent.key, label: parent.label, items: parent.items };
  }

  private currentGroups(): SecretGroup<SecretMetadata>[] {
    this.groups ??= groupSecrets(
      filterSecrets(this.source.list(), this.state.filter),
      this.state.groupBy,
    );
    return this.groups;
  }

  private secretItem(secret: SecretMetadata): vscode.TreeItem {
    const missing = this.source.isMissingValue(secret.id);
    const conflicted = this.source.isConflicted?.(secret.id) ?? false;
    const readonly = secret.role === 'reader';
    const shared = secret.access.length > 1;
    const owner = sharedBy(secret);

    const item = new vscode.TreeItem(secret.name, vscode.TreeItemCollapsibleState.None);
    item.id = `secret:${secret.id}`;
    item.description = secretNotes(secret, { owner, missing, conflicted });
    item.iconPath =
      missing || conflicted
        ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'))
        : new vscode.ThemeIcon(TYPE_ICONS[secret.type]);
    item.contextValue =
      'secret' +
      (secret.type === 'file' ? '+file' : '') +
      (readonly ? '+readonly' : '') +
      (shared ? '+shared' : '') +
      (owner ? '+ownedByOther' : '') +
      (missing ? '+missing' : '') +
      (conflicted ? '+conflict' : '');
    item.tooltip = tooltip(secret, missing);
    item.accessibilityInformation = {
      label: `Secret ${secret.name}, ${secret.type}${owner ? `, shared by ${owner}` : ''}`,
    };
    return item;
  }
}

function notebookItem(label: string, items: readonly NeededItem[]): vscode.TreeItem {
  const item = new vscode.TreeItem(THIS_NOTEBOOK, vscode.TreeItemCollapsibleState.Expanded);
  item.id = 'group:this-notebook';
  item.description = notebookGroupDescription(label, items);
  item.tooltip = notebookGroupTooltip(label);
  item.contextValue = 'notebook';
  return item;
}

function neededItem(needed: NeededItem): vscode.TreeItem {
  const item = new vscode.TreeItem(needed.name, vscode.TreeItemCollapsibleState.None);
  item.id = `needed:${needed.name}`;
  item.description = neededDescription(needed);
  item.iconPath = needed.present
    ? new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'))
    : new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
  item.tooltip = neededTooltip(needed);
  item.contextValue = needed.present ? 'needed+present' : 'needed+missing';
  item.accessibilityInformation = {
    label: `Needed secret ${needed.name}, ${needed.present ? 'present' : 'missing'}`,
  };
  return item;
}

function tooltip(secret: SecretMetadata, missing: boolean): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown('**').appendText(secret.name).appendMarkdown('**\n\n');
  if (secret.description) md.appendText(secret.description).appendMarkdown('\n\n');
  const owner = sharedBy(secret);
  const scope =
    secret.scope.kind === 'personal'
      ? owner
        ? `${SCOPE_LABELS.personal} (${owner}'s, shared with you)`
        : SCOPE_LABELS.personal
      : `${SCOPE_LABELS[secret.scope.kind]} ${secret.scope.id}`;
  md.appendMarkdown('Type: ').appendText(secret.type).appendMarkdown('  \n');
  md.appendMarkdown('Scope: ').appendText(scope).appendMarkdown('  \n');
  md.appendMarkdown('Created: ').appendText(formatDate(secret.created_at)).appendMarkdown('  \n');
  md.appendMarkdown('Updated: ').appendText(formatDate(secret.updated_at));
  md.appendMarkdown(` (version ${secret.version})`);
  if (missing) {
    md.appendMarkdown(
      '\n\n$(warning) The value is missing from SecretStorage. Edit to set a new value, or delete the entry.',
    );
    md.supportThemeIcons = true;
  }
  return md;
}

function formatDate(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}
