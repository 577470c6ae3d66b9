// Kernel access for other extensions, as the real Jupyter extension grants it
// (src/standalone/api/kernels/apiAccess.ts, accessManagement.ts, kernel.ts):
//   - refused outright in an untrusted workspace;
//   - otherwise the first executeCode of an extension asks, in a modal, "Do you want to grant Kernel
//     access to the extension {displayName} ({id})?" with Allow / Learn More / Deny;
//   - Allow and Deny are remembered in the Jupyter extension's SecretStorage (key `API.Access`, a JSON
//     map of extension id to true/false), so they hold across windows and restarts; Learn More or
//     Escape are not remembered, and the next call asks again;
//   - a refused call rejects with an Error named `vscode.jupyter.apiAccessRevoked`;
//   - "Jupyter: Manage Access To Jupyter Kernels" (jupyter.manageAccessToKernels) lists the
//     extensions that asked, checked when allowed; accepting it stores the new list.
// Learn More opens a web page in the real extension; here it only writes a log line.
import * as vscode from 'vscode';

const STORE_KEY = 'API.Access';

export class KernelAccessRevoked extends Error {
  constructor() {
    super('Access to Jupyter Kernel has been revoked');
    // The real extension keeps this name stable so that callers can tell this error apart.
    this.name = 'vscode.jupyter.apiAccessRevoked';
  }
}

/** The installed extension's display name; undefined when no such extension is installed. */
function displayNameOf(extensionId: string): string | undefined {
  const manifest = vscode.extensions.getExtension(extensionId)?.packageJSON as
    { displayName?: string } | undefined;
  return manifest?.displayName;
}

type Result = 'allowed' | 'denied' | 'learnMore' | 'cancelled';

export class KernelAccess {
  private readonly pending = new Map<string, Promise<Result>>();
  private readonly asked = new Set<string>();
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when the stored answers change (wrapped kernels check again). */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Whether `extensionId` may run code in kernels; asks the user the first time. */
  async request(extensionId: string): Promise<boolean> {
    if (!vscode.workspace.isTrusted) return false;
    let answer = this.pending.get(extensionId);
    if (!answer) {
      answer = this.ask(extensionId);
      this.pending.set(extensionId, answer);
      void answer.then((result) => {
        if (
          (result === 'learnMore' || result === 'cancelled') &&
          this.pending.get(extensionId) === answer
        ) {
          this.pending.delete(extensionId);
          this.asked.add(extensionId);
        }
      });
    }
    return (await answer) === 'allowed';
  }

  private async ask(extensionId: string): Promise<Result> {
    const stored = await this.read();
    if (stored[extensionId] === true) return 'allowed';
    if (stored[extensionId] === false) {
      this.log.warn(`Kernel API access already revoked for extension ${extensionId}`);
      return 'denied';
    }
    const displayName = displayNameOf(extensionId);
    if (!displayName) {
      this.log.error(`Kernel API access revoked, as extension ${extensionId} does not exist!`);
      return 'denied';
    }
    const picked = await vscode.window.showInformationMessage(
      `Do you want to grant Kernel access to the extension ${displayName} (${extensionId})?`,
      { modal: true, detail: 'This allows the extension to execute code against Jupyter Kernels.' },
      'Allow',
      'Learn More',
      'Deny',
    );
    if (picked === 'Allow' || picked === 'Deny') await this.store(extensionId, picked === 'Allow');
    switch (picked) {
      case 'Allow':
        return 'allowed';
      case 'Deny':
        this.log.error(`Kernel API access revoked for extension ${extensionId}`);
        return 'denied';
      case 'Learn More':
        this.log.info(
          'Learn More about kernel access was chosen (the real extension opens a page).',
        );
        return 'learnMore';
      default:
        return 'cancelled';
    }
  }

  /** `jupyter.manageAccessToKernels`. */
  async manage(): Promise<void> {
    const stored = await this.read();
    const ids = new Set([...Object.keys(stored), ...this.asked, ...this.pending.keys()]);
    const items = [...ids].flatMap((extensionId) => {
      const label = displayNameOf(extensionId);
      return label
        ? [{ label, description: extensionId, extensionId, picked: stored[extensionId] === true }]
        : [];
    });
    const picked = await vscode.window.showQuickPick(items, {
      title: 'Manage Access To Jupyter Kernels',
      placeHolder: 'Choose which extensions can access Jupyter Kernels',
      canPickMany: true,
    });
    if (!picked) return;
    const allowed = new Set(picked.map((i) => i.extensionId));
    // As the real one: answers already given in this window follow the list at once; only the
    // allowed ones are stored, so an extension taken off the list is asked again next time.
    for (const id of this.pending.keys()) {
      this.pending.set(id, Promise.resolve(allowed.has(id) ? 'allowed' : 'denied'));
    }
    await this.write(Object.fromEntries([...allowed].map((id) => [id, true])));
  }

  private async store(extensionId: string, allowed: boolean): Promise<void> {
    const stored = await this.read();
    if (stored[extensionId] === allowed) return;
    await this.write({ ...stored, [extensionId]: allowed });
  }

  private async read(): Promise<Record<string, boolean>> {
    try {
      const json = await this.secrets.get(STORE_KEY);
      return json ? (JSON.parse(json) as Record<string, boolean>) : {};
    } catch {
      return {};
    }
  }

  private async write(access: Record<string, boolean>): Promise<void> {
    await this.secrets.store(STORE_KEY, JSON.stringify(access));
    this.changed.fire();
  }

  dispose(): void {
    this.changed.dispose();
  }
}
