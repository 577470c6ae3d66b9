import type { SecretSource } from '../../broker/secretSource';
import type { ResolveOptions } from '../../core';
import type { SecretRepository } from './secretRepository';

/**
 * What kernels read: the entry `get_secret(name)` means by precedence (personal > project > team,
 * within the active project), and its value from SecretStorage. Each request waits for `loaded`
 * (the store's first load), so a kernel asking during activation is not told a secret is missing.
 */
export function repositorySource(
  repository: SecretRepository,
  activeProject: () => string | undefined = () => undefined,
  loaded: PromiseLike<unknown> = Promise.resolve(),
): SecretSource {
  return {
    async resolve(name, { scope }) {
      await loaded;
      const options: ResolveOptions = { scope, project: activeProject() };
      const entry = repository.resolve(name, options);
      if (!entry) return undefined;
      const { value, encoding } = await repository.getValue(entry.id);
      return { value, encoding };
    },
  };
}
