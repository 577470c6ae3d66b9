// Packs an extension folder into a .vsix with vsce, quietly: for the demo's Jupyter stand-in and
// the benchmarks' tiny extensions (the product's own .vsix: scripts/packageVsix.mjs).
import { createVSIX } from '@vscode/vsce';

/**
 * Packs `cwd` (a folder with package.json and the extension's files) into `out`.
 * @param {string} cwd
 * @param {string} out
 * @returns {Promise<string>}
 */
export async function packVsix(cwd, out) {
  // vsce lists what it packed on stdout; failures still throw.
  const { log, info } = console;
  console.log = console.info = () => undefined;
  try {
    await createVSIX({
      cwd,
      packagePath: out,
      dependencies: false,
      allowMissingRepository: true,
      skipLicense: true,
    });
  } finally {
    Object.assign(console, { log, info });
  }
  return out;
}
