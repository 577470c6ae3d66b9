/**
 * The built CLI keeps V8's code cache in $XDG_CACHE_HOME/notebook-secrets/compile, else in
 * ~/.cache/notebook-secrets/compile (src/cli/bin.ts). The tests that run it give it a temporary
 * HOME, or point XDG_CACHE_HOME at out/test-cache in the checkout (next to the CLI bundles they
 * build, out/test-*), so a test run writes nothing into the tester's own cache. The CLI removes
 * the caches of older bundles there itself.
 */
import { join, resolve } from 'node:path';

const FOLDER = join(resolve(__dirname, '../..'), 'out', 'test-cache');

/** The XDG_CACHE_HOME of the CLI runs in tests. */
export function testCacheHome(): string {
  return FOLDER;
}
