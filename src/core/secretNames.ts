/**
 * The rule for names that say they hold a key. Kept apart from the scanner's rule set
 * (secretRules.ts, which brings secretlint and Node's Buffer) so the needed-secrets scanner, which
 * runs in the VS Code view and in the JupyterLab panel in the browser, stays free of both.
 */

/**
 * A name that says it holds a key: it ends in KEY (API_KEY, ACCESS_KEY, …), TOKEN, SECRET,
 * PASSWORD, PASSWD or PWD, or is KEY. The leak guard flags strings assigned to such names; the
 * needed-secrets scanner counts environment reads of them.
 */
export const SECRET_NAME =
  '(?:[A-Za-z_][A-Za-z0-9_]*?)?(?:(?:API|ACCESS|SECRET|PRIVATE|AUTH|CLIENT|APP|MASTER|SIGNING|ENCRYPTION)_?KEY|APIKEY|TOKEN|SECRET|PASSWORD|PASSWD|PWD)|KEY';
const SECRET_NAME_ALONE = new RegExp(`^(?:${SECRET_NAME})$`, 'i');

/** Whether `name` says it holds a key, by the leak guard's rule (`OPENAI_API_KEY`, `HF_TOKEN`). */
export function looksLikeSecretName(name: string): boolean {
  return SECRET_NAME_ALONE.test(name);
}
