// What a person sees and clicks in the workbench, by the DOM that VS Code renders: the Secrets
// view, its title and item actions, the quick input (InputBox/QuickPick), modal dialogs and
// notification toasts. Every wait is on something visible, never on a fixed delay.
import type { Locator, Page } from 'playwright-core';

const TIMEOUT = 30_000;
const started = Date.now();

/** With E2E_TRACE=1, prints each UI step and when it happened, to see where time goes. */
function trace(what: string): void {
  if (process.env.E2E_TRACE)
    console.error(`[e2e ${((Date.now() - started) / 1000).toFixed(1)}s] ${what}`);
}

export class SecretsView {
  readonly sidebar: Locator;
  readonly quickInput: Locator;
  readonly input: Locator;

  constructor(readonly page: Page) {
    this.sidebar = page.locator('[id="workbench.parts.sidebar"]');
    this.quickInput = page.locator('.quick-input-widget');
    this.input = this.quickInput.locator('input.input');
  }

  /** Clicks "Notebook Secrets" in the activity bar and waits until the view has loaded. */
  async open(): Promise<void> {
    trace('open view');
    // The activity bar button toggles: click it only when the view is not showing already.
    const shown = this.page.locator(
      '[id="workbench.parts.sidebar"][data-active-composite="workbench.view.extension.notebookSecrets"]',
    );
    const title = this.sidebar.locator('.title-label', { hasText: 'Notebook Secrets' });
    // After a reload the workbench may restore the view just after the check, and the click then
    // closes it again: look again, as a person would, and click until it shows.
    for (let i = 0; i < 3 && !(await title.isVisible()); i++) {
      if (!(await shown.isVisible())) {
        await this.page
          .locator('.activitybar a.action-label[aria-label="Notebook Secrets"]')
          .click();
      }
      await title.waitFor({ timeout: TIMEOUT / 3 }).catch(() => undefined);
    }
    await title.waitFor({ timeout: TIMEOUT });
    // Loaded means either the welcome view or at least one tree row.
    await this.sidebar
      .locator('.welcome-view-content, .monaco-list-row[role="treeitem"]')
      .first()
      .waitFor({ timeout: TIMEOUT });
  }

  welcome(): Locator {
    return this.sidebar.locator('.welcome-view-content');
  }

  welcomeButton(label: string): Locator {
    return this.welcome().locator('.monaco-button', { hasText: label });
  }

  /** A button in the view's title bar, by its accessible label ("New Secret…"). */
  titleAction(label: string): Locator {
    return this.sidebar.locator(`.title-actions .action-label[aria-label="${label}"]`);
  }

  /** The tree row of a secret, matched on its exact label (not its row in "This Notebook"). */
  row(name: string): Locator {
    return this.namedRow(':not([aria-label^="Needed secret"])', name);
  }

  /** The row of a name the active notebook needs, in the "This Notebook" group. */
  neededRow(name: string): Locator {
    return this.namedRow('[aria-label^="Needed secret"]', name);
  }

  private namedRow(selector: string, name: string): Locator {
    return this.sidebar.locator(`.monaco-list-row[role="treeitem"]${selector}`).filter({
      has: this.page.locator('.label-name', { hasText: new RegExp(`^${name}$`) }),
    });
  }

  /** Labels of every row in the tree, groups included, top to bottom. */
  async rowLabels(): Promise<string[]> {
    return this.sidebar.locator('.monaco-list-row[role="treeitem"] .label-name').allTextContents();
  }

  /**
   * Hovers the secret's row and clicks one of its inline buttons ("Copy Secret Value"), then waits
   * for `outcome`, what the action shows (a dialog, a toast, a quick input step).
   */
  async inlineAction(name: string, label: string, outcome: Locator): Promise<void> {
    trace(`inline ${label} on ${name}`);
    await this.onTreeItem(name, outcome, async () => {
      const row = this.row(name);
      await row.hover();
      await row.locator(`.actions .action-label[aria-label="${label}"]`).click();
    });
  }

  /** Right-clicks the secret's row, picks an entry of its context menu, waits for `outcome`. */
  async contextAction(name: string, label: string, outcome: Locator): Promise<void> {
    trace(`context ${label} on ${name}`);
    await this.onTreeItem(name, outcome, async () => {
      await this.row(name).click({ button: 'right' });
      const menu = this.page.locator('.context-view .monaco-menu');
      await menu.waitFor({ timeout: TIMEOUT });
      const item = menu.locator('.action-label', { hasText: label }).first();
      // A menu ignores a click that lands while it is still opening; click until it closes.
      for (let i = 0; i < 5 && (await menu.isVisible()); i++) {
        await item.click().catch(() => undefined);
        await menu.waitFor({ state: 'hidden', timeout: 2000 }).catch(() => undefined);
      }
    });
  }

  /**
   * Clicks an action of a tree item. VS Code hands the command no item when the click lands while
   * the view is re-reading its children (the extension reloads shortly after each change); the
   * command then asks which secret ("Secret to …"). A person would pick it there; the test closes
   * that picker and clicks again, so that it checks the item's own action.
   */
  private async onTreeItem(name: string, outcome: Locator, click: () => Promise<void>) {
    const picker = this.quickInput.locator('input.input[placeholder^="Secret to "]');
    for (let attempt = 1; ; attempt++) {
      await click();
      const seen = await Promise.race([
        outcome
          .first()
          .waitFor({ timeout: TIMEOUT })
          .then(() => 'outcome' as const),
        picker.waitFor({ timeout: TIMEOUT }).then(() => 'picker' as const),
      ]).catch(() => 'nothing' as const);
      if (seen === 'outcome') return;
      if (seen === 'nothing') throw new Error(`the action on ${name} showed nothing`);
      if (attempt === 3) throw new Error(`the action on ${name} kept asking which secret`);
      await this.input.press('Escape');
      await this.waitForQuickInputClosed();
    }
  }

  /** Runs a command from the Command Palette (F1) by its full title ("Notebook Secrets: …"). */
  async runCommand(title: string): Promise<void> {
    trace(`command ${title}`);
    await this.page.keyboard.press('F1');
    await this.input.fill(`>${title}`);
    await this.quickInput.locator('.monaco-list-row', { hasText: title }).first().click();
  }

  /** The quick input while it shows `title`. */
  step(title: string): Locator {
    return this.quickInput.locator('.quick-input-title', { hasText: title });
  }

  /** A notification toast that contains `text`. */
  toastLocator(text: string): Locator {
    return this.page
      .locator('.notification-toast .notification-list-item-message')
      .filter({ hasText: text });
  }

  /** Waits for the quick input to show `title` (each step of a multi-step input has its own). */
  async waitForStep(title: string): Promise<void> {
    await this.step(title).waitFor({ timeout: TIMEOUT });
  }

  /** Types into the current InputBox (replacing what it holds) and presses Enter. */
  async answer(title: string, text: string | undefined): Promise<void> {
    trace(`answer ${title}`);
    await this.waitForStep(title);
    if (text !== undefined) {
      await this.input.fill(text);
      // Some inputs set their own value a moment after they open; type again if that won.
      for (let i = 0; i < 5 && (await this.input.inputValue()) !== text; i++) {
        await this.page.waitForTimeout(200);
        await this.input.fill(text);
      }
    }
    await this.input.press('Enter');
  }

  /** Picks an item of the current QuickPick by its label. */
  async pick(title: string, label: string): Promise<void> {
    trace(`pick ${label} in ${title}`);
    await this.waitForStep(title);
    await this.quickInput
      .locator('.quick-input-list .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^${label}`) }) })
      .first()
      .click();
  }

  /** The validation message under the InputBox once it says `text`. */
  async validationMessage(text: string): Promise<string> {
    const message = this.quickInput.locator('.quick-input-message', { hasText: text });
    await message.waitFor({ timeout: TIMEOUT });
    return (await message.textContent()) ?? '';
  }

  async waitForQuickInputClosed(): Promise<void> {
    await this.quickInput.waitFor({ state: 'hidden', timeout: TIMEOUT });
  }

  /** The modal dialog whose message (or, for a message without detail, its detail) has `text`. */
  dialog(text: string): Locator {
    return this.page.locator('.monaco-dialog-box').filter({
      has: this.page.locator('.dialog-message-text, .dialog-message-detail', { hasText: text }),
    });
  }

  async clickDialogButton(dialog: Locator, label: string): Promise<void> {
    trace(`dialog button ${label}`);
    await dialog.locator('.dialog-buttons .monaco-button', { hasText: label }).click();
    await dialog.waitFor({ state: 'hidden', timeout: TIMEOUT });
  }

  /** Waits for a notification toast that contains `text`. */
  async toast(text: string): Promise<string> {
    trace(`toast ${text}`);
    const toast = this.toastLocator(text).first();
    await toast.waitFor({ timeout: TIMEOUT });
    return (await toast.textContent()) ?? '';
  }

  /** What the browser's clipboard holds (the context has clipboard-read permission). */
  async clipboard(): Promise<string> {
    return (await this.page.evaluate('navigator.clipboard.readText()')) as string;
  }

  /** New Secret through the title bar's + button: name, value, type, description. */
  async createSecret(secret: {
    name: string;
    value: string;
    type: 'Generic' | 'Password' | 'Key' | 'Token';
    description?: string;
  }): Promise<void> {
    // A click that lands while the workbench is still laying out the view's title is lost, as it
    // would be for a person, who would click again.
    const firstStep = this.step('New Secret (1/4)');
    for (let i = 0; i < 3 && !(await firstStep.isVisible()); i++) {
      await this.titleAction('New Secret…').click();
      await firstStep.waitFor({ timeout: TIMEOUT / 3 }).catch(() => undefined);
    }
    await this.answer('New Secret (1/4)', secret.name);
    await this.answer('New Secret (2/4)', secret.value);
    await this.pick('New Secret (3/4)', secret.type);
    await this.answer('New Secret (4/4)', secret.description ?? '');
    await this.waitForQuickInputClosed();
    await this.row(secret.name).waitFor({ timeout: TIMEOUT });
  }

  /**
   * "Add…" on a name the active notebook needs: New Secret opens with that name filled in; the
   * value, type and an empty description are entered.
   */
  async addNeeded(
    name: string,
    secret: { value: string; type: 'Generic' | 'Password' | 'Key' | 'Token' },
  ): Promise<void> {
    const firstStep = this.step('New Secret (1/4)');
    for (let i = 0; i < 3 && !(await firstStep.isVisible()); i++) {
      const row = this.neededRow(name);
      await row.hover();
      await row.locator('.actions .action-label[aria-label="Add…"]').click();
      await firstStep.waitFor({ timeout: TIMEOUT / 3 }).catch(() => undefined);
    }
    await this.waitForStep('New Secret (1/4)');
    const filled = await this.input.inputValue();
    if (filled !== name) throw new Error(`New Secret opened with '${filled}', not '${name}'`);
    await this.answer('New Secret (1/4)', undefined);
    await this.answer('New Secret (2/4)', secret.value);
    await this.pick('New Secret (3/4)', secret.type);
    await this.answer('New Secret (4/4)', '');
    await this.waitForQuickInputClosed();
  }

  /** Opens Reveal on the secret and returns the value its dialog shows, then closes it. */
  async revealedValue(name: string): Promise<string> {
    const dialog = this.dialog(name);
    await this.inlineAction(name, 'Reveal Secret', dialog);
    const value = (await dialog.locator('.dialog-message-detail').textContent()) ?? '';
    await this.clickDialogButton(dialog, 'Cancel');
    return value;
  }

  /** Closes every notification toast, so a screenshot shows the view alone. */
  async dismissNotifications(): Promise<void> {
    trace('dismiss notifications');
    const toasts = this.page.locator('.notification-toast');
    // A toast's close button shows on hover; close the newest until none is left.
    for (let i = 0; i < 10 && (await toasts.count()) > 0; i++) {
      const toast = toasts.first();
      await toast.hover({ timeout: 5000 }).catch(() => undefined);
      await toast
        .locator('.codicon-notifications-clear')
        .first()
        .click({ timeout: 5000 })
        .catch(() => undefined);
      await this.page.waitForTimeout(100);
    }
    await toasts.first().waitFor({ state: 'detached', timeout: TIMEOUT });
  }
}
