/**
 * Fixtures of shared's unit tests (`*.test.ts`), in one place. Imported only
 * by tests, and left out of the image with them (Dockerfile).
 */
import type { z } from 'zod';

/** Runs `fn`, asserts it throws an instance of `type`, and returns what it threw. */
export function thrownBy<T>(type: abstract new (...args: never[]) => T, fn: () => unknown): T {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(type);
  return thrown as T;
}

/** The issues of `schema`'s failed parse of `input`, each as its dotted path and message; a parse that succeeds throws. */
export function failedParse(schema: z.ZodType, input: unknown): { path: string; message: string }[] {
  const r = schema.safeParse(input);
  if (r.success) throw new Error(`expected a failure, parsed ${JSON.stringify(r.data)}`);
  return r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}
