/**
 * The calls into the Jupyter extension's API that it attributes to an extension by the call stack
 * (src/platform/common/application/extensions.node.ts in microsoft/vscode-jupyter): reading
 * `kernels`, which hands out an API of the caller's own, and `createJupyterServerCollection`. It
 * matches each stack frame's file *path* against the installed extensions' folders; a frame of an
 * ES module is a `file:` URL, which it does not match, so it would take the caller for an unknown
 * extension and refuse it kernel access. The extension's bundle is an ES module (split in chunks),
 * so these calls are made from its CommonJS entry (entry.ts), whose frames are paths, and handed
 * in at activation. Unbundled (tests), they are made here.
 */
import type { Jupyter, JupyterServerCollection, Kernels } from '@vscode/jupyter-extension';

export interface JupyterCalls {
  kernelsOf(api: Jupyter): Kernels;
  createServerCollection(
    api: Jupyter,
    ...args: Parameters<Jupyter['createJupyterServerCollection']>
  ): JupyterServerCollection;
}

export const DIRECT_CALLS: JupyterCalls = {
  kernelsOf: (api) => api.kernels,
  createServerCollection: (api, ...args) => api.createJupyterServerCollection(...args),
};

let calls: JupyterCalls = DIRECT_CALLS;

/** Set once by activate(). */
export function useJupyterCalls(given: JupyterCalls): void {
  calls = given;
}

/** The Jupyter API, with the caller-attributed calls made through the CommonJS entry. */
export function attributed(api: Jupyter): Jupyter {
  return {
    ...api,
    get kernels() {
      return calls.kernelsOf(api);
    },
    createJupyterServerCollection: (...args) => calls.createServerCollection(api, ...args),
  };
}
