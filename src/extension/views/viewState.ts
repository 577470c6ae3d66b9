import * as vscode from 'vscode';
import { isFilterActive, type GroupBy, type SecretFilter, type SecretType } from '../../core';
import { affects, setting, updateUserSetting } from '../settings';
import { Disposable } from '../disposables';

/** What the Secrets view shows: the filter (per window) and the grouping (a setting). */
export class ViewState extends Disposable {
  private filterValue: SecretFilter = {};
  private readonly changed = this.register(new vscode.EventEmitter<void>());
  readonly onDidChange = this.changed.event;

  constructor() {
    super();
    this.register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (affects(e, 'view.groupBy')) this.changed.fire();
      }),
    );
    void this.updateContext();
  }

  get filter(): SecretFilter {
    return this.filterValue;
  }

  get groupBy(): GroupBy {
    return setting('view.groupBy');
  }

  async setGroupBy(groupBy: GroupBy): Promise<void> {
    await updateUserSetting('view.groupBy', groupBy);
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
}
