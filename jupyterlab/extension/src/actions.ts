/**
 * What the panel's buttons and commands do. Errors of the server show as JupyterLab error
 * dialogs with the server's own message; a dismissed dialog ends an action quietly.
 */
import { Dialog, Notification, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import type { INotebookTracker } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';
import { formatBytes } from '../../../src/core/errors';
import { MAX_FILE_BYTES } from '../../../src/core/limits';
import type { Grant, Scope } from '../../../src/core/model';
import { scopeKey, SCOPE_LABELS } from '../../../src/core/scope';
import {
  deleteDetail,
  deleteQuestion,
  fileTooLargeMessage,
  nameFromFile,
  savedFileMessage,
  savedMessage,
} from '../../../src/core/viewText';
import { askAccess, askEdit, askFileSecret, askNewSecret, askSignIn } from './forms';
import { codeCells, type SecretsModel } from './model';
import type { PanelActions } from './panel';

/** Seconds before a copied value is cleared from the clipboard (when it still holds it). */
const CLIPBOARD_CLEAR_SECONDS = 45;

export function panelActions(model: SecretsModel, notebooks: INotebookTracker | null) {
  const { client } = model;

  async function run(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      await showErrorMessage(
        'Notebook Secrets',
        error instanceof Error ? error.message : String(error),
      );
    }
    await model.refresh();
  }

  /** Where a new secret may go: personal, and the projects and teams seen in the listing. */
  function scopes(): { value: string; label: string; scope: Scope }[] {
    const list: { value: string; label: string; scope: Scope }[] = [
      { value: 'personal', label: SCOPE_LABELS.personal, scope: { kind: 'personal' } },
    ];
    if (model.state?.store.kind !== 'server') return list;
    for (const s of model.secrets) {
      const key = scopeKey(s.scope);
      if (s.scope.kind !== 'personal' && !list.some((l) => l.value === key)) {
        list.push({
          value: key,
          label: `${SCOPE_LABELS[s.scope.kind]} ${s.scope.id}`,
          scope: s.scope,
        });
      }
    }
    return list;
  }

  const isTaken = (name: string, scope = 'personal') =>
    model.secrets.some((s) => s.name === name && !s.owner && scopeKey(s.scope) === scope);

  const where = () => {
    const store = model.state?.store;
    return store?.kind === 'server'
      ? `the team server at ${store.server}`
      : 'the OS keychain of the machine that runs Jupyter';
  };

  const actions: PanelActions = {
    newSecret: (name) =>
      void run(async () => {
        const answer = await askNewSecret({ ...(name && { name }), isTaken, scopes: scopes() });
        if (!answer) return;
        const secret = await client.create({ ...answer, encoding: 'text' });
        Notification.success(savedMessage(secret.name), { autoClose: 5000 });
      }),

    newFromFile: () =>
      void run(async () => {
        const file = await pickFile();
        if (!file) return;
        if (file.size > MAX_FILE_BYTES) throw new Error(fileTooLargeMessage(file.name, file.size));
        const answer = await askFileSecret({
          label: file.name,
          name: nameFromFile(file.name),
          isTaken,
        });
        if (!answer) return;
        const value = await base64Of(file);
        const secret = await client.create({
          name: answer.name,
          description: answer.description,
          value,
          encoding: 'base64',
          type: 'file',
        });
        Notification.success(savedFileMessage(file.name, secret.name), { autoClose: 5000 });
      }),

    edit: (secret) =>
      void run(async () => {
        const change = await askEdit(secret);
        if (!change || Object.keys(change).length === 0) return;
        await client.update({ id: secret.id, ...change });
        Notification.info(`Updated ${secret.name}.`, { autoClose: 3000 });
      }),

    reveal: (secret) =>
      void run(async () => {
        const { value, encoding } = await client.reveal(secret.id);
        const body = new Widget();
        body.addClass('jp-NotebookSecrets-reveal');
        const shown = document.createElement(encoding === 'base64' ? 'p' : 'pre');
        shown.textContent =
          encoding === 'base64'
            ? `A file of ${formatBytes(Math.floor((value.length * 3) / 4))}, stored base64.`
            : value;
        body.node.appendChild(shown);
        const result = await showDialog({
          title: secret.name,
          body,
          buttons: [
            Dialog.cancelButton({ label: 'Close' }),
            Dialog.okButton({ label: encoding === 'base64' ? 'Copy base64' : 'Copy' }),
          ],
        });
        if (result.button.accept) await copyText(secret.name, value);
      }),

    copy: (secret) =>
      void run(async () => {
        const { value } = await client.reveal(secret.id);
        await copyText(secret.name, value);
      }),

    share: (secret) =>
      void run(async () => {
        const current = await client.access(secret.id);
        const text = await askAccess(secret.name, current);
        if (text === undefined) return;
        await client.share({ id: secret.id, access: parseAccess(text) });
        Notification.info(`Saved who has ${secret.name}.`, { autoClose: 3000 });
      }),

    remove: (secret) =>
      void run(async () => {
        const result = await showDialog({
          title: deleteQuestion(secret.name),
          body: deleteDetail(secret.name, where()),
          buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })],
        });
        if (!result.button.accept) return;
        await client.delete(secret.id);
        Notification.info(`Deleted ${secret.name}.`, { autoClose: 3000 });
      }),

    insert: (secret) =>
      void run(async () => {
        const editor = notebooks?.activeCell?.editor;
        if (!editor) {
          throw new Error(
            "Open a notebook and place the cursor in a code cell where get_secret('NAME') should go.",
          );
        }
        const fn = secret.encoding === 'base64' ? 'get_secret_bytes' : 'get_secret';
        editor.replaceSelection?.(`${fn}('${secret.name}')`);
      }),

    signIn: () =>
      void run(async () => {
        const store = model.state?.store;
        const answer = await askSignIn(
          (store?.kind === 'server' ? store.server : store?.savedServer) ?? '',
        );
        if (!answer) return;
        await client.signIn(answer.server, answer.token);
        await model.refresh();
        const now = model.state?.store;
        Notification.success(
          `Signed in to ${answer.server}${now?.kind === 'server' && now.user ? ` as ${now.user}` : ''}.`,
          { autoClose: 5000 },
        );
      }),

    signOut: () =>
      void run(async () => {
        await client.signOut();
        Notification.info('Signed out of the team server.', { autoClose: 3000 });
      }),

    notebookAccess: () => void run(() => notebookAccess(model)),

    scanNotebook: () =>
      void run(async () => {
        const panel = notebooks?.currentWidget;
        if (!panel) throw new Error('Open a notebook to scan it.');
        const findings = await client.scan(
          codeCells(panel).map((c) => ({ number: c.number ?? 1, source: c.source })),
        );
        const body =
          findings.length === 0
            ? `No hard-coded keys found in ${panel.context.path}.`
            : findings
                .map((f) => `Cell ${f.cell}, line ${f.line}: ${f.rule} (${f.masked})`)
                .join('\n') +
              "\n\nMove each key into a secret (New) and read it with get_secret('NAME').";
        await showDialog({
          title: `Scan of ${panel.context.path}`,
          body,
          buttons: [Dialog.okButton({ label: 'Close' })],
        });
      }),

    refresh: () => void model.refresh(),
  };
  return actions;
}

/** Lists the "Always" grants; the checked ones are revoked. */
async function notebookAccess(model: SecretsModel): Promise<void> {
  const { grants, sessionDecisions } = await model.client.grants();
  if (grants.length === 0 && !sessionDecisions) {
    await showDialog({
      title: 'Notebook Access',
      body: 'No notebook has access to secrets yet. When a notebook asks, "Always for This Notebook" grants appear here to revoke.',
      buttons: [Dialog.okButton({ label: 'Close' })],
    });
    return;
  }
  const body = new Widget();
  body.addClass('jp-NotebookSecrets-access');
  const boxes: { box: HTMLInputElement; grant?: (typeof grants)[number] }[] = [];
  const add = (text: string, grant?: (typeof grants)[number]) => {
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    label.append(box, ` ${text}`);
    body.node.appendChild(label);
    boxes.push({ box, ...(grant && { grant }) });
  };
  for (const g of grants) {
    add(`${g.name} — ${g.label} (always allowed since ${g.grantedAt.slice(0, 10)})`, g);
  }
  add('Forget "Allow Once" and "Deny" answers of running kernels');
  const result = await showDialog({
    title: 'Notebook Access',
    body,
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Revoke' })],
  });
  if (!result.button.accept) return;
  const picked = boxes.filter((b) => b.box.checked);
  const revoke = picked.flatMap((b) => (b.grant ? [b.grant] : []));
  const forgetSessions = picked.some((b) => !b.grant);
  if (revoke.length === 0 && !forgetSessions) return;
  await model.client.revoke({
    grants: revoke.map((g) => ({ notebook: g.notebook, name: g.name })),
    forgetSessions,
  });
  Notification.info(
    revoke.length
      ? `Revoked ${revoke.length} grant${revoke.length === 1 ? '' : 's'}. Those notebooks will ask again.`
      : 'Running kernels will ask again.',
    { autoClose: 5000 },
  );
}

async function copyText(name: string, text: string): Promise<void> {
  await navigator.clipboard.writeText(text);
  Notification.info(
    `Copied ${name} to the clipboard. It will be cleared in ${CLIPBOARD_CLEAR_SECONDS} seconds.`,
    { autoClose: 5000 },
  );
  setTimeout(() => {
    void navigator.clipboard.readText().then(
      (current) => (current === text ? navigator.clipboard.writeText('') : undefined),
      () => undefined,
    );
  }, CLIPBOARD_CLEAR_SECONDS * 1000);
}

/** `user:alex owner` lines into grants; a wrong line is an error that names it. */
export function parseAccess(text: string): Grant[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const m = /^(user|team):(\S+)\s+(owner|reader)$/.exec(line);
      if (!m) {
        throw new Error(
          `"${line}" is not a grant. Write one per line: user:ID owner, user:ID reader, team:ID owner or team:ID reader.`,
        );
      }
      return {
        principal: { kind: m[1] as 'user' | 'team', id: m[2]! },
        role: m[3] as 'owner' | 'reader',
      };
    });
}

function pickFile(): Promise<File | undefined> {
  return new Promise((resolve) => {
    const input = document.createElement('input');
    input.type = 'file';
    input.addEventListener('change', () => resolve(input.files?.[0]));
    input.addEventListener('cancel', () => resolve(undefined));
    input.click();
  });
}

/** The file's bytes as base64, read in the browser's memory only. */
function base64Of(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve((reader.result as string).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(new Error(`Could not read ${file.name}.`));
    reader.readAsDataURL(file);
  });
}
