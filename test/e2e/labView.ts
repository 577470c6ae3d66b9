// Page object for JupyterLab with the Secrets panel: the panel, its forms, the consent dialog, a
// notebook's cells and outputs, and what the page keeps in the browser's storage.
import type { BrowserContext, Locator, Page } from 'playwright-core';

export class LabView {
  constructor(readonly page: Page) {}

  /** Opens a notebook of the server's root on a fresh workspace and waits for the app. */
  async openNotebook(labUrl: string, token: string, path: string): Promise<void> {
    await this.page.goto(`${labUrl}/tree/${path}?reset&token=${token}`);
    await this.page
      .locator('body[data-notebook-secrets-lab="ready"]')
      .waitFor({ state: 'attached', timeout: 90_000 });
    await this.cells.first().waitFor({ timeout: 60_000 });
  }

  get panel(): Locator {
    return this.page.locator('#notebook-secrets-panel');
  }

  /** Shows the Secrets panel (its tab in the left sidebar). */
  async openPanel(): Promise<void> {
    if (await this.panel.isVisible()) return;
    await this.page.locator('.jp-SideBar [data-id="notebook-secrets-panel"]').click();
    await this.panel.waitFor();
  }

  /** Waits until the panel says the notebook's kernel has get_secret. */
  async waitForKernelReady(): Promise<void> {
    await this.panel
      .locator('.jp-NotebookSecrets-kernel[data-ready="true"]')
      .waitFor({ timeout: 60_000 });
  }

  neededRow(name: string, present?: boolean): Locator {
    const presence = present === undefined ? '' : `[data-present="${present}"]`;
    return this.panel.locator(`li.jp-NotebookSecrets-needed[data-name="${name}"]${presence}`);
  }

  row(name: string): Locator {
    return this.panel.locator(`li[data-secret="${name}"]`);
  }

  group(label: string): Locator {
    return this.panel.locator(`section[data-group="${label}"]`);
  }

  storeLine(): Locator {
    return this.panel.locator('.jp-NotebookSecrets-store');
  }

  button(title: string): Locator {
    return this.panel.locator(`button[title="${title}"]`);
  }

  get dialog(): Locator {
    return this.page.locator('.jp-Dialog');
  }

  /** Fills a form dialog's fields by their labels and presses its accept button. */
  async fillDialog(fields: Record<string, string>, accept: string): Promise<void> {
    const dialog = this.dialog;
    await dialog.waitFor();
    for (const [label, value] of Object.entries(fields)) {
      const input = dialog.locator(`[aria-label="${label}"]`);
      if ((await input.evaluate((n) => n.tagName)) === 'SELECT') await input.selectOption(value);
      else await input.fill(value);
    }
    await dialog.locator('.jp-Dialog-button', { hasText: accept }).click();
    await dialog.waitFor({ state: 'detached' });
  }

  /** The consent dialog for `name`, once it shows. */
  async consent(name: string): Promise<Locator> {
    const dialog = this.page.locator(`.jp-NotebookSecrets-consent[data-secret="${name}"]`);
    await dialog.waitFor({ timeout: 60_000 });
    return dialog;
  }

  async answerConsent(dialog: Locator, button: string): Promise<void> {
    await dialog.locator('.jp-Dialog-button', { hasText: button }).click();
    await dialog.waitFor({ state: 'detached' });
  }

  get cells(): Locator {
    return this.page.locator('.jp-NotebookPanel:visible .jp-Notebook .jp-Cell');
  }

  /** Selects cell `index` (0-based) and runs it with Shift+Enter. */
  async runCell(index: number): Promise<void> {
    await this.cells.nth(index).locator('.jp-InputPrompt').click();
    await this.page.keyboard.press('Shift+Enter');
  }

  /** Waits for an output of cell `index` that matches and returns its text. */
  async output(index: number, match: string | RegExp): Promise<string> {
    const output = this.cells
      .nth(index)
      .locator('.jp-OutputArea-output', { hasText: match })
      .first();
    await output.waitFor({ timeout: 60_000 });
    return (await output.textContent())?.trim() ?? '';
  }

  async save(): Promise<void> {
    await this.page.keyboard.press('Control+s');
    await this.page
      .locator('.jp-NotebookPanel:visible .jp-mod-dirty')
      .waitFor({ state: 'detached', timeout: 30_000 })
      .catch(() => undefined);
  }
}

/**
 * Everything the page keeps in the browser: localStorage and sessionStorage, every IndexedDB
 * database's records, and the cookies, as one text to search for a canary.
 */
export async function browserStorage(page: Page, context: BrowserContext): Promise<string> {
  const inPage = await page.evaluate<string>(DUMP_STORAGE);
  return `${inPage}\n${JSON.stringify(await context.cookies())}`;
}

/** Runs in the page (a string: the suite is type-checked without the DOM's types). */
const DUMP_STORAGE = `(async () => {
  const dump = { local: { ...localStorage }, session: { ...sessionStorage } };
  for (const info of (await indexedDB.databases?.()) ?? []) {
    if (!info.name) continue;
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open(info.name);
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    for (const store of [...db.objectStoreNames]) {
      dump['idb:' + info.name + '/' + store] = await new Promise((resolve, reject) => {
        const request = db.transaction(store, 'readonly').objectStore(store).getAll();
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    }
    db.close();
  }
  return JSON.stringify(dump);
})()`;
