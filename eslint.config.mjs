import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const noVscode = {
  name: 'vscode',
  message: 'This folder must not depend on VS Code: keep it pure and pass what you need in.',
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'test/e2e/artifacts/**',
      'out/**',
      '**/*.mjs',
      // The prebuilt lab extension (built output) and the CommonJS config its build merges.
      'jupyterlab/notebook_secrets_jupyterlab/labextension/**',
      'jupyterlab/extension/rspack.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // What ships (and the bench and demo around it) is checked with the type-checked set; the tests
  // keep the recommended set, since they read JSON answers and fakes as loosely typed data.
  ...tseslint.configs.recommendedTypeChecked.map((config) => ({
    ...config,
    files: ['src/**/*.ts', 'bench/**/*.ts', 'demo/**/*.ts', 'jupyterlab/extension/src/**/*.ts'],
  })),
  {
    files: ['**/*.ts'],
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
          selector: "ImportDeclaration[source.value='zod'] > ImportSpecifier[imported.name='z']",
          message: "Use `import * as z from 'zod'` so the bundle stays small.",
        },
      ],
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
          paths: [noVscode],
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
        { paths: [noVscode], patterns: ['**/extension/**', '**/server/**', '**/cli/**'] },
      ],
    },
  },
  {
    files: ['src/server/**/*.ts', 'src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [noVscode], patterns: ['**/extension/**'] }],
    },
  },
);
