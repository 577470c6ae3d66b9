/**
 * `notebookSecrets.redactOutputs` as the user set it. Only the user's own settings can turn the
 * redaction of served values off: a workspace's or folder's `.vscode/settings.json` comes with the
 * repository, and would otherwise turn it off for whoever opens it. package.json scopes the
 * setting to the application, so VS Code leaves such values out itself (and says so in the
 * Settings editor); reading the user's value alone holds the line whatever a workspace holds.
 */
import { userSetting } from '../settings';

export function redactOutputs(): boolean {
  return userSetting('redactOutputs') !== false;
}
