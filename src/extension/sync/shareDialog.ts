/**
 * Share, as QuickPick steps: the current access list, then add a user or a team as Owner or Reader,
 * change a role, or remove access. The last-owner rule is explained before the server would refuse.
 */
import * as vscode from 'vscode';
import type { Grant, Principal, Role, SecretMetadata } from '../../core/model';
import type { ApiClient } from '../../sync/client';

type Step =
  | { kind: 'grant'; grant: Grant }
  | { kind: 'add'; principal: Principal['kind'] }
  | { kind: 'done' };

interface StepItem extends vscode.QuickPickItem {
  step: Step;
}

export const LAST_OWNER_RULE =
  'A secret always keeps at least one owner, so the last owner cannot be removed or made a reader. Add another owner first.';

function label(p: Principal): string {
  return `${p.kind === 'team' ? '$(organization)' : '$(person)'} ${p.id}`;
}

function same(a: Principal, b: Principal): boolean {
  return a.kind === b.kind && a.id === b.id;
}

/** Runs the dialog until the user closes it; every change is sent at once with If-Match. */
export async function shareDialog(api: ApiClient, secret: SecretMetadata): Promise<void> {
  for (;;) {
    const current = await api.getAccess(secret.id);
    const owners = current.access.filter((g) => g.role === 'owner').length;
    const items: StepItem[] = [
      ...current.access.map((grant) => ({
        label: label(grant.principal),
        description: grant.role === 'owner' ? 'Owner' : 'Reader',
        detail: grant.role === 'owner' && owners === 1 ? 'The only owner' : undefined,
        step: { kind: 'grant' as const, grant },
      })),
      { label: '', kind: vscode.QuickPickItemKind.Separator, step: { kind: 'done' } },
      { label: '$(add) Add a user…', step: { kind: 'add', principal: 'user' } },
      { label: '$(add) Add a team…', step: { kind: 'add', principal: 'team' } },
      { label: '$(check) Done', step: { kind: 'done' } },
    ];
    const picked = await vscode.window.showQuickPick(items, {
      title: `Share '${secret.name}' (${current.access.length} with access)`,
      placeHolder: 'Owners read, edit, share and delete; readers only read.',
      ignoreFocusOut: true,
    });
    if (!picked || picked.step.kind === 'done') return;

    let next: Grant[] | undefined;
    if (picked.step.kind === 'add') {
      const kind = picked.step.principal;
      const id = await vscode.window.showInputBox({
        title: `Share '${secret.name}' with a ${kind}`,
        prompt: kind === 'user' ? 'User id (e.g. alice)' : 'Team id (e.g. data)',
        ignoreFocusOut: true,
        validateInput: (v) =>
          /^[a-z0-9][a-z0-9_.-]{0,63}$/.test(v.trim())
            ? undefined
            : 'Use the id the administrator gave: lowercase letters, digits, ".", "_" or "-".',
      });
      if (!id) continue;
      const role = await pickRole(`Role of ${kind} ${id.trim()}`);
      if (!role) continue;
      const principal: Principal = { kind, id: id.trim() };
      next = [...current.access.filter((g) => !same(g.principal, principal)), { principal, role }];
    } else {
      const { grant } = picked.step;
      const isLastOwner = grant.role === 'owner' && owners === 1;
      const action = await vscode.window.showQuickPick(
        [
          {
            label: grant.role === 'owner' ? 'Make Reader' : 'Make Owner',
            value: 'toggle' as const,
          },
          { label: 'Remove Access', value: 'remove' as const },
        ],
        {
          title: `${grant.principal.kind} ${grant.principal.id}: ${grant.role}`,
          placeHolder: isLastOwner ? LAST_OWNER_RULE : undefined,
        },
      );
      if (!action) continue;
      if (isLastOwner) {
        await vscode.window.showWarningMessage(LAST_OWNER_RULE, { modal: true });
        continue;
      }
      next =
        action.value === 'remove'
          ? current.access.filter((g) => !same(g.principal, grant.principal))
          : current.access.map((g) =>
              same(g.principal, grant.principal)
                ? { ...g, role: g.role === 'owner' ? 'reader' : 'owner' }
                : g,
            );
    }
    await api.putAccess(secret.id, next, current.version);
  }
}

async function pickRole(title: string): Promise<Role | undefined> {
  const picked = await vscode.window.showQuickPick(
    [
      { label: 'Reader', description: 'can read the value', role: 'reader' as const },
      { label: 'Owner', description: 'can read, edit, share and delete', role: 'owner' as const },
    ],
    { title },
  );
  return picked?.role;
}
