/** Builds the demo's Jupyter extension under `outDir` (emptied first); resolves to its .vsix. */
export function buildDemoJupyter(outDir: string): Promise<string>;
