/** Reads of the server's copy of one secret that treat "gone for us" as an answer, not a failure. */
import type { SecretMetadata, SecretValue } from '../../core/model';
import { ApiError } from '../errors';
import type { EngineContext } from './context';

export type Envelope = { value: string; encoding: SecretValue['encoding'] };

export function toEnvelope(value: SecretValue): Envelope {
  return { value: value.value, encoding: value.encoding };
}

/** The server's metadata and value of a secret, or undefined when it is gone for us. */
export async function fetchRemote(
  ctx: EngineContext,
  id: string,
): Promise<{ meta: SecretMetadata; value: Envelope } | undefined> {
  const meta = await fetchMeta(ctx, id);
  if (!meta) return undefined;
  const value = await tryValue(ctx, id);
  return value ? { meta, value: toEnvelope(value) } : undefined;
}

export async function fetchMeta(
  ctx: EngineContext,
  id: string,
): Promise<SecretMetadata | undefined> {
  try {
    return await ctx.client.getSecret(id);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}

export async function tryValue(ctx: EngineContext, id: string): Promise<SecretValue | undefined> {
  try {
    return await ctx.client.getValue(id);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 403))
      return undefined;
    throw error;
  }
}
