import { describe, expect, it } from 'vitest';
import { LocalSecretStore } from '../../../src/core/localStore';
import { createSecretsView } from '../../../src/extension/views/secretsView';
import { SecretsTreeProvider } from '../../../src/extension/views/secretsTree';
import { ViewState } from '../../../src/extension/views/viewState';
import { MemoryKeyValueStore } from '../../../src/sync/memoryKeyValueStore';

describe('the Secrets view', () => {
  it('counts what the filter shows only while a filter is on', async () => {
    const store = new LocalSecretStore(new MemoryKeyValueStore(), { user: 'me' });
    await store.load();
    const state = new ViewState();
    const tree = new SecretsTreeProvider(store, state);
    let counted = 0;
    const counts = tree.counts.bind(tree);
    tree.counts = () => (counted++, counts());
    const parts = createSecretsView(tree, state, store);
    // The tree view comes first (the unit fake's: a plain object).
    const view = parts[0] as unknown as { description?: string; message?: string };

    // A store change with no filter (each page of a sync) leaves the tree to group when read.
    await store.create({ name: 'API_KEY', value: 'v' });
    await store.create({ name: 'DB_PASSWORD', value: 'v' });
    expect(counted).toBe(0);
    expect(view.message).toBeUndefined();

    state.setQuery('api');
    expect(view.description).toBe(state.describeFilter());
    expect(view.message).toBe('Showing 1 of 2 secrets.');
    await store.create({ name: 'API_TOKEN', value: 'v' });
    expect(view.message).toBe('Showing 2 of 3 secrets.');

    state.setQuery('');
    expect(view.message).toBeUndefined();
    for (const part of parts) part.dispose();
    tree.dispose();
    state.dispose();
  });
});
