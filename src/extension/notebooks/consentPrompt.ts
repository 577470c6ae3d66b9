/** The consent dialog: a modal with Allow Once / Always for This Notebook / Deny, one at a time. */
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
  // The name first: the label may come from a Jupyter server (a session path) and must not be
  // able to read as the question (it has no control characters: see KernelSessions).
  const picked = await vscode.window.showWarningMessage(
    consentQuestion(request.name),
    {
      modal: true,
      detail: consentDetail(
        request.label,
        request.name,
        '"Notebook Secrets: Manage Notebook Access"',
      ),
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
