/** "Manage Notebook Access": lists the standing grants and revokes the ones picked. */
import * as vscode from 'vscode';
import type { ConsentPolicy, NotebookGrant } from '../../broker/consent';

interface GrantItem extends vscode.QuickPickItem {
  grant?: NotebookGrant;
  forgetSession?: true;
}

export function notebookLabel(notebook: string): string {
  try {
    const uri = vscode.Uri.parse(notebook);
    if (uri.scheme === 'file' || uri.scheme === 'vscode-remote') {
      return vscode.workspace.asRelativePath(uri, false);
    }
  } catch {
    // fall through: remote keys are URLs
  }
  return notebook;
}

export async function manageNotebookAccess(consent: ConsentPolicy): Promise<void> {
  const grants = consent.grants();
  if (grants.length === 0 && !consent.hasSessionDecisions()) {
    void vscode.window.showInformationMessage(
      'No notebook has access to secrets yet. When a notebook asks, "Always for This Notebook" grants appear here to revoke.',
    );
    return;
  }
  const items: GrantItem[] = grants.map((grant) => ({
    label: grant.name,
    description: notebookLabel(grant.notebook),
    detail: `Always allowed since ${grant.grantedAt.slice(0, 10)}`,
    grant,
  }));
  items.push({
    label: 'Forget "Allow Once" and "Deny" answers of running kernels',
    description: 'the next get_secret asks again',
    forgetSession: true,
  });
  const picked = await vscode.window.showQuickPick(items, {
    canPickMany: true,
    title: 'Notebook Access',
    placeHolder: grants.length
      ? 'Select the grants to revoke'
      : 'No notebook has standing access ("Always for This Notebook" grants appear here)',
    ignoreFocusOut: true,
  });
  if (!picked || picked.length === 0) return;
  for (const item of picked) {
    if (item.grant) await consent.revoke(item.grant.notebook, item.grant.name);
  }
  if (picked.some((i) => i.forgetSession)) consent.forgetAllSessions();
  const revoked = picked.filter((i) => i.grant).length;
  void vscode.window.showInformationMessage(
    revoked
      ? `Revoked ${revoked} grant${revoked === 1 ? '' : 's'}. Those notebooks will ask again.`
      : 'Running kernels will ask again.',
  );
}
