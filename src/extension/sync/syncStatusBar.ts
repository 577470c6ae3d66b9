/**
 * The status-bar item with the sync state (synced / syncing / offline / N conflicts / error) and the
 * last sync time in its tooltip, plus the active project. Serving from the local copy while the
 * server is unreachable is said visibly, as the design asks.
 */
import * as vscode from 'vscode';
import type { SessionState } from './syncSession';

export interface StatusView {
  text: string;
  tooltip: string;
  command: string;
  warning: boolean;
}

/** What the item shows for a state; pure, so it is tested without VS Code. */
export function describeSyncState(
  state: SessionState,
  activeProject: string | undefined,
  now: Date = new Date(),
): StatusView {
  const project = activeProject ? ` · ${activeProject}` : '';
  if (!state.signedIn) {
    return {
      text: '$(cloud) Secrets: local',
      tooltip:
        'Notebook Secrets: secrets are on this machine only. Click to sign in to a team server.',
      command: 'notebookSecrets.signIn',
      warning: false,
    };
  }
  const { status, server } = state;
  const who = state.me ? ` as ${state.me.user.id}` : '';
  const last = status.lastSyncAt ? `Last sync: ${ago(status.lastSyncAt, now)}.` : 'Not synced yet.';
  const pending = status.pending > 0 ? ` ${status.pending} change(s) waiting to be sent.` : '';
  const lines = [`Notebook Secrets: ${server}${who}.`, `${last}${pending}`];
  if (activeProject) lines.push(`Active project: ${activeProject}.`);
  switch (status.kind) {
    case 'syncing':
    case 'idle':
      return {
        text: `$(sync~spin) Secrets${project}`,
        tooltip: ['Syncing…', ...lines].join('\n'),
        command: 'notebookSecrets.syncNow',
        warning: false,
      };
    case 'synced':
      return {
        text: `$(cloud) Secrets${project}`,
        tooltip: ['Synced.', ...lines].join('\n'),
        command: 'notebookSecrets.syncNow',
        warning: false,
      };
    case 'conflicts':
      return {
        text: `$(warning) ${status.conflicts} conflict${status.conflicts === 1 ? '' : 's'}${project}`,
        tooltip: [
          `${status.conflicts} secret(s) changed here and on the server; both sides are kept until you choose.`,
          ...lines,
        ].join('\n'),
        command: 'notebookSecrets.resolveConflict',
        warning: true,
      };
    case 'offline':
      return {
        text: `$(cloud-offline) Secrets: offline${project}`,
        tooltip: [
          `Offline: serving secrets from the local copy. ${status.lastError ?? ''}`.trim(),
          ...lines,
        ].join('\n'),
        command: 'notebookSecrets.syncNow',
        warning: true,
      };
    case 'error':
      return {
        text: `$(error) Secrets: ${status.unauthorized ? 'sign in' : 'sync error'}${project}`,
        tooltip: [status.lastError ?? 'Sync failed.', ...lines].join('\n'),
        command: status.unauthorized ? 'notebookSecrets.signIn' : 'notebookSecrets.syncNow',
        warning: true,
      };
  }
}

function ago(then: Date, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - then.getTime()) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  return then.toLocaleString();
}

export class SyncStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor() {
    this.item = vscode.window.createStatusBarItem(
      'notebookSecrets.sync',
      vscode.StatusBarAlignment.Left,
      50,
    );
    this.item.name = 'Notebook Secrets Sync';
  }

  show(state: SessionState, activeProject: string | undefined): void {
    const view = describeSyncState(state, activeProject);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.command = view.command;
    this.item.backgroundColor = view.warning
      ? new vscode.ThemeColor('statusBarItem.warningBackground')
      : undefined;
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
