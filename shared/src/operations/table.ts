/**
 * A table of operations (wire name → options schema) and what follows from it:
 * the names in order, the `{operation, options}` types and the union that
 * parses them. The job operations (index.ts) and a pipeline's steps
 * (pipeline.ts) are two such tables.
 */
import { z } from 'zod';

/** Wire name → that operation's options schema. */
export type OperationTable = Record<string, z.ZodType>;

/** `{operation, options}` for each operation of the table, options parsed (defaults filled). */
export type OperationOf<T extends OperationTable> = {
  [K in keyof T & string]: { operation: K; options: z.output<T[K]> };
}[keyof T & string];

/** `{operation, options}` as a client writes it: options may be left out (the operation's defaults apply). */
export type OperationInputOf<T extends OperationTable> = {
  [K in keyof T & string]: { operation: K; options?: z.input<T[K]> };
}[keyof T & string];

/** The table's operation names, in its order. */
export function operationNames<T extends OperationTable>(table: T): (keyof T & string)[] {
  return Object.keys(table);
}

/** The operations of `table` named in `names`, in that order. */
export function pickOperations<T extends OperationTable, K extends keyof T & string>(table: T, names: readonly K[]): Pick<T, K> {
  return Object.fromEntries(names.map((name) => [name, table[name]])) as Pick<T, K>;
}

/**
 * `z.discriminatedUnion('operation', …)` of `base` extended with each
 * operation's `{operation, options}`: options validated by that operation's
 * schema, so errors read `steps[2].options.crf`. Missing `options` parse as
 * `{}` (so each operation's defaults apply).
 */
export function operationUnion<T extends OperationTable, S extends z.ZodRawShape>(
  table: T,
  base: z.ZodObject<S>,
): z.ZodType<z.output<z.ZodObject<S>> & OperationOf<T>, unknown> {
  const members = operationNames(table).map((name) =>
    base.extend({ operation: z.literal(name), options: (table[name] as z.ZodType).prefault({}) }),
  );
  return z.discriminatedUnion('operation', members as [(typeof members)[number], ...(typeof members)[number][]]) as never;
}
