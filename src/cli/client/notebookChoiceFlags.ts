/**
 * The notebook choices (core/notebookChoices.ts) for the commands that serve kernels, `run
 * --kernels` and `attach`: what each notebook's metadata says, plus what the command line adds,
 * `--platform-calls` (serve other platforms' secret calls in every kernel) and `--environment
 * A,B` (these names in every kernel's environment).
 */
import { readFileSync } from 'node:fs';
import { notebookFileChoices, type NotebookChoices } from '../../core/notebookChoices';
import { FORM_LABELS, type PlatformForm } from '../../core/secretReads';
import { NAME_PATTERN } from '../../core/model';

export interface ChoiceFlags {
  /** `--platform-calls`. */
  platformCalls?: boolean;
  /** `--environment A,B`, parsed. */
  environment?: string[];
}

/** The notebook's choices with the command line's added: the flags win. */
export function withFlags(found: NotebookChoices, flags: ChoiceFlags): NotebookChoices {
  const serve = flags.platformCalls ? true : found.servePlatformCalls;
  return {
    ...(serve !== undefined && { servePlatformCalls: serve }),
    environment: [...new Set([...found.environment, ...(flags.environment ?? [])])],
  };
}

/**
 * The choices of the notebooks a command names (`papermill in.ipynb out.ipynb`): serve when one
 * says so, the union of their environments. Files that do not exist yet (the output) are skipped.
 */
export function notebooksInCommand(argv: readonly string[]): NotebookChoices {
  const all = argv
    .filter((arg) => arg.endsWith('.ipynb'))
    .flatMap((path) => {
      try {
        return [notebookFileChoices(readFileSync(path, 'utf8'))];
      } catch {
        return [];
      }
    });
  const serve = all.some((c) => c.servePlatformCalls === true)
    ? true
    : all.some((c) => c.servePlatformCalls === false)
      ? false
      : undefined;
  return {
    ...(serve !== undefined && { servePlatformCalls: serve }),
    environment: [...new Set(all.flatMap((c) => c.environment))],
  };
}

/** Splits `--environment A,B --environment C` into names, refusing what is not a secret name. */
export function parseNameList(values: readonly string[] | undefined, flag: string): string[] {
  const names = (values ?? []).flatMap((v) => v.split(',')).map((n) => n.trim());
  for (const name of names) {
    if (!NAME_PATTERN.test(name)) {
      throw new Error(`${flag} takes secret names separated by commas; '${name}' is not one.`);
    }
  }
  return names;
}

/** What a kernel prints when a cell reads keys another platform's way and nothing decides it. */
export function undecidedNote(command: string): (platforms: PlatformForm[]) => string {
  return (platforms) =>
    `this cell reads keys the ${platforms.map((p) => FORM_LABELS[p]).join(' and ')} way. To serve them from your secrets, run ${command} with --platform-calls (or set "serve_platform_calls": true under "notebook_secrets" in the notebook's metadata); or port the notebook to get_secret.`;
}
