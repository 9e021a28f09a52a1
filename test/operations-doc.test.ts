/**
 * docs/OPERATIONS.md is generated from the zod schemas and the worker's
 * argument builders (tools/operations-doc.ts); this fails when the
 * committed file no longer matches them, and checks the printed command
 * lines are exactly what the worker runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { OPERATION_NAMES, operationOptions } from '@media-foundry/shared';
import { GLOBAL_ARGS, guardInputs } from '@media-foundry/worker/lib';
import {
  MEDIA,
  MEDIA_PLACEHOLDER,
  OPERATIONS_DOC_FILE,
  SAMPLE_OPTIONS,
  commandLine,
  renderOperationsDoc,
  samplePlan,
} from '#tools/operations-doc.js';

const REGENERATE = 'run `npm run docs:operations` and commit docs/OPERATIONS.md';

const fresh = renderOperationsDoc();

/** The words a POSIX shell makes of a printed command line (the abbreviation expanded). */
async function shellWords(line: string): Promise<string[]> {
  const { stdout } = await execa('sh', ['-c', `printf '%s\\n' ${line.split(MEDIA_PLACEHOLDER).join(MEDIA)}`]);
  return stdout.split('\n');
}

describe('docs/OPERATIONS.md', () => {
  it('is what the generator makes of the current schemas and builders', () => {
    if (!existsSync(OPERATIONS_DOC_FILE)) throw new Error(`docs/OPERATIONS.md is missing: ${REGENERATE}`);
    const committed = readFileSync(OPERATIONS_DOC_FILE, 'utf8');
    if (committed === fresh) return;
    const a = committed.split('\n');
    const b = fresh.split('\n');
    const line = a.findIndex((text, i) => text !== b[i]);
    const at = line < 0 ? b.length : line;
    throw new Error(
      `docs/OPERATIONS.md is out of date (first difference at line ${at + 1}: committed ${JSON.stringify(a[at] ?? '<end of file>')}, ` +
        `generated ${JSON.stringify(b[at] ?? '<end of file>')}): ${REGENERATE}`,
    );
  });

  it('has a section with options and a command for every operation', () => {
    for (const name of OPERATION_NAMES) {
      const section = fresh.split(`\n## ${name}\n`)[1]?.split('\n## ')[0] ?? '';
      expect({ name, options: section.includes('### Options'), command: section.includes('### Command') }).toEqual({
        name,
        options: true,
        command: true,
      });
    }
  });

  it('uses sample requests the schemas accept', () => {
    for (const name of OPERATION_NAMES)
      expect({ name, ok: operationOptions[name].safeParse(SAMPLE_OPTIONS[name]).success }).toEqual({ name, ok: true });
  });

  it('prints each run so that a shell splits it into exactly the arguments the worker passes ffmpeg', async () => {
    let runs = 0;
    for (const name of OPERATION_NAMES)
      for (const args of samplePlan(name).runs) {
        const line = commandLine(args);
        expect(fresh).toContain(line);
        expect(await shellWords(line)).toEqual(['ffmpeg', ...GLOBAL_ARGS, ...guardInputs(args)]);
        runs += 1;
      }
    expect(runs).toBeGreaterThanOrEqual(OPERATION_NAMES.length);
  });
});
