// The notebook editor as a person uses it in the workbench: open a notebook by Quick Open, see the
// selected kernel, click toolbar actions, run cells and read what their outputs show (outputs are
// rendered in the notebook's webview, an iframe inside an iframe).
import { writeFileSync } from 'node:fs';
import type { FrameLocator, Locator, Page } from 'playwright-core';

const TIMEOUT = 30_000;

export class NotebookView {
  readonly editor: Locator;
  readonly toolbar: Locator;

  constructor(readonly page: Page) {
    this.editor = page.locator('.notebook-editor');
    this.toolbar = this.editor.locator('.notebook-toolbar-container');
  }

  /** Opens a workspace file through Quick Open (Ctrl+P) and waits for the notebook editor. */
  async open(fileName: string): Promise<void> {
    const quickInput = this.page.locator('.quick-input-widget');
    const input = quickInput.locator('input.input');
    await this.page.locator('.monaco-workbench').click({ position: { x: 640, y: 5 } });
    for (let i = 0; i < 5 && !(await quickInput.isVisible()); i++) {
      await this.page.keyboard.press('Control+P');
      await quickInput.waitFor({ timeout: 2000 }).catch(() => undefined);
    }
    await input.fill(fileName);
    await quickInput
      .locator('.quick-input-list .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: fileName }) })
      .first()
      .click();
    await this.editor.locator('.cell-list-container').waitFor({ timeout: TIMEOUT });
  }

  /** The toolbar's kernel button once it names `label` (the selected controller). */
  kernel(label: string): Locator {
    return this.toolbar.locator('.kernel-label', { hasText: label });
  }

  /** A button of the notebook's toolbar, by its accessible label ("Run All"). */
  toolbarAction(label: string): Locator {
    return this.toolbar.locator(`.action-label[aria-label^="${label}"]`);
  }

  /** Clicks a toolbar action, first opening the toolbar's overflow menu if it was moved there. */
  async clickToolbarAction(label: string): Promise<void> {
    const action = this.toolbarAction(label).first();
    if (await action.isVisible()) {
      await action.click();
      return;
    }
    await this.toolbar.locator('.action-label[aria-label="More Actions..."]').first().click();
    await this.page
      .locator('.context-view .monaco-menu .action-label', { hasText: label })
      .first()
      .click();
  }

  /** The code cells, top to bottom. */
  cells(): Locator {
    return this.editor.locator('.cell-list-container .code-cell-row');
  }

  /** Runs one cell with the run button left of it (shown on hover). */
  async runCell(index: number): Promise<void> {
    const cell = this.cells().nth(index);
    await cell.hover();
    await cell.locator('.run-button-container .action-label').first().click();
  }

  /**
   * Runs the first code cell whose source contains `text`, scrolling the notebook down to it first
   * (the editor renders only the cells on screen).
   */
  async runCellWith(text: string): Promise<void> {
    const cell = this.cells().filter({ hasText: text }).first();
    const list = this.editor.locator('.cell-list-container');
    // The notebook scrolls its own list (not the page): wheel until the cell is wholly on screen.
    for (let i = 0; i < 40; i++) {
      const [box, view] = await Promise.all([
        cell.boundingBox({ timeout: 500 }).catch(() => null),
        list.boundingBox(),
      ]);
      if (box && view && box.y >= view.y && box.y + box.height <= view.y + view.height) break;
      await list.hover({ position: { x: 20, y: 20 } });
      await this.page.mouse.wheel(0, box && view && box.y < view.y ? -200 : 200);
      await cell.waitFor({ timeout: 300 }).catch(() => undefined);
    }
    await cell.hover();
    await cell.locator('.run-button-container .action-label').first().click();
  }

  /** The webview frame that renders every output of the notebook. */
  outputFrame(): FrameLocator {
    return this.editor.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
  }

  /** The first rendered output that contains `text`. */
  output(text: string | RegExp): Locator {
    return this.outputFrame().locator('.output', { hasText: text }).first();
  }

  /** Waits until an output contains `text` and returns that output's text. */
  async waitForOutput(text: string | RegExp): Promise<string> {
    const output = this.output(text);
    await output.waitFor({ timeout: TIMEOUT });
    return (await output.innerText()).trim();
  }

  /** Saves the active editor (Ctrl+S) after focusing the notebook. */
  async save(): Promise<void> {
    await this.editor.locator('.cell-list-container').click({ position: { x: 5, y: 5 } });
    await this.page.keyboard.press('Control+S');
  }
}

/** A code cell of `writeNotebook`: its source, or its source and the outputs saved with it. */
export type CellSpec = string | { source: string; outputs: unknown[] };

/** Writes an nbformat 4 notebook of Python code cells, as Jupyter saves one. */
export function writeNotebook(path: string, cells: CellSpec[]): void {
  const notebook = {
    cells: cells.map((cell, i) => {
      const { source, outputs } = typeof cell === 'string' ? { source: cell, outputs: [] } : cell;
      return {
        cell_type: 'code',
        execution_count: outputs.length ? 1 : null,
        id: `cell-${i}`,
        metadata: {},
        outputs,
        source: source.split(/(?<=\n)/),
      };
    }),
    metadata: {
      kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' },
      language_info: { name: 'python' },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
  writeFileSync(path, JSON.stringify(notebook, null, 1));
}
