/**
 * The consent dialog: when a kernel's get_secret asks for a name, every open JupyterLab page of
 * that server asks "Allow the secret 'NAME'?", naming the notebook, with Allow Once / Always for This
 * Notebook / Deny, one question at a time. The first answer counts; the dialog closes in the other
 * pages, and when a question was answered elsewhere or timed out.
 */
import { Dialog } from '@jupyterlab/apputils';
import type { ConsentQuestion } from '../../../src/core/panelProtocol';
import { CONSENT_BUTTONS, consentDetail, consentQuestion } from '../../../src/core/viewText';
import type { SecretsModel } from './model';

const CHOICES = [
  { label: CONSENT_BUTTONS.deny, choice: 'deny' as const, kind: 'warn' as const },
  { label: CONSENT_BUTTONS.once, choice: 'once' as const, kind: 'ok' as const },
  { label: CONSENT_BUTTONS.always, choice: 'always' as const, kind: 'ok' as const },
];

export function followConsentQuestions(model: SecretsModel): void {
  const queue: ConsentQuestion[] = [];
  let showing: { question: ConsentQuestion; dialog: Dialog<unknown> } | undefined;

  const next = async (): Promise<void> => {
    if (showing) return;
    const question = queue.shift();
    if (!question) return;
    const dialog = new Dialog({
      title: 'Notebook Secrets',
      body: `${consentQuestion(question.name)}\n\n${consentDetail(
        question.label,
        question.name,
        'Notebook Access in the Secrets panel',
      )}`,
      buttons: CHOICES.map((c) =>
        c.kind === 'warn'
          ? Dialog.warnButton({ label: c.label })
          : Dialog.okButton({ label: c.label, displayType: 'default' }),
      ),
      defaultButton: 1,
      hasClose: true,
    });
    dialog.addClass('jp-NotebookSecrets-consent');
    dialog.node.dataset.secret = question.name;
    showing = { question, dialog };
    const result = await dialog.launch();
    showing = undefined;
    const picked = CHOICES.find((c) => c.label === result.button.label && result.button.accept);
    // A dialog closed because the question went away was answered elsewhere: say nothing.
    if (!dialog.node.dataset.closedByServer) {
      await model.client.answer(question.id, picked?.choice ?? null).catch(() => undefined);
    }
    dialog.dispose();
    await next();
  };

  model.questionsChanged.connect((_, questions) => {
    const open = new Set(questions.map((q) => q.id));
    for (let i = queue.length - 1; i >= 0; i--) if (!open.has(queue[i]!.id)) queue.splice(i, 1);
    for (const q of questions) {
      if (showing?.question.id !== q.id && !queue.some((x) => x.id === q.id)) queue.push(q);
    }
    if (showing && !open.has(showing.question.id)) {
      showing.dialog.node.dataset.closedByServer = 'true';
      showing.dialog.reject();
    }
    void next();
  });
}
