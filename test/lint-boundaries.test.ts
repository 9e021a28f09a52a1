/**
 * The workspace boundaries are kept by the linter (eslint.config.js
 * `boundaryRules`): this runs those exact rules, through ESLint's Node API, on a
 * tiny fixture with a deliberate import cycle, a relative reach into another
 * package and a deep import past a package's public entry, and asserts each is
 * reported — and that imports through the public entries are not.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';
import { useTempDir } from '@media-foundry/test-support';
import { ROOT } from './helpers/paths.js';

interface LintConfigModule {
  boundaryRules: Linter.RulesRecord;
  boundarySettings: Record<string, unknown>;
}

const FIXTURE: Record<string, string> = {
  'package.json': '{ "name": "fixture-root", "type": "module" }',
  'pkg/package.json': '{ "name": "fixture-pkg", "type": "module" }',
  'pkg/src/index.ts': "export { a } from './a.js';\n",
  // a.ts → b.ts → a.ts: the deliberate cycle
  'pkg/src/a.ts': "import { b } from './b.js';\nexport const a = (): number => b() + 1;\n",
  'pkg/src/b.ts': "import { a } from './a.js';\nexport const b = (): number => (Math.random() > 2 ? a() : 0);\n",
  'pkg/src/leaf.ts': 'export const leaf = 1;\n',
  // another package reached into by a relative path
  'app/relative-reach.ts': "import { leaf } from '../pkg/src/leaf.js';\nexport const x = leaf;\n",
  // a deep import past @media-foundry/shared's public entry
  'app/deep-import.ts': "import { errors } from '@media-foundry/shared/dist/errors.js';\nexport const y = errors;\n",
  // what the rules allow: the public entries
  'app/public-entries.ts':
    "import { errors } from '@media-foundry/shared';\nimport { logger } from '@media-foundry/shared/node';\nimport { buildPlan } from '@media-foundry/worker/lib';\nexport const z = [errors, logger, buildPlan];\n",
};

const dir = useTempDir('lint-boundaries-');
let results: Map<string, Linter.LintMessage[]>;

beforeAll(async () => {
  for (const [path, text] of Object.entries(FIXTURE)) {
    mkdirSync(dirname(join(dir(), path)), { recursive: true });
    writeFileSync(join(dir(), path), text);
  }
  // eslint.config.js is plain JS at the root (outside every tsconfig): loaded by URL.
  const lintConfig = (await import(pathToFileURL(join(ROOT, 'eslint.config.js')).href)) as LintConfigModule;
  const eslint = new ESLint({
    cwd: dir(),
    overrideConfigFile: true,
    overrideConfig: [
      {
        files: ['**/*.ts'],
        languageOptions: { parser: tseslint.parser as Linter.Parser },
        plugins: { 'import-x': importX as unknown as ESLint.Plugin },
        settings: lintConfig.boundarySettings,
        rules: lintConfig.boundaryRules,
      },
    ],
  });
  const lint = await eslint.lintFiles(['**/*.ts']);
  results = new Map(lint.map((r) => [r.filePath.slice(dir().length + 1), r.messages]));
}, 60_000);

const rulesAt = (file: string) => (results.get(file) ?? []).map((m) => m.ruleId ?? `fatal: ${m.message}`);

test('an import cycle is an error, reported on both sides', () => {
  expect(rulesAt('pkg/src/a.ts')).toEqual(['import-x/no-cycle']);
  expect(rulesAt('pkg/src/b.ts')).toEqual(['import-x/no-cycle']);
});

test('a relative path into another package is an error', () => {
  expect(rulesAt('app/relative-reach.ts')).toEqual(['import-x/no-relative-packages']);
});

test('a deep import past a workspace’s public entry is an error that names the entries', () => {
  const messages = results.get('app/deep-import.ts') ?? [];
  expect(messages.map((m) => m.ruleId)).toEqual(['no-restricted-imports']);
  expect(messages[0]?.message).toContain('@media-foundry/shared/node');
});

test('the public entries and imports inside a package are allowed', () => {
  expect(rulesAt('app/public-entries.ts')).toEqual([]);
  expect(rulesAt('pkg/src/leaf.ts')).toEqual([]);
  expect(rulesAt('pkg/src/index.ts')).toEqual([]);
});
