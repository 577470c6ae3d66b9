import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const fakeVscode = fileURLToPath(new URL('./test/unit/fakes/vscode.ts', import.meta.url));

export default defineConfig({
  test: {
    projects: [
      {
        resolve: { alias: { vscode: fakeVscode } },
        test: { name: 'unit', include: ['test/unit/**/*.unit.test.ts'], environment: 'node' },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.int.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Real VS Code (code-server) in Debian's Chromium; see test/e2e/README.md.
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.test.ts'],
          environment: 'node',
          globalSetup: ['test/e2e/globalSetup.ts'],
          // One code-server at a time (2 cores): the test:e2e script passes --no-file-parallelism.
          testTimeout: 180_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
