import * as fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  filterSecrets,
  groupSecrets,
  LocalSecretStore,
  SECRET_TYPES,
  type GroupBy,
  type SecretType,
} from '../../../src/core';
import { SecretsTreeProvider, type SecretsNode } from '../../../src/extension/views/secretsTree';
import { ViewState } from '../../../src/extension/views/viewState';
import {
  FakeSecretStorage,
  MarkdownString,
  ThemeIcon,
  TreeItemCollapsibleState,
  ui,
  workspace,
} from '../fakes/vscode';

let secrets: FakeSecretStorage;
let store: LocalSecretStore;
let state: ViewState;
let tree: SecretsTreeProvider;

beforeEach(async () => {
  ui.reset();
  secrets = new FakeSecretStorage();
  store = new LocalSecretStore(secrets, { now: () => new Date('2026-11-23T10:00:00Z') });
  await store.load();
  state = new ViewState();
  tree = new SecretsTreeProvider(store, state);
  await store.create({
    name: 'OPENAI_API_KEY',
    value: 'v',
    type: 'key',
    description: 'The *chat* demo',
  });
  await store.create({ name: 'DB_PASSWORD', value: 'v', type: 'password' });
  await store.create({
    name: 'TEAM_TOKEN',
    value: 'v',
    type: 'token',
    scope: { kind: 'team', id: 'data' },
  });
});

const labels = (nodes: SecretsNode[]) => nodes.map((n) => tree.getTreeItem(n).label);

describe('SecretsTreeProvider', () => {
  it('groups by scope, expanded, with counts, and names sorted', () => {
    const groups = tree.getChildren();
    expect(labels(groups)).toEqual(['Personal', 'Team data']);
    const personal = tree.getTreeItem(groups[0]!);
    expect(personal).toMatchObject({
      collapsibleState: TreeItemCollapsibleState.Expanded,
      description: '2',
    });
    expect(labels(tree.getChildren(groups[0]))).toEqual(['DB_PASSWORD', 'OPENAI_API_KEY']);
  });

  it('shows name, type icon, type, and a tooltip with description, scope and dates', () => {
    const item = tree.getTreeItem(tree.getChildren(tree.getChildren()[0])[1]!);
    expect(item.label).toBe('OPENAI_API_KEY');
    expect(item.description).toBe('key');
    expect((item.iconPath as ThemeIcon).id).toBe('key');
    expect(item.contextValue).toBe('secret');
    const tooltip = (item.tooltip as MarkdownString).value;
    expect(tooltip).toContain('The \\*chat\\* demo'); // user text is escaped, not rendered
    expect(tooltip).toContain('Scope: Personal');
    expect(tooltip).toContain('Created: ');
    expect(tooltip).toContain('(version 1)');
  });

  it('groups by type or not at all, following the setting', async () => {
    await workspace.getConfiguration('notebookSecrets').update('view.groupBy', 'type');
    expect(labels(tree.getChildren())).toEqual(['Password', 'Key', 'Token']);
    await state.setGroupBy('none');
    expect(labels(tree.getChildren(tree.getChildren()[0]))).toEqual([
      'DB_PASSWORD',
      'OPENAI_API_KEY',
      'TEAM_TOKEN',
    ]);
  });

  it('filters by text and type, and counts what it shows', () => {
    state.setQuery('chat');
    expect(labels(tree.getChildren(tree.getChildren()[0]))).toEqual(['OPENAI_API_KEY']);
    expect(tree.counts()).toEqual({ shown: 1, total: 3 });
    expect(state.describeFilter()).toBe('"chat"');
    state.clearFilter();
    state.setTypes(['token', 'password']);
    expect(labels(tree.getChildren())).toEqual(['Personal', 'Team data']);
    expect(state.describeFilter()).toBe('token, password');
    state.setQuery('nothing matches');
    expect(tree.getChildren()).toEqual([]);
  });

  it('refreshes when the store changes', async () => {
    let fired = 0;
    tree.onDidChangeTreeData(() => fired++);
    await store.create({ name: 'NEW', value: 'v' });
    expect(fired).toBe(1);
    expect(labels(tree.getChildren(tree.getChildren()[0]))).toContain('NEW');
  });

  it('marks an entry whose value is missing, so Reveal and Copy are hidden', async () => {
    secrets.data.delete('notebook-secrets/value/personal/DB_PASSWORD');
    await store.load();
    const item = tree.getTreeItem(tree.getChildren(tree.getChildren()[0])[0]!);
    expect(item.contextValue).toBe('secret+missing');
    expect(item.description).toBe('password · value missing');
    expect((item.iconPath as ThemeIcon).id).toBe('warning');
  });

  it('builds contextValue flags for readers, shared and file secrets', async () => {
    const file = await store.create({ name: 'F', value: 'AAAA', encoding: 'base64', type: 'file' });
    const item = tree.getTreeItem({
      kind: 'secret',
      secret: {
        ...file,
        role: 'reader',
        access: [
          { principal: { kind: 'user', id: 'a' }, role: 'owner' },
          { principal: { kind: 'team', id: 't' }, role: 'reader' },
        ],
      },
    });
    expect(item.contextValue).toBe('secret+file+readonly+shared');
    expect(item.description).toBe('file · reader · shared');
  });

  it('shows a load failure as a warning item with a retry', () => {
    tree.setLoadError('Could not read secrets from VS Code SecretStorage: locked');
    const [node] = tree.getChildren();
    const item = tree.getTreeItem(node!);
    expect(item.label).toMatch(/Could not read secrets/);
    expect(item.command).toMatchObject({ command: 'notebookSecrets.refresh' });
    tree.setLoadError(undefined);
    expect(labels(tree.getChildren())).toEqual(['Personal', 'Team data']);
  });

  it('finds the parent of an item (for reveal in tree)', () => {
    const [personal] = tree.getChildren();
    const child = tree.getChildren(personal)[0]!;
    expect(tree.getTreeItem(tree.getParent(child)!).label).toBe('Personal');
  });

  it("shows someone else's shared secret beside your own of the same name, as shared by them", async () => {
    const alices = {
      id: 'srv-alice',
      name: 'DB_PASSWORD',
      scope: { kind: 'personal' as const },
      encoding: 'text' as const,
      type: 'password' as const,
      description: '',
      version: 3,
      created_at: '2026-11-23T10:00:00Z',
      updated_at: '2026-11-23T10:00:00Z',
      created_by: 'alice',
      access: [],
      role: 'owner' as const,
      owner: 'alice',
    };
    await store.applySync([
      { kind: 'put', entry: alices, value: { value: 'v', encoding: 'text' } },
    ]);
    const personal = tree.getChildren()[0]!;
    const items = tree.getChildren(personal).map((n) => tree.getTreeItem(n));
    expect(items.map((i) => [i.label, i.description])).toEqual([
      ['DB_PASSWORD', 'password'],
      ['DB_PASSWORD', 'password · shared by alice'],
      ['OPENAI_API_KEY', 'key'],
    ]);
    expect(items[1]!.contextValue).toBe('secret+ownedByOther');
    expect((items[1]!.tooltip as MarkdownString).value).toContain("alice's, shared with you");
  });
});

/** What a tree shows: each group's label and the ids of its secrets. */
function shownBy(provider: SecretsTreeProvider) {
  return provider
    .getChildren()
    .map((g) => [
      provider.getTreeItem(g).label,
      provider.getChildren(g).map((n) => (n.kind === 'secret' ? n.secret.id : '')),
    ]);
}

describe('SecretsTreeProvider through many changes', () => {
  it('shows what a fresh sort of the store would, after creates, edits, renames and deletes', async () => {
    const shown = () => shownBy(tree);
    const fresh = () => {
      const again = new SecretsTreeProvider(store, state);
      const groups = shownBy(again);
      again.dispose();
      return groups;
    };
    expect(shown()).toEqual(fresh()); // the tree has sorted once; from here on it merges changes
    const scopes = [{ kind: 'personal' as const }, { kind: 'team' as const, id: 'data' }];
    const change = async (i: number) => {
      const name = `N_${(i * 37) % 23}`;
      const existing = store.list().filter((e) => e.name === name);
      if (existing.length > 0 && i % 3 === 0) await store.delete(existing[0]!.id);
      else if (existing.length > 0 && i % 3 === 1) {
        await store.update(existing[0]!.id, { description: `edit ${i}` });
      } else if (existing.length > 0) {
        const [entry] = existing;
        await store.applySync([
          { kind: 'put', entry: { ...entry!, name: `R_${i}`, version: entry!.version + 1 } },
        ]);
      } else await store.create({ name, value: 'v', scope: scopes[i % 2]! });
    };
    for (let i = 0; i < 60; i++) {
      await change(i);
      expect(shown(), `after change ${i}`).toEqual(fresh());
    }
    // Several changes before the view reads again (the pages of a sync): merged in one pass.
    for (let i = 60; i < 160; i++) {
      await change(i);
      if (i % 7 === 6) expect(shown(), `after changes up to ${i}`).toEqual(fresh());
    }
    // Typing on, deleting back, and a type filter: each as a fresh filter of the store would.
    for (const query of ['n', 'n_', 'n_1', 'n_', 'r', 'R_4', '']) {
      state.setQuery(query);
      expect(shown(), `query ${JSON.stringify(query)}`).toEqual(fresh());
    }
    state.setQuery('n');
    state.setTypes(['generic']);
    expect(shown()).toEqual(fresh());
    await store.create({ name: 'N_NEW', value: 'v' });
    state.setQuery('n_n');
    expect(shown()).toEqual(fresh());
  });
});

describe('SecretsTreeProvider filtering as the user types', () => {
  type Step =
    | { kind: 'type'; text: string }
    | { kind: 'erase' }
    | { kind: 'query'; text: string }
    | { kind: 'types'; types: SecretType[] }
    | { kind: 'group'; by: GroupBy }
    | { kind: 'create'; name: string; type: SecretType; description: string }
    | { kind: 'edit'; pick: number; description: string }
    | { kind: 'delete'; pick: number };
  const text = fc.string({ unit: fc.constantFrom(...'abAB_1 \nΣσ'.split('')), maxLength: 3 });
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('type' as const), text }) },
    { weight: 2, arbitrary: fc.constant({ kind: 'erase' as const }) },
    fc.record({ kind: fc.constant('query' as const), text }),
    fc.record({ kind: fc.constant('types' as const), types: fc.subarray([...SECRET_TYPES]) }),
    fc.record({
      kind: fc.constant('group' as const),
      by: fc.constantFrom<GroupBy>('scope', 'type', 'none'),
    }),
    fc.record({
      kind: fc.constant('create' as const),
      name: fc.stringMatching(/^[AB_][AB_1]{0,3}$/),
      type: fc.constantFrom(...SECRET_TYPES),
      description: text,
    }),
    fc.record({ kind: fc.constant('edit' as const), pick: fc.nat(), description: text }),
    fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
  );

  /** What a plain filter and sort of the whole store shows. */
  const plain = () =>
    groupSecrets(filterSecrets(store.list(), state.filter), state.groupBy).map((g) => [
      g.label,
      g.items.map((e) => e.id),
    ]);
  const shown = () => shownBy(tree);

  it('shows what a plain filter of the store would, through keystrokes, types and changes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 25 }), async (steps) => {
        for (const entry of store.list()) await store.delete(entry.id);
        state.clearFilter();
        await state.setGroupBy('scope');
        for (const [i, name] of ['AB', 'A_1', 'B', 'BA_1', '_A'].entries()) {
          const scope = i % 2 ? { kind: 'team' as const, id: 'data' } : undefined;
          await store.create({
            name,
            value: 'v',
            type: SECRET_TYPES[i]!,
            description: name,
            scope,
          });
        }
        expect(shown()).toEqual(plain());
        for (const s of steps) {
          const query = state.filter.query ?? '';
          const entries = store.list();
          const picked = entries[('pick' in s ? s.pick : 0) % Math.max(entries.length, 1)];
          if (s.kind === 'type') state.setQuery(query + s.text);
          else if (s.kind === 'erase') state.setQuery(query.slice(0, -1));
          else if (s.kind === 'query') state.setQuery(s.text);
          else if (s.kind === 'types') state.setTypes(s.types);
          else if (s.kind === 'group') await state.setGroupBy(s.by);
          else if (s.kind === 'create' && !store.find(s.name, { kind: 'personal' })) {
            const { name, type, description } = s;
            await store.create({ name, value: 'v', type, description });
          } else if (s.kind === 'edit' && picked) {
            await store.update(picked.id, { description: s.description });
          } else if (s.kind === 'delete' && picked) await store.delete(picked.id);
          expect(shown(), JSON.stringify(s)).toEqual(plain());
        }
      }),
      { numRuns: 150 },
    );
  });
});
