import * as vscode from 'vscode';
import {
  byName,
  groupKey,
  groupSorted,
  isFilterActive,
  SCOPE_LABELS,
  searchMatcher,
  searchText,
  sharedBy,
  type GroupBy,
  type IndexEntry,
  type SecretFilter,
  type SecretGroup,
  type SecretType,
  type StoreChange,
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
  list(): readonly IndexEntry[];
  isMissingValue(id: string): boolean;
  /** Conflicted items (sync): both sides kept, the user has to choose. */
  isConflicted?(id: string): boolean;
  /** `change` says which entries went and came; without it, anything may have changed. */
  onDidChange(listener: (change?: StoreChange) => void): { dispose(): void };
}

export type SecretsNode =
  | { kind: 'group'; key: string; label: string; items: readonly IndexEntry[] }
  | { kind: 'secret'; secret: IndexEntry }
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
  /**
   * Every entry in name order, kept as the store changes (a change merges into it), so that
   * neither a sync nor a keystroke of the filter sorts the catalogue again.
   */
  private sorted: Sorted | undefined;
  /**
   * The store's changes since `sorted` was last brought up to date: merged in one pass when the
   * view next reads it, so that a sync of many pages costs one merge, not one per page.
   */
  private pending: StoreChange[] = [];
  /** Where, in `sorted`, what the last filter matched is, while the store has not changed since. */
  private matched: { filter: SecretFilter; at: number[] } | undefined;
  /** The groups shown, until the store, the filter or the grouping changes. */
  private groups: SecretGroup<IndexEntry>[] | undefined;
  /**
   * The groups last made, of how many entries, while the store has not changed since: a keystroke
   * that keeps every entry shown (typing on a query all of them match) shows these again.
   */
  private made: { groupBy: GroupBy; count: number; groups: SecretGroup<IndexEntry>[] } | undefined;

  constructor(
    private readonly source: SecretListSource,
    private readonly state: ViewState,
    private readonly needs?: NotebookNeedsView,
  ) {
    super();
    this.register(
      source.onDidChange((change) => {
        if (this.sorted && change) this.pending.push(change);
        else [this.sorted, this.pending] = [undefined, []];
        this.matched = undefined;
        this.made = undefined;
        this.refresh();
      }),
    );
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
    const key = groupKey(node.secret, this.state.groupBy);
    const parent = this.currentGroups().find((g) => g.key === key);
    if (!parent || parent.items[sortedIndex(parent.items, node.secret)] !== node.secret) {
      return undefined;
    }
    return { kind: 'group', key: parent.key, label: parent.label, items: parent.items };
  }

  private currentGroups(): SecretGroup<IndexEntry>[] {
    if (this.groups) return this.groups;
    if (!this.sorted) {
      const entries = [...this.source.list()].sort(byName);
      this.sorted = { entries, search: entries.map(searchText) };
    } else if (this.pending.length > 0) {
      this.sorted = mergeChange(this.sorted, combined(this.pending));
      this.pending = [];
    }
    const sorted = this.sorted.entries;
    const filter = this.state.filter;
    const groupBy = this.state.groupBy;
    const last = this.matched;
    // What the last groups hold: what the last filter matched, or every entry.
    const shownBefore = this.made?.count;
    let at: number[] | undefined;
    let within = true;
    if (isFilterActive(filter)) {
      // Typing on narrows the last filter: only what it matched can match.
      within = last !== undefined && narrows(last.filter, filter);
      at = filtered(this.sorted, filter, within ? last!.at : undefined);
    }
    this.matched = at && { filter, at };
    const count = at?.length ?? sorted.length;
    // Within what was shown (or all of it shown), as many entries: the same entries, same groups.
    const same =
      this.made?.groupBy === groupBy &&
      shownBefore === count &&
      (within || shownBefore === sorted.length);
    if (!same) {
      const items = at ? at.map((i) => sorted[i]!) : sorted;
      this.made = { groupBy, count, groups: groupSorted(items, groupBy) };
    }
    this.groups = this.made!.groups;
    return this.groups;
  }

  private secretItem(secret: IndexEntry): vscode.TreeItem {
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

/** Whether everything `next` matches, `last` matched too (a query typed further, the same types). */
function narrows(last: SecretFilter, next: SecretFilter): boolean {
  const lastTypes = last.types ?? [];
  const nextTypes = next.types ?? [];
  const types =
    lastTypes.length === 0 ||
    (nextTypes.length > 0 && nextTypes.every((t) => lastTypes.includes(t)));
  const query = (f: SecretFilter) => f.query?.trim().toLowerCase() ?? '';
  return types && query(next).includes(query(last));
}

/** Where `entry` is, or would go, in `sorted` (name order), looking from `from` on. */
function sortedIndex(sorted: readonly IndexEntry[], entry: IndexEntry, from = 0): number {
  let low = from;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (byName(sorted[mid]!, entry) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * Changes one after the other as one: what they took out that was there before the first, and
 * what they put in that the later ones did not take out again.
 */
function combined(changes: readonly StoreChange[]): StoreChange {
  if (changes.length === 1) return changes[0]!;
  const before: IndexEntry[] = [];
  const added = new Set<IndexEntry>();
  for (const change of changes) {
    for (const entry of change.before) if (!added.delete(entry)) before.push(entry);
    for (const entry of change.after) added.add(entry);
  }
  return { before, after: [...added] };
}

/**
 * The entries in name order, and the searchText of each at the same place (made with it and
 * merged with it, so that a keystroke lower-cases nothing).
 */
interface Sorted {
  entries: IndexEntry[];
  search: string[];
}

/** Where the entries `filter` matches are in `sorted`, looking only at `from` when given. */
function filtered(
  { entries, search }: Sorted,
  filter: SecretFilter,
  from: readonly number[] | undefined,
): number[] {
  const matches = searchMatcher<IndexEntry>(filter);
  const at: number[] = [];
  if (from) {
    for (const i of from) if (matches(entries[i]!, search[i]!)) at.push(i);
  } else {
    for (let i = 0; i < entries.length; i++) if (matches(entries[i]!, search[i]!)) at.push(i);
  }
  return at;
}

/**
 * `sorted` without the entries the change took out and with those it put in, in name order: each
 * found by binary search, the rest copied, so a change of a few entries costs no sort and few
 * comparisons, whatever the catalogue. The search texts go along.
 */
function mergeChange({ entries: sorted, search }: Sorted, change: StoreChange): Sorted {
  const gone = new Set<number>();
  for (const entry of change.before) {
    const at = sortedIndex(sorted, entry);
    if (sorted[at] === entry) gone.add(at);
  }
  const added = [...change.after].sort(byName);
  const merged: IndexEntry[] = [];
  const texts: string[] = [];
  const keep = (i: number) => {
    if (gone.has(i)) return;
    merged.push(sorted[i]!);
    texts.push(search[i]!);
  };
  let i = 0;
  for (const entry of added) {
    const at = sortedIndex(sorted, entry, i);
    for (; i < at; i++) keep(i);
    merged.push(entry);
    texts.push(searchText(entry));
  }
  for (; i < sorted.length; i++) keep(i);
  return { entries: merged, search: texts };
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

function tooltip(secret: IndexEntry, missing: boolean): vscode.MarkdownString {
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
      "\n\n$(warning) The value is missing from this machine's store. Edit to set a new value, or delete the entry.",
    );
    md.supportThemeIcons = true;
  }
  return md;
}

function formatDate(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}
