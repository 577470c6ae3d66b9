import * as vscode from 'vscode';
import { isFilterActive, type GroupBy, type SecretFilter, type SecretType } from '../../core';

const GROUP_BY_SETTING = 'view.groupBy';

/** What the Secrets view shows: the filter (per window) and the grouping (a setting). */
export class ViewState implements vscode.Disposable {
  private filterValue: SecretFilter = {};
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor() {
    this.subscription = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`notebookSecrets.${GROUP_BY_SETTING}`)) this.changed.fire();
    });
    void this.updateContext();
  }

  get filter(): SecretFilter {
    return this.filterValue;
  }

  get groupBy(): GroupBy {
    return vscode.workspace
      .getConfiguration('notebookSecrets')
      .get<GroupBy>(GROUP_BY_SETTING, 'scope');
  }

  async setGroupBy(groupBy: GroupBy): Promise<void> {
    await vscode.workspace
      .getConfiguration('notebookSecrets')
      .update(GROUP_BY_SETTING, groupBy, vscode.ConfigurationTarget.Global);
  }

  setQuery(query: string): void {
    this.setFilter({ ...this.filterValue, query });
  }

  setTypes(types: readonly SecretType[]): void {
    this.setFilter({ ...this.filterValue, types });
  }

  clearFilter(): void {
    this.setFilter({});
  }

  /** A short summary for the view's description, e.g. `"db" · password, token`. */
  describeFilter(): string | undefined {
    if (!isFilterActive(this.filterValue)) return undefined;
    const parts: string[] = [];
    const query = this.filterValue.query?.trim();
    if (query) parts.push(`"${query}"`);
    if (this.filterValue.types?.length) parts.push(this.filterValue.types.join(', '));
    return parts.join(' · ');
  }

  private setFilter(filter: SecretFilter): void {
    this.filterValue = filter;
    void this.updateContext();
    this.changed.fire();
  }

  private async updateContext(): Promise<void> {
    await vscode.commands.executeCommand(
      'setContext',
      'notebookSecrets.filtered',
      isFilterActive(this.filterValue),
    );
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
