/**
 * A notebook's choices in VS Code (core/notebookChoices.ts): read from and written to the open
 * notebook's metadata (`metadata.notebook_secrets` of the .ipynb, names and flags only), so they
 * are saved with it and travel with the file, to `notebook-secrets run --kernels`, `attach` and
 * teammates. Also asks the one question: "This notebook reads keys the Colab way; serve them from
 * Notebook Secrets?", when such a notebook is opened (a notification) or, if it was not answered
 * then, when such a cell first runs (a modal, while the cell waits).
 */
import * as vscode from 'vscode';
import type { KernelSession } from '../../broker/kernelSessions';
import type { NotebookChoiceSource } from '../../broker/kernelSetup';
import {
  readNotebookChoices,
  withNotebookChoices,
  type NotebookChoices,
} from '../../core/notebookChoices';
import { FORM_LABELS, type PlatformForm } from '../../core/secretReads';

const SERVE = 'Serve Them';
const LEAVE = 'Leave Them';
const PORT = 'Port This Notebook…';

/** The choices of a kernel whose notebook is not open here (a remote Jupyter server's). */
export type RemoteChoices = (session: KernelSession) => Promise<NotebookChoices> | undefined;

export class NotebookChoiceStore implements NotebookChoiceSource {
  /** Answers for notebooks that are not open here (remote kernels), while VS Code runs. */
  private readonly remembered = new Map<string, boolean>();
  /** Notebooks whose question was shown on opening in this session. */
  private readonly offered = new Set<string>();

  private remote: RemoteChoices | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** Where the choices of remote kernels come from (the Jupyter servers added here). */
  useRemote(remote: RemoteChoices): void {
    this.remote = remote;
  }

  /** The open notebook a kernel session is for, by its URI. */
  document(key: string): vscode.NotebookDocument | undefined {
    return vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === key);
  }

  /** The choices of an open notebook. */
  of(notebook: vscode.NotebookDocument): NotebookChoices {
    return readNotebookChoices(ipynbMetadata(notebook));
  }

  async choices(session: KernelSession): Promise<NotebookChoices> {
    const doc = this.document(session.notebook);
    const found = doc ? this.of(doc) : ((await this.remote?.(session)) ?? { environment: [] });
    const remembered = this.remembered.get(session.notebook);
    return remembered === undefined ? found : { ...found, servePlatformCalls: remembered };
  }

  async askServe(session: KernelSession, platforms: PlatformForm[]): Promise<boolean | undefined> {
    const picked = await vscode.window.showWarningMessage(
      question(session.label, platforms),
      { modal: true, detail: explanation(platforms) },
      SERVE,
      LEAVE,
    );
    const serve = picked === SERVE ? true : picked === LEAVE ? false : undefined;
    if (serve !== undefined) await this.record(session.notebook, serve);
    return serve;
  }

  /** On opening a notebook with such calls and no choice yet: the question, once a session. */
  offer(notebook: vscode.NotebookDocument, platforms: PlatformForm[]): void {
    const key = notebook.uri.toString();
    if (platforms.length === 0 || this.offered.has(key)) return;
    if (this.of(notebook).servePlatformCalls !== undefined) return;
    this.offered.add(key);
    const label = vscode.workspace.asRelativePath(notebook.uri, false);
    void vscode.window
      .showInformationMessage(
        `${question(label, platforms)} ${explanation(platforms)}`,
        SERVE,
        PORT,
        LEAVE,
      )
      .then(async (picked) => {
        if (picked === PORT) {
          await vscode.commands.executeCommand('notebookSecrets.portNotebook', notebook.uri);
        } else if (picked === SERVE || picked === LEAVE) {
          // A cell that ran meanwhile may have asked and been answered: the first answer stands.
          if (this.of(notebook).servePlatformCalls === undefined) {
            await this.record(key, picked === SERVE);
          }
        }
      });
  }

  /** Writes whether to serve other platforms' calls into the notebook's metadata. */
  async record(key: string, serve: boolean): Promise<void> {
    const doc = this.document(key);
    if (!doc) {
      this.remembered.set(key, serve);
      return;
    }
    await this.write(doc, { ...this.of(doc), servePlatformCalls: serve });
    this.log.info(
      `${vscode.workspace.asRelativePath(doc.uri, false)}: other platforms' secret calls ${serve ? 'served' : 'left as they are'} (saved in its metadata)`,
    );
  }

  /** Writes the names of the notebook's environment into its metadata. */
  async setEnvironment(doc: vscode.NotebookDocument, names: string[]): Promise<void> {
    await this.write(doc, { ...this.of(doc), environment: names });
  }

  private async write(doc: vscode.NotebookDocument, choices: NotebookChoices): Promise<void> {
    const edit = new vscode.WorkspaceEdit();
    edit.set(doc.uri, [
      vscode.NotebookEdit.updateNotebookMetadata({
        ...doc.metadata,
        metadata: withNotebookChoices(ipynbMetadata(doc), choices),
      }),
    ]);
    if (!(await vscode.workspace.applyEdit(edit))) {
      throw new Error(`Could not change the metadata of ${doc.uri.path.split('/').pop()}.`);
    }
  }
}

/** The .ipynb's top-level metadata, as VS Code's ipynb serializer keeps it. */
function ipynbMetadata(doc: vscode.NotebookDocument): Record<string, unknown> | undefined {
  const metadata = (doc.metadata as { metadata?: unknown } | undefined)?.metadata;
  return metadata && typeof metadata === 'object'
    ? (metadata as Record<string, unknown>)
    : undefined;
}

function platformList(platforms: readonly PlatformForm[]): string {
  const names = platforms.map((p) => FORM_LABELS[p]);
  const list =
    names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)!}` : names[0]!;
  return `the ${list} way${names.length > 1 ? 's' : ''}`;
}

function question(label: string, platforms: readonly PlatformForm[]): string {
  return `${label} reads keys ${platformList(platforms)}; serve them from Notebook Secrets?`;
}

function explanation(platforms: readonly PlatformForm[]): string {
  const colab = platforms.includes('colab')
    ? ' No google.colab module is made up, so libraries do not think they run in Colab.'
    : '';
  return `Its cells stay as they are; each key is read from your secrets, asking first as get_secret does. The choice is saved in the notebook.${colab}`;
}
