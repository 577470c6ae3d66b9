/**
 * The code injected into an R kernel (IRkernel): the R helper's source, the broker's loopback TCP
 * endpoint and the kernel's own token. Never a value. It evaluates the helper in an environment
 * attached to the search path as "notebook_secrets", so get_secret and get_secret_raw are
 * visible in every cell; a kernel that already has this very helper is only re-configured.
 */
import { createHash } from 'node:crypto';

export interface RInjectionOptions {
  helperSource: string;
  token: string;
  /**
   * `http://127.0.0.1:PORT` (base R has no Unix sockets). Absent for kernels that cannot reach
   * the broker (remote servers), which ask in band.
   */
  endpoint?: string;
  /** Whether the client answers in band (remote kernels; IRkernel's internals). */
  inband?: boolean;
  /** `false` turns off the redaction of served values in this kernel's outputs. */
  redactOutputs?: boolean;
}

/** The R kernels' names: what Python exports, with get_secret_raw for get_secret_bytes. */
export const R_EXPORTED_NAMES = ['get_secret', 'get_secret_raw', 'redact_outputs'] as const;

export function buildRInjectionCode(options: RInjectionOptions): string {
  if (options.endpoint !== undefined && !/^http:\/\/127\.0\.0\.1:\d+$/.test(options.endpoint)) {
    throw new Error('An R kernel reaches the broker over TCP on 127.0.0.1 only.');
  }
  const digest = createHash('sha256').update(options.helperSource).digest('hex');
  // A JSON string literal is an R string literal too (same escapes; \uXXXX takes 4 digits).
  const r = (text: string | undefined): string =>
    text === undefined ? 'NULL' : JSON.stringify(text);
  const redact = options.redactOutputs === false ? ', redact = FALSE' : '';
  const inband = options.inband ? ', inband = TRUE' : '';
  return [
    'invisible(local({',
    '  env <- if ("notebook_secrets" %in% search()) as.environment("notebook_secrets") else',
    '    attach(NULL, name = "notebook_secrets", warn.conflicts = FALSE)',
    `  if (!identical(get0(".source_digest", envir = env, inherits = FALSE), "${digest}")) {`,
    `    eval(parse(text = ${r(options.helperSource)}, keep.source = FALSE), envir = env)`,
    `    assign(".source_digest", "${digest}", envir = env)`,
    '  }',
    `  env$.configure(${r(options.token)}, endpoint = ${r(options.endpoint)}${inband}${redact})`,
    '}))',
    '',
  ].join('\n');
}
