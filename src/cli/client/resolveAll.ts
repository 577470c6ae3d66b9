import type { ResolvedSecret } from '../../core/api';
import { ApiError } from '../../sync/errors';
import { CliError, EXIT, type Session } from './session';

/**
 * Values by precedence (personal > active project > team) for the given names, or for every name
 * the user can see. Missing names asked for explicitly are an error that names them.
 */
export async function resolveAll(
  session: Session,
  only: string[] | undefined,
  scope?: string,
): Promise<ResolvedSecret[]> {
  const names =
    only ??
    [...new Set((await session.api.listSecrets(scope ? { scope } : {})).map((s) => s.name))].sort();
  const out: ResolvedSecret[] = [];
  const missing: string[] = [];
  for (const name of names) {
    try {
      out.push(
        await session.api.resolve(name, {
          ...(session.project && { project: session.project }),
          ...(scope && { scope }),
        }),
      );
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) missing.push(name);
      else throw error;
    }
  }
  if (missing.length > 0 && only) {
    throw new CliError(
      `No secret named ${missing.map((n) => `'${n}'`).join(', ')} is available.`,
      EXIT.notFound,
      'not_found',
    );
  }
  return out;
}
