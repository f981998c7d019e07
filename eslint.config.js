import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'infra/kafka/.local/**',
      'schemas/**',
      '**/*.js',
      '!eslint.config.js',
    ],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A dropped promise in a consumer loop loses an acknowledgement.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Named exports only.' }],
    },
  },
  {
    // Core is pure: no infrastructure, no Node built-ins, no clock of its own.
    files: ['packages/core/src/**/*.ts'],
    ignores: ['packages/core/src/**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'pg', 'kafkajs', 'ioredis', 'fastify', '@strata/*'], message: 'core is pure' },
          ],
        },
      ],
    },
  },
  {
    // The contract and its client run in browsers too (the console): no Node built-ins, no servers.
    files: ['packages/contracts/src/**/*.ts'],
    ignores: ['packages/contracts/src/**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'pg', 'kafkajs', 'ioredis', 'fastify'], message: 'contracts run in browsers too' },
          ],
        },
      ],
    },
  },
  {
    // Vitest's global setup and config, and Vite's config, must default-export.
    files: ['test/setup/global-setup.ts', 'vitest.config.ts', 'packages/console/vite.config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
