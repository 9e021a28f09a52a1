import { z } from 'zod';
import { SINGLE_OPERATION_OPTIONS } from './catalog.js';
import { pipelineOptions } from './pipeline.js';
import { type OperationOf, operationNames, operationUnion } from './table.js';

export * from './common.js';
export * from './compress.js';
export * from './concat.js';
export * from './convert.js';
export * from './extract-audio.js';
export * from './filter.js';
export * from './gif.js';
export * from './pipeline.js';
export * from './probe.js';
export * from './remove-audio.js';
export * from './speed.js';
export * from './streaming.js';
export * from './subtitles.js';
export * from './thumbnail.js';
export * from './trim.js';
export * from './watermark.js';

/** Every operation's options schema, keyed by the operation's wire name. */
export const operationOptions = { ...SINGLE_OPERATION_OPTIONS, pipeline: pipelineOptions } as const;

export type OperationName = keyof typeof operationOptions;
export const OPERATION_NAMES: OperationName[] = operationNames(operationOptions);

/** `{operation, options}` for one operation, options parsed (defaults filled). */
export type OperationRequest = OperationOf<typeof operationOptions>;

/** How many input files each operation takes (`[min, max]`); one unless listed. */
const INPUT_COUNTS: Partial<Record<OperationName, readonly [number, number]>> = {
  concat: [2, 20],
  subtitles: [1, 2],
  // an image watermark's picture is the second input
  watermark: [1, 2],
};
export function inputRange(operation: OperationName, options?: unknown): readonly [number, number] {
  // the options say which: an image watermark takes its picture as input 2, a text one none
  if (operation === 'watermark' && options && typeof options === 'object' && 'type' in options)
    return options.type === 'image' ? [2, 2] : [1, 1];
  return INPUT_COUNTS[operation] ?? [1, 1];
}

/** The problem with giving `count` inputs to `operation` (with these parsed `options`), or null when fine. */
export function inputCountProblem(operation: OperationName, count: number, options?: unknown): string | null {
  const [min, max] = inputRange(operation, options);
  if (count >= min && count <= max) return null;
  const wanted = min === max ? `exactly ${min}` : `${min} to ${max}`;
  return `${operation} takes ${wanted} input file${max === 1 ? '' : 's'}; got ${count}`;
}

/**
 * Builds `z.discriminatedUnion('operation', …)` of `base` extended with each
 * operation's `{operation, options}`, so the WebSocket `start_job` and the AMQP
 * job message share one list of operations. Missing `options` parse as `{}`
 * (so each operation's defaults apply).
 */
export function withOperation<S extends z.ZodRawShape>(
  base: z.ZodObject<S>,
): z.ZodType<z.output<z.ZodObject<S>> & OperationRequest, unknown> {
  return operationUnion(operationOptions, base);
}
