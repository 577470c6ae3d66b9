import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const noVscode = {
  name: 'vscode',
  message: 'This folder must not depend on VS Code: keep it pure and pass what you need in.',
};

/**
 * What the extension's bundle reaches holds zod/mini only: see
 * test/unit/extension/activationBundle.unit.test.ts.
 */
const noClassicZod = {
  name: 'zod',
  message:
    "Write schemas with zod/mini: `import * as z from` src/core/zod.ts. Classic zod in the extension's bundle puts all of zod's core into what activation reads.",
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'test/e2e/artifacts/**',
      'out/**',
      // The prebuilt lab extension (built output) and the CommonJS config its build merges.
      'jupyterlab/notebook_secrets_jupyterlab/labextension/**',
      'jupyterlab/extension/rspack.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // What ships (and the bench, demo and scripts around it) is checked with the type-checked set;
  // the tests keep the recommended set, since they read JSON answers and fakes as loosely typed
  // data. The scripts are JavaScript typed with JSDoc, which tsc checks (checkJs).
  ...tseslint.configs.recommendedTypeChecked.map((config) => ({
    ...config,
    // (The JupyterLab extension is type-checked by its own build, against JupyterLab's packages.)
    files: [
      'src/**/*.ts',
      'bench/**/*.ts',
      'demo/**/*.ts',
      '*.mjs',
      'scripts/**/*.mjs',
      'demo/**/*.mjs',
    ],
  })),
  {
    // tsc checks the names the scripts use (checkJs), Node's globals included.
    files: ['**/*.mjs'],
    rules: { 'no-undef': 'off' },
  },
  {
    files: ['**/*.ts', '*.mjs', 'scripts/**/*.mjs', 'demo/**/*.mjs'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // An async function without await is how a method keeps a Promise-returning interface and
      // turns a throw into a rejection; the rule would ask for Promise.resolve/reject by hand.
      '@typescript-eslint/require-await': 'off',
      // Dependencies are passed as plain objects of closures, and Lumino's signals take a method
      // with its `this` (`connect(this.render, this)`): a method read off an object is intended.
      '@typescript-eslint/unbound-method': 'off',
      'no-restricted-syntax': [
        'error',
        {
          // `import { z }` pulls every zod locale into the bundle (~370 KB); the namespace import
          // lets esbuild drop what is unused.
          selector:
            "ImportDeclaration[source.value=/^zod(\\/mini)?$/] > ImportSpecifier[imported.name='z']",
          message: 'Use `import * as z from …` so the bundle stays small.',
        },
      ],
    },
  },
  {
    // The sizes CONTRIBUTING names: past them, ask whether a file or function holds two concepts.
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['warn', { max: 400, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['warn', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // Dependencies point inward: nothing pure may import vscode or an outer folder.
    files: ['src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-imports': [
        'error',
        {
          paths: [noVscode, noClassicZod],
          patterns: ['**/extension/**', '**/server/**', '**/sync/**', '**/broker/**', '**/cli/**'],
        },
      ],
    },
  },
  {
    files: ['src/broker/**/*.ts', 'src/sync/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [noVscode, noClassicZod],
          patterns: ['**/extension/**', '**/server/**', '**/cli/**'],
        },
      ],
    },
  },
  {
    files: ['src/extension/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [noClassicZod] }] },
  },
  {
    files: ['src/server/**/*.ts', 'src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [noVscode], patterns: ['**/extension/**'] }],
    },
  },
);
