// typescript-eslint with type information: floating promises and loose
// equality are bugs in a service that juggles sockets, queues and processes.
// eslint-plugin-import-x keeps the workspaces' boundaries: no import cycles,
// and another workspace only through its public entry (package.json exports).
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** The public entries of the workspaces; anything deeper is an internal. */
const PUBLIC_ENTRIES = ['shared', 'shared/node', 'client', 'worker/lib', 'test-support'];

/** The boundary rules, exported so test/lint-boundaries.test.ts runs exactly these on its fixture. */
export const boundaryRules = {
  // A cycle makes the import order decide which binding is still undefined.
  // maxDepth bounds the graph walk (lint time); our import chains are shorter.
  'import-x/no-cycle': ['error', { maxDepth: 12, ignoreExternal: true }],
  // `../../shared/src/x.js` from another workspace bypasses its public entry.
  'import-x/no-relative-packages': 'error',
  'no-restricted-imports': [
    'error',
    {
      patterns: [
        {
          regex: `^@media-foundry/(?!(?:${PUBLIC_ENTRIES.join('|')})$)`,
          message: `Import another workspace through its public entry only: ${PUBLIC_ENTRIES.map((e) => `@media-foundry/${e}`).join(', ')}.`,
        },
      ],
    },
  ],
};

/** How import-x resolves `./x.js` to x.ts and `@media-foundry/*` through package.json exports. */
export const boundarySettings = {
  // Without these import-x skips .ts files when it follows imports, and no-cycle sees nothing.
  'import-x/extensions': ['.ts', '.js'],
  'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
  'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
  'import-x/resolver-next': [createTypeScriptImportResolver({ project: '*/tsconfig.json', noWarnOnMultipleProjects: true })],
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    plugins: { 'import-x': importX },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    settings: boundarySettings,
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      eqeqeq: ['error', 'always'],
      'no-console': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `const { a, ...rest } = x` is how a typed union drops fields without a cast
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      ...boundaryRules,
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts', 'tools/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
