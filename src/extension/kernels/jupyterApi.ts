/** The Jupyter extension's API (ms-toolsai.jupyter), or an error that says what to do. */
import type { Jupyter, Kernel } from '@vscode/jupyter-extension';
import * as vscode from 'vscode';
import { helperLanguage } from '../../broker/kernelLanguage';
import { attributed } from '../jupyterCalls';
import { UserFacingError } from '../registerCommand';

export const JUPYTER_EXTENSION_ID = 'ms-toolsai.jupyter';

export async function getJupyterApi(): Promise<Jupyter> {
  const extension = vscode.extensions.getExtension<Jupyter>(JUPYTER_EXTENSION_ID);
  if (!extension) {
    throw new UserFacingError(
      'get_secret in local notebooks needs the Jupyter extension (ms-toolsai.jupyter). Install it, open the notebook with a Python kernel, then run "Enable get_secret for this notebook" again.',
      [
        {
          title: 'Install Jupyter',
          run: installJupyter,
        },
      ],
    );
  }
  try {
    return attributed(extension.isActive ? extension.exports : await extension.activate());
  } catch (error) {
    throw new UserFacingError(
      `The Jupyter extension failed to start (${error instanceof Error ? error.message : 'unknown error'}). Reload the window and try again.`,
    );
  }
}

/**
 * Installs the Jupyter extension from the marketplace; where that fails (no marketplace, as in
 * code-server, or offline), says so and shows it in the Extensions view to install another way.
 */
async function installJupyter(): Promise<void> {
  try {
    await vscode.commands.executeCommand(
      'workbench.extensions.installExtension',
      JUPYTER_EXTENSION_ID,
    );
  } catch (error) {
    await vscode.commands.executeCommand(
      'workbench.extensions.search',
      `@id:${JUPYTER_EXTENSION_ID}`,
    );
    void vscode.window.showErrorMessage(
      `Could not install the Jupyter extension (${error instanceof Error ? error.message : String(error)}). Install ${JUPYTER_EXTENSION_ID} from the Extensions view, or from a .vsix with "Extensions: Install from VSIX…".`,
    );
  }
}

/**
 * The Jupyter extension's API, or undefined when it is not installed or fails to start (for
 * background work that has no one to ask; `onError` hears why it failed to start).
 */
export async function findJupyterApi(
  onError?: (message: string) => void,
): Promise<Jupyter | undefined> {
  if (!vscode.extensions.getExtension(JUPYTER_EXTENSION_ID)) return undefined;
  try {
    return await getJupyterApi();
  } catch (error) {
    onError?.(error instanceof Error ? error.message : String(error));
    return undefined;
  }
}

/** The running kernel of a notebook, explaining why there is none. */
export async function getNotebookKernel(
  jupyter: Jupyter,
  notebook: { uri: vscode.Uri },
): Promise<Kernel> {
  let kernel: Kernel | undefined;
  try {
    kernel = await jupyter.kernels.getKernel(notebook.uri);
  } catch (error) {
    throw accessDenied(error);
  }
  if (!kernel) {
    throw new UserFacingError(
      'This notebook\'s kernel is not running yet. Select a Python kernel and run any cell, then run "Enable get_secret for this notebook" again. (If VS Code asked whether Notebook Secrets may access Jupyter kernels, choose Allow.)',
    );
  }
  if (!helperLanguage(kernel.language)) {
    throw new UserFacingError(
      `get_secret needs a Python or R kernel; this notebook's kernel runs ${kernel.language}.`,
    );
  }
  if (kernel.status === 'dead' || kernel.status === 'terminating') {
    throw new UserFacingError("This notebook's kernel has stopped. Restart it, then try again.");
  }
  return kernel;
}

export function accessDenied(error: unknown): UserFacingError {
  const message = error instanceof Error ? error.message : String(error);
  return new UserFacingError(
    `The Jupyter extension refused access to this notebook's kernel (${message}). Allow Notebook Secrets with "Jupyter: Manage Access To Jupyter Kernels", then try again.`,
    [
      {
        title: 'Manage Access',
        run: () => vscode.commands.executeCommand('jupyter.manageAccessToKernels'),
      },
    ],
  );
}

/**
 * The Error name the Jupyter extension gives a refused kernel access (the user chose Deny in its
 * "grant Kernel access" dialog, or the workspace is untrusted): src/standalone/api/kernels/kernel.ts.
 */
export const KERNEL_ACCESS_REVOKED = 'vscode.jupyter.apiAccessRevoked';

export function isKernelAccessRevoked(error: unknown): boolean {
  return error instanceof Error && error.name === KERNEL_ACCESS_REVOKED;
}

/**
 * Runs code in the kernel and returns what it printed on stdout; fails with the Python error's
 * name and message (never the code).
 */
export async function executeInKernel(
  kernel: Kernel,
  code: string,
  timeoutMs = 30_000,
): Promise<string> {
  const cancel = new vscode.CancellationTokenSource();
  const timer = setTimeout(() => cancel.cancel(), timeoutMs);
  let stdout = '';
  try {
    for await (const output of kernel.executeCode(code, cancel.token)) {
      for (const item of output.items) {
        if (item.mime === 'application/vnd.code.notebook.stdout') {
          stdout += new TextDecoder().decode(item.data);
        }
        if (item.mime === 'application/vnd.code.notebook.error') {
          const parsed = safeJson(new TextDecoder().decode(item.data));
          throw new UserFacingError(
            `Enabling get_secret failed in the kernel: ${parsed?.name ?? 'Error'}: ${parsed?.message ?? ''}`.trim(),
          );
        }
      }
    }
    if (cancel.token.isCancellationRequested) {
      throw new UserFacingError(
        'The kernel did not run the get_secret setup in time; it may be busy. Wait for the running cell to finish, then try again.',
      );
    }
    return stdout;
  } finally {
    clearTimeout(timer);
    cancel.dispose();
  }
}

function safeJson(text: string): { name?: string; message?: string } | undefined {
  try {
    return JSON.parse(text) as { name?: string; message?: string };
  } catch {
    return undefined;
  }
}
