/**
 * What a notebook says about how its kernel gets secrets, kept in its own metadata
 * (`metadata.notebook_secrets` of the .ipynb), names and flags only, never a value:
 *
 * - `serve_platform_calls`: true when the user chose to have Notebook Secrets answer the notebook's
 *   Colab, Kaggle, Databricks, SingleStore and Hopsworks calls unchanged; false when they said no
 *   (so they are not asked again); absent until asked.
 * - `environment`: names whose values go into the kernel's `os.environ` when it starts, after
 *   consent, for libraries that read keys from there.
 *
 * Kept in the notebook so that it travels with the file: the VS Code extension, `notebook-secrets
 * run --kernels` and `attach` read the same choice, and a teammate opening the notebook gets it too
 * (each value still asks for consent on their machine). Pure.
 */
import * as z from './zod';
import { lazySchema } from './lazySchema';
import { SecretName } from './model';

export const NOTEBOOK_METADATA_KEY = 'notebook_secrets';

export const NotebookChoicesSchema = lazySchema(() =>
  z.object({
    serve_platform_calls: z.optional(z.boolean()),
    environment: z.optional(z.array(SecretName).check(z.maxLength(100))),
  }),
);

export interface NotebookChoices {
  /** Undefined until the user answered. */
  servePlatformCalls?: boolean;
  environment: string[];
}

/** The choices in an .ipynb's top-level metadata; a malformed entry counts as none. */
export function readNotebookChoices(metadata: unknown): NotebookChoices {
  const entry = (metadata as Record<string, unknown> | undefined)?.[NOTEBOOK_METADATA_KEY];
  const parsed = NotebookChoicesSchema.safeParse(entry ?? {});
  if (!parsed.success) return { environment: [] };
  return {
    ...(parsed.data.serve_platform_calls !== undefined && {
      servePlatformCalls: parsed.data.serve_platform_calls,
    }),
    environment: [...new Set(parsed.data.environment ?? [])],
  };
}

/** `metadata` with the choices written in, every other key kept; an empty entry is removed. */
export function withNotebookChoices(
  metadata: Record<string, unknown> | undefined,
  choices: NotebookChoices,
): Record<string, unknown> {
  const entry: Record<string, unknown> = {};
  if (choices.servePlatformCalls !== undefined) {
    entry.serve_platform_calls = choices.servePlatformCalls;
  }
  if (choices.environment.length > 0) entry.environment = [...new Set(choices.environment)];
  const rest = { ...(metadata ?? {}) };
  delete rest[NOTEBOOK_METADATA_KEY];
  return Object.keys(entry).length > 0 ? { ...rest, [NOTEBOOK_METADATA_KEY]: entry } : rest;
}

/** The choices of an .ipynb file's text (none when it is not a notebook). */
export function notebookFileChoices(json: string): NotebookChoices {
  try {
    return readNotebookChoices((JSON.parse(json) as { metadata?: unknown } | null)?.metadata);
  } catch {
    return { environment: [] };
  }
}
