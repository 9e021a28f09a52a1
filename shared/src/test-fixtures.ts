/**
 * Fixtures of shared's unit tests (`*.test.ts`), in one place. Imported only
 * by tests, and left out of the image with them (Dockerfile). Fixtures other
 * workspaces' tests use too live in @media-foundry/test-support.
 */
import type { z } from 'zod';

/** The issues of `schema`'s failed parse of `input`, each as its dotted path and message; a parse that succeeds throws. */
export function failedParse(schema: z.ZodType, input: unknown): { path: string; message: string }[] {
  const r = schema.safeParse(input);
  if (r.success) throw new Error(`expected a failure, parsed ${JSON.stringify(r.data)}`);
  return r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}
