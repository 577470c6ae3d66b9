import { beforeEach, describe, expect, it } from 'vitest';
import { ConsentPolicy } from '../../../../src/broker/consent';
import { manageNotebookAccess } from '../../../../src/extension/kernels/manageAccess';
import { FakeMemento, ui } from '../../fakes/vscode';

function policy(): ConsentPolicy {
  return new ConsentPolicy({
    state: new FakeMemento(),
    now: () => new Date('2026-01-02T03:04:05Z'),
    ask: async () => 'always',
  });
}

describe('Manage Notebook Access', () => {
  beforeEach(() => ui.reset());

  it('says that no notebook has access instead of showing an empty list', async () => {
    await manageNotebookAccess(policy());
    expect(ui.calls.map((c) => c.kind)).toEqual(['info']);
    expect(ui.messages('info')[0]).toMatch(/^No notebook has access to secrets yet/);
  });

  it('lists the grants to revoke once a notebook has one', async () => {
    const consent = policy();
    await consent.decide({
      notebook: 'file:///nb.ipynb',
      label: 'nb.ipynb',
      name: 'API_KEY',
      sessionId: 's1',
    });
    await manageNotebookAccess(consent);
    const [call] = ui.calls;
    expect(call).toMatchObject({ kind: 'quickPick' });
    expect((call!.items as { label: string }[])[0]!.label).toBe('API_KEY');
  });
});
