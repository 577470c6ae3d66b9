import type { Encoding, Scope, SecretMetadata, SecretType } from '../../core/model';
import { sameScope } from '../../core/scope';
import { assertValidName, assertValueSize } from '../../core/validation';
import { sharedByOf, type Session } from './session';

export interface UpsertInput {
  name: string;
  value: string;
  encoding: Encoding;
  scope: Scope;
  type?: SecretType;
  description?: string;
}

/** Creates the secret in its scope, or updates the one already there (If-Match its version). */
export async function upsertSecret(
  session: Session,
  input: UpsertInput,
  existing?: SecretMetadata[],
): Promise<{ secret: SecretMetadata; created: boolean }> {
  assertValidName(input.name);
  assertValueSize(input.value);
  const list = existing ?? (await session.api.listSecrets({ q: input.name }));
  // Your own personal secret, never someone else's of the same name shared with you.
  const sharedBy = await sharedByOf(session, list);
  const current = list.find(
    (s) => s.name === input.name && sameScope(s.scope, input.scope) && sharedBy(s) === undefined,
  );
  if (current) {
    const secret = await session.api.updateSecret(current.id, current.version, {
      value: input.value,
      encoding: input.encoding,
      ...(input.type && { type: input.type }),
      ...(input.description !== undefined && { description: input.description }),
    });
    return { secret, created: false };
  }
  const secret = await session.api.createSecret({
    name: input.name,
    value: input.value,
    encoding: input.encoding,
    scope: input.scope,
    ...(input.type && { type: input.type }),
    ...(input.description !== undefined && { description: input.description }),
  });
  return { secret, created: true };
}
