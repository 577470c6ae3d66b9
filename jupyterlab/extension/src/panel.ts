/**
 * The Secrets panel in JupyterLab's left sidebar: the same groups as VS Code's view (This
 * Notebook with present and missing names and Add…, then Personal, Project and Team, with
 * someone else's secret marked "shared by …"), the filter, and an action on each row.
 */
import { Widget } from '@lumino/widgets';
import { filterSecrets, groupSecrets } from '../../../src/core/filter';
import type { PanelSecret } from '../../../src/core/panelProtocol';
import {
  neededDescription,
  neededTooltip,
  notebookGroupDescription,
  notebookGroupTooltip,
  secretNotes,
  THIS_NOTEBOOK,
} from '../../../src/core/viewText';
import type { SecretsModel } from './model';

/** What the rows' and the toolbar's buttons run. */
export interface PanelActions {
  newSecret(name?: string): void;
  newFromFile(): void;
  edit(secret: PanelSecret): void;
  reveal(secret: PanelSecret): void;
  copy(secret: PanelSecret): void;
  share(secret: PanelSecret): void;
  remove(secret: PanelSecret): void;
  insert(secret: PanelSecret): void;
  signIn(): void;
  signOut(): void;
  notebookAccess(): void;
  scanNotebook(): void;
  refresh(): void;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(label: string, title: string, run: () => void): HTMLButtonElement {
  const b = el('button', 'jp-NotebookSecrets-button jp-mod-styled', label);
  b.title = title;
  b.setAttribute('aria-label', title);
  b.addEventListener('click', (event) => {
    event.stopPropagation();
    run();
  });
  return b;
}

export class SecretsPanel extends Widget {
  private readonly toolbar = el('div', 'jp-NotebookSecrets-toolbar');
  private readonly filterInput = el('input', 'jp-NotebookSecrets-filter jp-mod-styled');
  private readonly storeLine = el('div', 'jp-NotebookSecrets-store');
  private readonly kernelLine = el('div', 'jp-NotebookSecrets-kernel');
  private readonly body = el('div', 'jp-NotebookSecrets-body');

  constructor(
    private readonly model: SecretsModel,
    private readonly actions: PanelActions,
  ) {
    super();
    this.id = 'notebook-secrets-panel';
    this.addClass('jp-NotebookSecrets');
    this.title.caption = 'Secrets';
    this.filterInput.placeholder = 'Filter by name or description';
    this.filterInput.setAttribute('aria-label', 'Filter secrets');
    this.filterInput.addEventListener('input', () => model.setFilter(this.filterInput.value));
    const header = el('div', 'jp-NotebookSecrets-header', 'Secrets');
    this.node.append(header, this.toolbar, this.filterInput, this.storeLine, this.kernelLine);
    this.node.append(this.body);
    model.changed.connect(() => this.render(), this);
    this.render();
  }

  private render(): void {
    const { model, actions } = this;
    const store = model.state?.store;
    this.toolbar.replaceChildren(
      button('New', 'New Secret…', () => actions.newSecret()),
      button('From File', 'New Secret from File…', () => actions.newFromFile()),
      button('Refresh', 'Refresh Secrets', () => actions.refresh()),
      store?.kind === 'server'
        ? button('Sign Out', 'Sign Out of Team Server', () => actions.signOut())
        : button('Sign In', 'Sign in to Team Server…', () => actions.signIn()),
      button('Access', 'Notebook Access…', () => actions.notebookAccess()),
    );
    this.storeLine.textContent =
      model.error ??
      model.problem ??
      (store?.kind === 'server'
        ? `Team server ${store.server}${store.user ? ` as ${store.user}` : ''}${store.project ? ` · project ${store.project}` : ''}`
        : store?.kind === 'keychain'
          ? 'Kept in the OS keychain of the machine that runs Jupyter'
          : (store?.message ?? 'Loading…'));
    this.storeLine.classList.toggle(
      'jp-mod-warning',
      Boolean(model.error || model.problem || store?.kind === 'unavailable'),
    );
    const kernel = model.currentKernel();
    this.kernelLine.textContent = kernel
      ? kernel.ready
        ? "get_secret is ready in this notebook's kernel"
        : "Setting up get_secret in this notebook's kernel…"
      : '';
    this.kernelLine.dataset.ready = kernel?.ready ? 'true' : 'false';

    const groups: HTMLElement[] = [];
    const needs = model.needs();
    if (needs && needs.secrets.length > 0) {
      const rows = needs.secrets.map((needed) => {
        const row = el('li', 'jp-NotebookSecrets-row jp-NotebookSecrets-needed');
        row.dataset.name = needed.name;
        row.dataset.present = String(needed.present);
        row.title = neededTooltip(needed);
        row.append(
          el('span', 'jp-NotebookSecrets-name', needed.name),
          el('span', 'jp-NotebookSecrets-notes', neededDescription(needed)),
        );
        if (!needed.present) {
          row.append(button('Add…', `Add ${needed.name}`, () => actions.newSecret(needed.name)));
        }
        return row;
      });
      const group = this.group(
        THIS_NOTEBOOK,
        notebookGroupDescription(needs.label, needs.secrets),
        rows,
      );
      group.title = notebookGroupTooltip(needs.label);
      group.append(button('Scan', 'Scan Notebook for Secrets', () => actions.scanNotebook()));
      groups.push(group);
    }
    const shown = filterSecrets(model.secrets, { query: model.filter });
    for (const g of groupSecrets(shown, 'scope')) {
      groups.push(
        this.group(
          g.label,
          String(g.items.length),
          g.items.map((s) => this.row(s)),
        ),
      );
    }
    if (model.state && model.secrets.length === 0) {
      groups.push(
        el(
          'p',
          'jp-NotebookSecrets-empty',
          "No secrets yet. Keep API keys, passwords and key files here instead of in your notebooks, then read them in a cell with get_secret('NAME').",
        ),
      );
    } else if (model.state && shown.length === 0) {
      groups.push(el('p', 'jp-NotebookSecrets-empty', 'No secret matches the filter.'));
    }
    this.body.replaceChildren(...groups);
  }

  private group(label: string, description: string, rows: HTMLElement[]): HTMLElement {
    const section = el('section', 'jp-NotebookSecrets-group');
    section.dataset.group = label;
    const heading = el('h3', 'jp-NotebookSecrets-groupTitle', label);
    heading.append(el('span', 'jp-NotebookSecrets-notes', ` ${description}`));
    const list = el('ul', 'jp-NotebookSecrets-list');
    list.append(...rows);
    section.append(heading, list);
    return section;
  }

  private row(secret: PanelSecret): HTMLElement {
    const { actions } = this;
    const row = el('li', 'jp-NotebookSecrets-row');
    row.dataset.secret = secret.name;
    row.title = secret.description || secret.name;
    const readonly = secret.role === 'reader';
    const server = this.model.state?.store.kind === 'server';
    row.append(
      el('span', 'jp-NotebookSecrets-name', secret.name),
      el('span', 'jp-NotebookSecrets-notes', secretNotes(secret, { owner: secret.owner })),
    );
    const tools = el('span', 'jp-NotebookSecrets-tools');
    tools.append(
      button('Reveal', `Reveal ${secret.name}`, () => actions.reveal(secret)),
      button('Copy', `Copy ${secret.name}`, () => actions.copy(secret)),
      button('Insert', `Insert get_secret('${secret.name}')`, () => actions.insert(secret)),
    );
    if (!readonly) {
      tools.append(button('Edit', `Edit ${secret.name}`, () => actions.edit(secret)));
      if (server)
        tools.append(button('Share', `Share ${secret.name}`, () => actions.share(secret)));
      tools.append(button('Delete', `Delete ${secret.name}`, () => actions.remove(secret)));
    }
    row.append(tools);
    return row;
  }

  override dispose(): void {
    this.model.changed.disconnect(this.render, this);
    super.dispose();
  }
}
