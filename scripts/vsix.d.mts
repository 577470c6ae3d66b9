// Types for scripts/vsix.mjs, which the benchmarks (TypeScript) load.
export function packVsix(cwd: string, out: string): Promise<string>;
