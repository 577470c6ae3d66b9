import { expect, it } from 'vitest';
import { LocalSecretStore } from '../../../src/core';
import { repositorySource } from '../../../src/extension/storage/brokerSource';
import { FakeSecretStorage } from '../fakes/vscode';

it('resolves by precedence within the active project, and values come from SecretStorage', async () => {
  const store = new LocalSecretStore(new FakeSecretStorage());
  await store.load();
  await store.create({ name: 'K', value: 'team', scope: { kind: 'team', id: 't' } });
  await store.create({ name: 'K', value: 'ml', scope: { kind: 'project', id: 'ml' } });
  await store.create({ name: 'F', value: 'AAEC', encoding: 'base64', type: 'file' });
  let project: string | undefined = 'ml';
  const source = repositorySource(store, () => project);
  expect(await source.resolve('K', {})).toEqual({ value: 'ml', encoding: 'text' });
  expect(await source.resolve('K', { scope: 'team' })).toEqual({ value: 'team', encoding: 'text' });
  project = 'web';
  expect(await source.resolve('K', {})).toEqual({ value: 'team', encoding: 'text' });
  expect(await source.resolve('F', {})).toEqual({ value: 'AAEC', encoding: 'base64' });
  expect(await source.resolve('NOPE', {})).toBeUndefined();
});
