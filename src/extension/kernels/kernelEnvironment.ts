/**
 * get_secret from the first cell of a local kernel, under the Jupyter extension's stable API.
 *
 * The Jupyter extension refuses its kernel start hook (`kernels.onDidStart`) to third-party
 * extensions and hands out a kernel only after the user ran a cell in it, so nothing can set up a
 * kernel before its first cell. What it does give every local kernel it starts is the environment
 * of the extension host it runs in (`{ ...process.env }`, in kernelEnvVarsService.node.ts, for raw
 * kernels and for kernels of a Jupyter server it starts). Notebook Secrets runs in that same
 * extension host, so it puts three variables there: the helper's folder on PYTHONPATH (so
 * `from notebook_secrets import get_secret` works in the first cell), the window's broker endpoint,
 * and a claim token. A kernel's first get_secret claims a token of its own with it, naming its
 * notebook (`__vsc_ipynb_file__`, set by the Jupyter extension in each kernel it starts); the claim
 * token allows nothing else, and LocalKernels decides (see {@link LocalKernels.claim}).
 *
 * A fourth, PYTHONSTARTUP, names the helper's start-up file, which IPython kernels run as they
 * start (IPython's `exec_PYTHONSTARTUP`): it installs the helper's kernel hooks before the first
 * cell (other platforms' secret calls, the notebook's environment) and then runs the user's own
 * PYTHONSTARTUP file, kept in NOTEBOOK_SECRETS_PYTHONSTARTUP. Plain `python` runs it only when
 * interactive; scripts and `!` commands never do.
 *
 * Nothing is written to disk and nothing outlives the window: the variables live in this process
 * only, and reach kernels started from now on. Never a value.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { delimiter } from 'node:path';
import { chainStartup, OWN_STARTUP_ENV } from '../../broker/helperSource';

/** python/notebook_secrets.py reads the same names. */
export const VSCODE_BROKER_ENV = 'NOTEBOOK_SECRETS_VSCODE_BROKER';
export const VSCODE_CLAIM_ENV = 'NOTEBOOK_SECRETS_VSCODE_CLAIM';
export class KernelEnvironment {
  private claimToken: Buffer | undefined;
  private pythonPath: { before: string | undefined; set: string } | undefined;
  private startup: { before: string | undefined; set: string } | undefined;

  constructor(
    /** The folder holding notebook_secrets.py. */
    private readonly helperDir: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  get installed(): boolean {
    return this.claimToken !== undefined;
  }

  /** Puts the helper, the broker and a fresh claim token in the environment new kernels inherit. */
  install(endpoint: string): void {
    this.uninstall();
    const token = randomBytes(32).toString('base64url');
    this.claimToken = Buffer.from(token);
    const before = this.env.PYTHONPATH;
    const set = before ? `${this.helperDir}${delimiter}${before}` : this.helperDir;
    this.env.PYTHONPATH = set;
    this.pythonPath = { before, set };
    this.env[VSCODE_BROKER_ENV] = endpoint;
    this.env[VSCODE_CLAIM_ENV] = token;
    const own = this.env.PYTHONSTARTUP;
    const startup = chainStartup(this.env, this.helperDir);
    if (startup) this.startup = { before: own, set: startup };
  }

  /** Takes the variables back (kernels already running keep theirs; their claims are refused). */
  uninstall(): void {
    if (!this.claimToken) return;
    this.claimToken = undefined;
    delete this.env[VSCODE_BROKER_ENV];
    delete this.env[VSCODE_CLAIM_ENV];
    // Another extension may have changed PYTHONPATH since: then it is theirs to keep.
    if (this.pythonPath && this.env.PYTHONPATH === this.pythonPath.set) {
      if (this.pythonPath.before === undefined) delete this.env.PYTHONPATH;
      else this.env.PYTHONPATH = this.pythonPath.before;
    }
    this.pythonPath = undefined;
    if (this.startup && this.env.PYTHONSTARTUP === this.startup.set) {
      if (this.startup.before === undefined) delete this.env.PYTHONSTARTUP;
      else this.env.PYTHONSTARTUP = this.startup.before;
      delete this.env[OWN_STARTUP_ENV];
    }
    this.startup = undefined;
  }

  /** Whether `presented` is the current claim token (constant-time). */
  accepts(presented: string): boolean {
    const token = this.claimToken;
    if (!token) return false;
    const given = Buffer.from(presented);
    return given.length === token.length && timingSafeEqual(given, token);
  }
}
