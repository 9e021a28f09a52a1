/**
 * docs/AMQP.md's reply codes are the ones a publisher can get: every error the
 * worker raises (its `errors.*` shorthands, and INTERNAL_ERROR for anything
 * unforeseen) is in the page's table, and every other code of the protocol is
 * named as WebSocket-only. test/amqp.int.test.ts sees the replies themselves.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, errors } from '@media-foundry/shared';
import { ROOT } from './helpers/paths.js';

const page = readFileSync(join(ROOT, 'docs', 'AMQP.md'), 'utf8');
const section = (title: string) => {
  const start = page.indexOf(`## ${title}`);
  if (start < 0) throw new Error(`docs/AMQP.md has no "## ${title}"`);
  const end = page.indexOf('\n## ', start + 1);
  return page.slice(start, end < 0 ? undefined : end);
};
const replyCodes = section('Reply codes');
/** Codes in the table's first column. */
const tabled = new Set([...replyCodes.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]!));

/** The `errors.<name>(` shorthands used by the worker's own code (tests excluded). */
function workerShorthands(): string[] {
  const dir = join(ROOT, 'worker', 'src');
  const files = readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  const names = new Set<string>();
  for (const f of files) for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/\berrors\.([a-zA-Z]+)\(/g)) names.add(m[1]!);
  return [...names];
}

describe('docs/AMQP.md reply codes', () => {
  it('lists every code the worker answers with', () => {
    const shorthands = workerShorthands();
    expect(shorthands).toContain('invalidJson');
    const raised = new Set(shorthands.map((name) => (errors[name as keyof typeof errors] as (d: string) => { code: string })('x').code));
    raised.add(ErrorCode.INTERNAL_ERROR); // AppError.from: anything that is not an AppError
    expect([...raised].filter((code) => !tabled.has(code))).toEqual([]);
  });

  it('names every other code of the protocol as one a publisher never gets', () => {
    const wsOnly = Object.values(ErrorCode).filter((code) => !tabled.has(code));
    for (const code of wsOnly) expect(replyCodes).toContain(`\`${code}\``);
    expect(replyCodes).toMatch(/WebSocket-only codes/);
  });

  it('describes the dead-letter path as it runs (worker/src/dead-letters.ts)', () => {
    const deadLetters = section('Dead-lettered jobs').replace(/\s+/g, ' ');
    const source = readFileSync(join(ROOT, 'worker', 'src', 'dead-letters.ts'), 'utf8');
    for (const words of ['Job abandoned after repeated worker failures', 'job dead-lettered']) {
      expect(source).toContain(words);
      expect(deadLetters).toContain(words);
    }
  });
});
