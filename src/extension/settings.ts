/**
 * The extension's settings (package.json `contributes.configuration`), each key and default once,
 * read through typed getters. A unit test holds these defaults to package.json's.
 */
import * as vscode from 'vscode';
import type { GroupBy } from '../core';

/** Each setting under `notebookSecrets.`, with the default package.json gives it. */
export const SETTINGS = {
  'view.groupBy': 'scope' as GroupBy,
  'server.url': '',
  'notebooks.autoEnable': true,
  redactOutputs: true,
  'server.allowInsecureHttp': false,
  'server.caFile': '',
  'clipboard.clearAfterSeconds': 45,
  'sync.intervalMinutes': 5,
};
export type SettingKey = keyof typeof SETTINGS;

/** The full id of a setting, as the Settings editor and messages name it. */
export const settingId = (key: SettingKey): string => `notebookSecrets.${key}`;

const section = () => vscode.workspace.getConfiguration('notebookSecrets');

/** The setting's effective value (user, workspace or folder), or its default. */
export function setting<K extends SettingKey>(key: K): (typeof SETTINGS)[K] {
  return section().get<(typeof SETTINGS)[K]>(key, SETTINGS[key]);
}

/**
 * The setting as the user's own settings have it, ignoring a workspace's or folder's value: for
 * settings a cloned repository must not be able to change for its reader.
 */
export function userSetting<K extends SettingKey>(key: K): (typeof SETTINGS)[K] {
  return section().inspect<(typeof SETTINGS)[K]>(key)?.globalValue ?? SETTINGS[key];
}

/** Saves a setting in the user's settings. */
export function updateUserSetting<K extends SettingKey>(
  key: K,
  value: (typeof SETTINGS)[K] | undefined,
): Thenable<void> {
  return section().update(key, value, vscode.ConfigurationTarget.Global);
}

/** Whether a configuration change touches the setting. */
export function affects(event: vscode.ConfigurationChangeEvent, key: SettingKey): boolean {
  return event.affectsConfiguration(settingId(key));
}
