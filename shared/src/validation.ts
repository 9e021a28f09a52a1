import type { z } from 'zod';

/** A field's path as code writes it: `options.steps[2].options.crf`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i > 0 ? '.' : ''}${String(key)}`)).join('');
}

/** One readable line per problem, each naming the field: `options.speed_factor: Too big: expected number to be <=10`. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = formatPath(issue.path);
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** A JSON text checked against a schema: the data, or one readable error (`json: false` when the text is not JSON at all). */
export type JsonParseResult<T> = { ok: true; data: T } | { ok: false; json: boolean; error: string };

/** `JSON.parse` then `schema.safeParse`: the parser's message for bad JSON, else `formatIssues` of what the schema refused. */
export function parseJson<S extends z.ZodType>(schema: S, text: string): JsonParseResult<z.output<S>> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, json: false, error: (err as Error).message };
  }
  const parsed = schema.safeParse(raw);
  return parsed.success ? { ok: true, data: parsed.data } : { ok: false, json: true, error: formatIssues(parsed.error) };
}

/**
 * One field of a JSON object text that may not be valid as a whole (a job
 * message being routed, counted or dead-lettered before anything parses it
 * all): the field when it fits `schema`, else undefined — also when the text
 * is not JSON or not an object.
 */
export function jsonField<S extends z.ZodType>(schema: S, text: string, key: string): z.output<S> | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const parsed = schema.safeParse((raw as Record<string, unknown>)[key]);
  return parsed.success ? parsed.data : undefined;
}
