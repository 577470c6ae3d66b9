/**
 * Finds a kernel helper next to the bundle (dist/ → ../python, ../r), or in a given root:
 * python/notebook_secrets.py for Python kernels, r/notebook_secrets.R for R kernels.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const HELPER_RELATIVE_PATH = join('python', 'notebook_secrets.py');
export const R_HELPER_RELATIVE_PATH = join('r', 'notebook_secrets.R');

export function helperSourcePath(
  roots: readonly string[] = [],
  relative: string = HELPER_RELATIVE_PATH,
): string {
  const here = typeof __dirname === 'string' ? __dirname : process.cwd();
  const candidates = [
    ...roots.map((r) => join(r, relative)),
    join(here, '..', relative),
    join(here, '..', '..', relative),
    join(process.cwd(), relative),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `The kernel helper ${relative} is missing (looked in ${[...new Set(candidates.map((c) => dirname(resolve(c))))].join(', ')}); reinstall Notebook Secrets.`,
    );
  }
  return found;
}

export function loadHelperSource(roots: readonly string[] = []): string {
  return readFileSync(helperSourcePath(roots), 'utf8');
}

/** The R helper's source (r/notebook_secrets.R). */
export function loadRHelperSource(roots: readonly string[] = []): string {
  return readFileSync(helperSourcePath(roots, R_HELPER_RELATIVE_PATH), 'utf8');
}

/** The start-up file IPython kernels run (PYTHONSTARTUP), next to the helper. */
export const STARTUP_FILE = 'notebook_secrets_startup.py';
/** Where python/notebook_secrets_startup.py finds the user's own PYTHONSTARTUP file. */
export const OWN_STARTUP_ENV = 'NOTEBOOK_SECRETS_PYTHONSTARTUP';

/**
 * Puts `dir`'s start-up file in `env.PYTHONSTARTUP`, keeping the user's own in OWN_STARTUP_ENV,
 * which the start-up file runs after installing the helper's kernel hooks. Returns the path set,
 * or undefined when the folder has no start-up file.
 */
export function chainStartup(env: NodeJS.ProcessEnv, dir: string): string | undefined {
  const startup = join(dir, STARTUP_FILE);
  if (!existsSync(startup)) return undefined;
  const own = env.PYTHONSTARTUP;
  if (own && own !== startup) env[OWN_STARTUP_ENV] = own;
  env.PYTHONSTARTUP = startup;
  return startup;
}
