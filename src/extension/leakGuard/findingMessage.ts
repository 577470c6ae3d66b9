/** The warning for a scanner finding: the rule and a masked prefix, or a secret's name; never a value. */
import type { SecretFinding } from '../../core/secretScan';
import { suggestSecretName } from '../../core/secretScan';

export function findingMessage(f: SecretFinding, inOutput = false): string {
  if (inOutput) {
    return f.secret
      ? `An output shows the value of your secret ${f.secret}. Clear that output.`
      : `An output shows a ${f.title} (${f.masked}). Clear that output; if it was shared, replace the key.`;
  }
  return f.secret
    ? `The value of your secret ${f.secret} is written here. Replace it with get_secret('${f.secret}').`
    : `Hard-coded ${f.title} (${f.masked}). Move it into Notebook Secrets and read it with get_secret('${suggestSecretName(f.variable)}').`;
}
