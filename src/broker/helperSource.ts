/** Finds python/notebook_secrets.py: next to the bundle (dist/ → ../python), or in a given root. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const HELPER_RELATIVE_PATH = join('python', 'notebook_secrets.py');

export function helperSourcePath(roots: readonly string[] = []): string {
  const here = typeof __dirname === 'string' ? __dirname : process.cwd();
  const candidates = [
    ...roots.map((r) => join(r, HELPER_RELATIVE_PATH)),
    join(here, '..', HELPER_RELATIVE_PATH),
    join(here, '..', '..', HELPER_RELATIVE_PATH),
    join(process.cwd(), HELPER_RELATIVE_PATH),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `The kernel helper ${HELPER_RELATIVE_PATH} is missing (looked in ${[...new Set(candidates.map((c) => dirname(resolve(c))))].join(', ')}); reinstall Notebook Secrets.`,
    );
  }
  return found;
}

export function loadHelperSource(roots: readonly string[] = []): string {
  return readFileSync(helperSourcePath(roots), 'utf8');
}
