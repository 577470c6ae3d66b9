/**
 * The consent dialog: a modal with Allow Once / Always for This Notebook / Deny, one at a time; for
 * a notebook's environment, one dialog listing every name.
 */
import * as vscode from 'vscode';
import type { ConsentChoice, ConsentRequest } from '../../broker/consent';

const ALLOW_ONCE = 'Allow Once';
const ALWAYS = 'Always for This Notebook';
const DENY = 'Deny';

export function createConsentPrompt(): (
  request: ConsentRequest,
) => Promise<ConsentChoice | undefined> {
  // Several names asked at once would stack modals; ask one after another instead.
  let chain: Promise<unknown> = Promise.resolve();
  return (request) => {
    const asked = chain.then(() => ask(request));
    chain = asked.catch(() => undefined);
    return asked;
  };
}

async function ask(request: ConsentRequest): Promise<ConsentChoice | undefined> {
  const names = request.names?.map((n) => `'${n}'`).join(', ');
  const picked = await vscode.window.showWarningMessage(
    names
      ? `${request.label} asks for ${request.names!.length === 1 ? 'the secret' : 'the secrets'} ${names} in its kernel's environment.`
      : `${request.label} asks for the secret '${request.name}'.`,
    {
      modal: true,
      detail: names
        ? `The notebook lists ${names} for its kernel's environment (os.environ), where libraries such as OpenAI(), anthropic and boto3 read keys. ` +
          'Shell commands (!cmd) do not see them unless a cell calls shell_environment(True); code that starts processes itself passes them on.\n\n' +
          'Allow Once: for this kernel session (until it restarts).\n' +
          'Always for This Notebook: remembered; revoke it with "Notebook Secrets: Manage Notebook Access", which also takes the names out of the environment before the next cell.\n' +
          'Deny: the names stay out of the environment.'
        : `Code running in this notebook's kernel called get_secret('${request.name}').\n\n` +
          'Allow Once: for this kernel session (until it restarts).\n' +
          'Always for This Notebook: remembered; revoke it with "Notebook Secrets: Manage Notebook Access".\n' +
          'Deny: the cell gets SecretAccessError.',
    },
    ALLOW_ONCE,
    ALWAYS,
    DENY,
  );
  switch (picked) {
    case ALLOW_ONCE:
      return 'once';
    case ALWAYS:
      return 'always';
    case DENY:
      return 'deny';
    default:
      return undefined;
  }
}
