/**
 * ESLint: typescript-eslint's type-aware recommended rules, plus the layer rules of
 * docs/architecture.md (eslint/layers.js, src/ only). Type information comes from the `typescript`
 * package through the two tsconfigs. Formatting is Prettier's job, not ESLint's.
 */
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { layersPlugin } from './eslint/layers.js';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tmp/**', '.scratch/**', 'test/support/k8s/**', 'test/support/etcd/**', 'test/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: ['./tsconfig.json', './test/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `arr[i]!` is deliberate here: it marks an index known to be present (TypeScript types it as
      // present anyway without noUncheckedIndexedAccess, which is what this rule reports)
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // async methods that implement a Promise-returning interface need no await
      '@typescript-eslint/require-await': 'off',
      // String(value) of an unknown config value in an error message is meant to show it as is
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { kubestrap: layersPlugin },
    rules: { 'kubestrap/imports': 'error' },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // node:test's test()/describe() return promises the runner itself tracks
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-misused-promises': 'off',
      // tests read parsed JSON/YAML documents field by field
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      'preserve-caught-error': 'off',
      // wire-format tests spell out exact literals (int64 limits, column spacing)
      'no-loss-of-precision': 'off',
      'no-regex-spaces': 'off',
    },
  },
  {
    // plain JS (this file, eslint/, the build script, bin/): no type information
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
