/**
 * The code injected into a kernel: the helper's source, where to reach the broker and the kernel's
 * own token. Never a value. It defines the `notebook_secrets` module and puts get_secret,
 * get_secret_bytes and the four error classes in the user's namespace.
 */
import { createHash } from 'node:crypto';

export interface InjectionOptions {
  helperSource: string;
  token: string;
  /** `unix:/…` or `http://127.0.0.1:PORT`; absent for in-band only. */
  endpoint?: string;
  /** Whether the client answers in band (remote kernels). */
  inband: boolean;
  /**
   * `false` turns off the redaction of served values in this kernel's outputs (on by default).
   * Left out, a re-injection keeps whatever the kernel has (a cell may have called
   * `redact_outputs`).
   */
  redactOutputs?: boolean;
  /**
   * The SHA-256 (hex) of a token this kernel claimed by itself: the code then prints
   * `notebook_secrets: claim held` when the kernel's helper holds that token, else
   * `notebook_secrets: claim missing` (someone else claimed it).
   */
  verifyClaim?: string;
  /**
   * The client has names for this kernel's environment: the helper asks for them before the next
   * cell (over a broker it always asks; in band only when told, since nobody may be there).
   */
  environment?: boolean;
}

export const CLAIM_HELD = 'notebook_secrets: claim held';

export const EXPORTED_NAMES = [
  'get_secret',
  'get_secret_bytes',
  'SecretNotFoundError',
  'SecretAccessError',
  'SecretsUnavailableError',
  'SecretTooLargeError',
] as const;

/**
 * A kernel that already has this very helper keeps its module and is only re-configured, so
 * names a cell imported earlier keep working and the helper keeps the tokens of earlier
 * injections (another client attached to the same kernel may still answer with one). A different
 * helper replaces the module and inherits those tokens.
 */
export function buildInjectionCode(options: InjectionOptions): string {
  const source = Buffer.from(options.helperSource, 'utf8').toString('base64');
  const digest = createHash('sha256').update(options.helperSource).digest('hex');
  const py = (text: string | undefined): string =>
    text === undefined ? 'None' : JSON.stringify(text);
  return [
    'def _notebook_secrets_install():',
    '    import base64, sys, types',
    "    module = sys.modules.get('notebook_secrets')",
    ...(options.verifyClaim
      ? [
          '    import hashlib',
          "    held = getattr(getattr(module, '_config', None), 'token', None)",
          "    held = isinstance(held, str) and hashlib.sha256(held.encode('utf-8')).hexdigest()",
          `    print('notebook_secrets: claim ' + ('held' if held == '${options.verifyClaim}' else 'missing'))`,
        ]
      : []),
    `    if getattr(module, '_source_digest', None) != '${digest}':`,
    '        previous = module',
    "        module = types.ModuleType('notebook_secrets')",
    "        module.__file__ = '<notebook_secrets>'",
    `        code = base64.b64decode('${source}').decode('utf-8')`,
    "        exec(compile(code, '<notebook_secrets>', 'exec'), module.__dict__)",
    `        module._source_digest = '${digest}'`,
    "        if hasattr(module, '_inherit'):",
    '            module._inherit(previous)',
    "        sys.modules['notebook_secrets'] = module",
    `    module._configure(${py(options.token)}, endpoint=${py(options.endpoint)}, inband=${options.inband ? 'True' : 'False'}${options.redactOutputs === false ? ', redact=False' : ''}${options.environment ? ', environment=True' : ''})`,
    '    return module',
    '_notebook_secrets_module = _notebook_secrets_install()',
    ...EXPORTED_NAMES.map((n) => `${n} = _notebook_secrets_module.${n}`),
    'del _notebook_secrets_install, _notebook_secrets_module',
    '',
  ].join('\n');
}
