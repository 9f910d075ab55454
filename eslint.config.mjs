// @ts-check
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import jest from 'eslint-plugin-jest';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'coverage/**',
      '.cache/**',
      'node_modules/**',
      '*.js',
      '*.mjs',
      'tools/**/*.js',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      curly: ['error', 'all'],
      // A library is used through its public entries only (libs/<lib>/src/index.ts, and the
      // consumer's NestJS integration at @rescind/revocation-consumer/nest).
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '@rescind/*/*',
                '!@rescind/revocation-consumer/nest',
                '!@rescind/revocation-consumer/prometheus',
                '**/libs/*/src/*',
                '!**/libs/*/src/index',
              ],
              message:
                'Import a library through its entry point (@rescind/<lib>), not its internals.',
            },
          ],
        },
      ],
    },
  },
  {
    // Nest injects by constructor parameter type: these imports must stay values.
    files: ['apps/**/*.ts'],
    rules: { '@typescript-eslint/consistent-type-imports': 'off' },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    ...jest.configs['flat/recommended'],
    rules: {
      ...jest.configs['flat/recommended'].rules,
      'jest/no-focused-tests': 'error',
      'jest/valid-expect': 'error',
      'jest/valid-title': ['error', { ignoreTypeOfDescribeName: true }],
      'jest/expect-expect': ['error', { assertFunctionNames: ['expect', 'expect*', 'fc.assert'] }],
      '@typescript-eslint/unbound-method': 'off',
      // jest's asymmetric matchers (expect.any, objectContaining) are typed `any`.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    // Benchmarks measure library internals on purpose (e.g. the deny-list's on-disk format).
    files: ['bench/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // The jest global setup starts the shared broker before moduleNameMapper applies.
    files: ['test/support/global-setup.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  prettier,
  {
    // The test IdP runs as a plain ES module (node-oidc-provider is ESM-only): linted as
    // JavaScript, without type information.
    files: ['test/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'module',
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        structuredClone: 'readonly',
      },
    },
  },
);
