/**
 * Notebook Secrets for JupyterLab: the Secrets panel in the left sidebar, the consent dialog, and
 * commands in the palette. Secrets live on the Jupyter server's side (the team server, or the OS
 * keychain of the machine that runs Jupyter); this page only shows their metadata, and a value
 * only in Reveal's dialog or the clipboard after Copy. Nothing is written to the browser's storage.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { INotebookTracker, type NotebookPanel } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';
import { missingSecretsMessage } from '../../../src/core/viewText';
import { panelActions } from './actions';
import { PanelClient } from './client';
import { followConsentQuestions } from './consent';
import { SecretsModel } from './model';
import { SecretsPanel } from './panel';
import '../style/index.css';

const keyIcon = new LabIcon({
  name: 'notebook-secrets:key',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16"><path class="jp-icon3" fill="#616161" d="M7 14a2 2 0 1 1 0-4 2 2 0 0 1 0 4zm5.65-4A6 6 0 1 0 12.65 14H16v3h3v-3h2v-4z"/></svg>',
});

const COMMANDS = {
  open: 'notebook-secrets:open',
  newSecret: 'notebook-secrets:new',
  newFromFile: 'notebook-secrets:new-from-file',
  signIn: 'notebook-secrets:sign-in',
  signOut: 'notebook-secrets:sign-out',
  access: 'notebook-secrets:notebook-access',
  scan: 'notebook-secrets:scan-notebook',
  refresh: 'notebook-secrets:refresh',
} as const;

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'notebook-secrets-jupyterlab:plugin',
  description: 'A Secrets panel, and consent for get_secret in kernels.',
  autoStart: true,
  optional: [INotebookTracker, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker | null,
    palette: ICommandPalette | null,
  ) => {
    const model = new SecretsModel(new PanelClient(app.serviceManager.serverSettings), notebooks);
    const actions = panelActions(model, notebooks);
    const panel = new SecretsPanel(model, actions);
    panel.title.icon = keyIcon;
    app.shell.add(panel, 'left', { rank: 600 });
    followConsentQuestions(model);
    if (notebooks) followKernels(model, notebooks, (name) => actions.newSecret(name));
    model.start();

    const add = (id: string, label: string, execute: () => void) => {
      app.commands.addCommand(id, { label, execute });
      palette?.addItem({ command: id, category: 'Notebook Secrets' });
    };
    add(COMMANDS.open, 'Show Secrets Panel', () => app.shell.activateById(panel.id));
    add(COMMANDS.newSecret, 'New Secret…', () => actions.newSecret());
    add(COMMANDS.newFromFile, 'New Secret from File…', () => actions.newFromFile());
    add(COMMANDS.signIn, 'Sign in to Team Server…', () => actions.signIn());
    add(COMMANDS.signOut, 'Sign Out of Team Server', () => actions.signOut());
    add(COMMANDS.access, 'Notebook Access…', () => actions.notebookAccess());
    add(COMMANDS.scan, 'Scan Notebook for Secrets', () => actions.scanNotebook());
    add(COMMANDS.refresh, 'Refresh Secrets', () => actions.refresh());
  },
};

/**
 * As a notebook's kernel starts or restarts, asks the server to set up get_secret in it now
 * (rather than at its next look for kernels), and tells once when the notebook lacks secrets.
 */
function followKernels(
  model: SecretsModel,
  notebooks: INotebookTracker,
  addSecret: (name: string) => void,
): void {
  const told = new Set<string>();
  const asked = new Set<string>();
  const ask = (panel: NotebookPanel) => {
    const kernel = panel.sessionContext.session?.kernel;
    if (!kernel || kernel.status !== 'idle') return;
    if (asked.has(kernel.id)) return;
    asked.add(kernel.id);
    void model.client.kernelReady(kernel.id).then(
      () => model.refresh(),
      () => asked.delete(kernel.id),
    );
  };
  notebooks.widgetAdded.connect((_, panel) => {
    panel.sessionContext.statusChanged.connect((_, status) => {
      if (status === 'restarting' || status === 'autorestarting') {
        const id = panel.sessionContext.session?.kernel?.id;
        if (id) asked.delete(id);
      }
      ask(panel);
      model.rescan();
    });
    panel.sessionContext.kernelChanged.connect(() => model.rescan());
    void Promise.all([panel.context.ready, model.loaded]).then(() => {
      const path = panel.context.path;
      const missing = model
        .needsOf(panel)
        .secrets.filter((s) => !s.present)
        .map((s) => s.name);
      if (missing.length === 0 || told.has(path)) return;
      told.add(path);
      Notification.warning(missingSecretsMessage(path, missing), {
        autoClose: false,
        actions: [{ label: 'Add…', callback: () => addSecret(missing[0]!) }],
      });
    });
  });
}

export default plugin;
