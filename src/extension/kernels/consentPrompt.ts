/**
 * The consent dialog: a modal with Allow Once / Always for This Notebook / Deny, one at a time; for
 * a notebook's environment, one dialog listing every name.
 */
import * as vscode from 'vscode';
import type { ConsentChoice, ConsentRequest } from '../../broker/consent';
import { CONSENT_BUTTONS, consentDetail, consentQuestion } from '../../core/viewText';

const { once: ALLOW_ONCE, always: ALWAYS, deny: DENY } = CONSENT_BUTTONS;

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
  // The names first: the label may come from a Jupyter server (a session path) and must not be
  // able to read as the question (it has no control characters: see KernelSessions).
  const names = request.names?.map((n) => `'${n}'`).join(', ');
  const picked = await vscode.window.showWarningMessage(
    names
      ? `Allow ${request.names!.length === 1 ? 'the secret' : 'the secrets'} ${names} in the kernel's environment?`
      : consentQuestion(request.name),
    {
      modal: true,
      detail: names
        ? `Asked by ${request.label}.\n\n` +
          `The notebook lists ${names} for its kernel's environment (os.environ), where libraries such as OpenAI(), anthropic and boto3 read keys. ` +
          'Shell commands (!cmd) do not see them unless a cell calls shell_environment(True); code that starts processes itself passes them on.\n\n' +
          'Allow Once: for this kernel session (until it restarts).\n' +
          'Always for This Notebook: remembered; revoke it with "Notebook Secrets: Manage Notebook Access", which also takes the names out of the environment before the next cell.\n' +
          'Deny: the names stay out of the environment.'
        : consentDetail(request.label, request.name, '"Notebook Secrets: Manage Notebook Access"'),
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
