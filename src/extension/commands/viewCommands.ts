/** Refresh, Filter, Filter by Type, Clear Filter and Group By: the commands on the view. */
import * as vscode from 'vscode';
import { SECRET_TYPES, type GroupBy } from '../../core';
import type { ViewState } from '../views/viewState';
import { answered } from '../registerCommand';

export function viewCommands(state: ViewState, reload: () => Promise<unknown>) {
  async function refresh(): Promise<void> {
    await reload();
  }

  /** A live filter: the tree narrows as you type; Escape restores the previous filter. */
  function filter(): Promise<void> {
    const previous = state.filter.query ?? '';
    const input = vscode.window.createInputBox();
    input.title = 'Filter Secrets';
    input.placeholder = 'Part of a name or description';
    input.value = previous;
    return new Promise<void>((resolve) => {
      let accepted = false;
      input.onDidChangeValue((text) => state.setQuery(text));
      input.onDidAccept(() => {
        accepted = true;
        input.hide();
      });
      input.onDidHide(() => {
        if (!accepted) state.setQuery(previous);
        input.dispose();
        resolve();
      });
      input.show();
    });
  }

  async function filterByType(): Promise<void> {
    const current = new Set(state.filter.types ?? []);
    const items = SECRET_TYPES.map((type) => ({ label: type, picked: current.has(type), type }));
    const picked = await vscode.window.showQuickPick(items, {
      canPickMany: true,
      title: 'Show Secrets of Type',
      placeHolder: 'Pick the types to show (none picked shows all)',
    });
    state.setTypes(answered(picked).map((i) => i.type));
  }

  async function groupBy(): Promise<void> {
    const options: { label: string; value: GroupBy }[] = [
      { label: 'Scope', value: 'scope' },
      { label: 'Type', value: 'type' },
      { label: 'None', value: 'none' },
    ];
    const picked = await vscode.window.showQuickPick(
      options.map((o) => ({
        ...o,
        description: o.value === state.groupBy ? 'current' : undefined,
      })),
      { title: 'Group Secrets By' },
    );
    await state.setGroupBy(answered(picked).value);
  }

  return { refresh, filter, filterByType, clearFilter: () => state.clearFilter(), groupBy };
}
