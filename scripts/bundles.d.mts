// Types for scripts/bundles.mjs, which the integration tests and benchmarks (TypeScript) import.
import type { BuildOptions } from 'esbuild';

export interface BundleOptions {
  /** Where the bundles go (default: dist/). */
  outdir?: string;
  /** Minified, without source maps. */
  production?: boolean;
}

export function extensionBundle(options?: BundleOptions): BuildOptions;
export function cliBundle(options?: BundleOptions): BuildOptions;
