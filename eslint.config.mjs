import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.data/', '.tools/', 'eslint.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The CLI's launcher (package.json "bin") is plain CommonJS outside the TypeScript project.
    files: ['**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: 'commonjs',
      parserOptions: { projectService: false },
      globals: { require: 'readonly', process: 'readonly', console: 'readonly', __dirname: 'readonly' },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no database
    // drivers, no activity implementations (only their types), no zod schemas built at load time.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', 'fs', 'path', 'os', 'crypto', 'http', 'https', 'net', 'child_process', 'timers', 'util', 'events', 'stream'], message: 'Workflow code may not use Node built-ins.' },
          { group: ['pg', 'knex', 'fastify', 'pino', 'zod'], message: 'Workflow code may not use drivers, servers or zod.' },
          { group: ['../activities/*', '../src/*'], allowTypeImports: true, message: 'Workflows import activities and the domain as types only.' },
        ],
      }],
    },
  },
  {
    // Activities stay a set of small steps, each receiving its context (issue 20).
    files: ['activities/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // No function over 80 lines in the product and its tools (issue 20): a route plugin registers
    // one function per route group, a CLI one per command, a workflow its stages. Activities have
    // their own entry above; tests and migrations (a migration is a table's definition, applied
    // once and never rewritten) are left out.
    files: ['**/*.ts', 'src/console/**/*.js'],
    ignores: ['test/**', 'migrations/**', 'activities/**'],
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read JSON answers loosely and poll with small async probes.
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // The console's browser code: plain ES modules served as they are (no build step), so no
    // type information, and the browser's globals instead of Node's.
    files: ['src/console/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'module',
      globals: Object.fromEntries(
        ['window', 'document', 'sessionStorage', 'fetch', 'URL', 'URLSearchParams', 'FormData', 'CustomEvent', 'Intl', 'setTimeout', 'clearTimeout']
          .map((name) => [name, 'readonly']),
      ),
    },
  },
);
