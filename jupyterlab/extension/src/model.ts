/**
 * What the Secrets panel shows: the state of the bridge (where secrets live, their metadata, the
 * kernels with get_secret), the filter, and the active notebook's needs. Never a value.
 * It follows the server's events with a long poll and asks consent questions as they come.
 */
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';
import { cellLanguage, findNeededSecrets, type CodeCell } from '../../../src/core/neededSecrets';
import type { PanelSecret, PanelState } from '../../../src/core/panelProtocol';
import { resolveByPrecedence } from '../../../src/core/scope';
import type { NeededItem } from '../../../src/core/viewText';
import { PanelClient, type PanelEvents } from './client';

/** Rescans this long after the last edit of a cell. */
const RESCAN_MS = 400;

export interface NotebookNeeds {
  /** The notebook's path, as the user sees it. */
  label: string;
  secrets: NeededItem[];
}

export class SecretsModel {
  readonly changed = new Signal<this, void>(this);
  /** Questions to ask; the consent dialogs follow this list. */
  readonly questionsChanged = new Signal<this, PanelEvents['questions']>(this);
  state: PanelState | undefined;
  error: string | undefined;
  /** The bridge's trouble (not running, restarting), when it has some. */
  problem: string | null = null;
  filter = '';
  kernels: string[] = [];
  /** Resolves once the first state has loaded (or failed to). */
  readonly loaded: Promise<void>;
  private markLoaded: () => void = () => undefined;
  private seq = -1;
  private disposed = false;
  private scanTimer: ReturnType<typeof setTimeout> | undefined;
  private needsCache: { panel: NotebookPanel; needs: NotebookNeeds } | undefined;

  constructor(
    readonly client: PanelClient,
    private readonly notebooks: INotebookTracker | null,
  ) {
    this.loaded = new Promise((resolve) => (this.markLoaded = resolve));
    notebooks?.currentChanged.connect(() => this.rescan(), this);
    notebooks?.widgetAdded.connect((_, panel) => {
      panel.content.modelContentChanged.connect(() => {
        if (panel === this.notebooks?.currentWidget) this.rescanLater();
      });
    });
  }

  /** Loads the state, then follows events until disposed. */
  start(): void {
    void this.refresh();
    void this.follow();
  }

  async refresh(): Promise<void> {
    try {
      this.state = await this.client.state();
      this.kernels = this.state.kernels;
      this.error = undefined;
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
    }
    this.markLoaded();
    this.changed.emit();
  }

  private async follow(): Promise<void> {
    while (!this.disposed) {
      try {
        const events = await this.client.events(this.seq);
        const first = this.seq === -1;
        if (events.seq !== this.seq) {
          this.seq = events.seq;
          this.problem = events.problem;
          this.kernels = events.kernels;
          this.questionsChanged.emit(events.questions);
          if (!first) await this.refresh();
          else this.changed.emit();
        }
      } catch {
        // The server restarts or the network blips: wait a little and ask again.
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
  }

  setFilter(text: string): void {
    this.filter = text;
    this.changed.emit();
  }

  get secrets(): PanelSecret[] {
    return this.state?.secrets ?? [];
  }

  /** The project get_secret resolves in, when signed in with one. */
  get project(): string | undefined {
    const store = this.state?.store;
    return store?.kind === 'server' ? store.project : undefined;
  }

  /** Present when get_secret would find it, by the documented precedence. */
  isPresent(name: string): boolean {
    const project = this.project;
    return (
      resolveByPrecedence(this.secrets, name, project ? { project } : {}, (s) => s.owner) !==
      undefined
    );
  }

  /** The active notebook's needs, or undefined when no notebook asks for a secret. */
  needs(): NotebookNeeds | undefined {
    const panel = this.notebooks?.currentWidget;
    if (!panel?.content.model) return undefined;
    return this.needsOf(panel);
  }

  /** A notebook's needs, each present or missing. */
  needsOf(panel: NotebookPanel): NotebookNeeds {
    if (this.needsCache?.panel !== panel) this.needsCache = { panel, needs: scan(panel) };
    const { needs } = this.needsCache;
    return {
      label: needs.label,
      secrets: needs.secrets.map((s) => ({ ...s, present: this.isPresent(s.name) })),
    };
  }

  /** The kernel of the active notebook, and whether it has get_secret now. */
  currentKernel(): { id: string; ready: boolean } | undefined {
    const kernel = this.notebooks?.currentWidget?.sessionContext.session?.kernel;
    return kernel ? { id: kernel.id, ready: this.kernels.includes(kernel.id) } : undefined;
  }

  rescan(): void {
    this.needsCache = undefined;
    this.changed.emit();
  }

  private rescanLater(): void {
    if (this.scanTimer) clearTimeout(this.scanTimer);
    this.scanTimer = setTimeout(() => this.rescan(), RESCAN_MS);
  }

  dispose(): void {
    this.disposed = true;
    Signal.clearData(this);
  }
}

/** The code cells of a notebook, in its kernel's language (Python when it names none). */
export function codeCells(panel: NotebookPanel): CodeCell[] {
  const model = panel.content.model;
  if (!model) return [];
  const info = model.getMetadata('language_info') as { name?: string } | undefined;
  const spec = model.getMetadata('kernelspec') as { language?: string } | undefined;
  const language = cellLanguage(info?.name ?? spec?.language) ?? 'python';
  const cells: CodeCell[] = [];
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type === 'code')
      cells.push({ source: cell.sharedModel.getSource(), language, number: i + 1 });
  }
  return cells;
}

function scan(panel: NotebookPanel): NotebookNeeds {
  return {
    label: panel.context.path,
    secrets: findNeededSecrets(codeCells(panel)).map((n) => ({ ...n, present: false })),
  };
}
