import { z } from 'zod';
import { extractAudioOptions } from './extract-audio.js';
import { speedOptions } from './speed.js';
import { thumbnailOptions } from './thumbnail.js';

export * from './common.js';
export * from './extract-audio.js';
export * from './speed.js';
export * from './thumbnail.js';

/** Every operation's options schema, keyed by the operation's wire name. */
export const operationOptions = {
  speed: speedOptions,
  extract_audio: extractAudioOptions,
  thumbnail: thumbnailOptions,
} as const;

export type OperationName = keyof typeof operationOptions;
export const OPERATION_NAMES = Object.keys(operationOptions) as OperationName[];

/** `{operation, options}` for one operation, options parsed (defaults filled). */
export type OperationRequest = {
  [K in OperationName]: { operation: K; options: z.output<(typeof operationOptions)[K]> };
}[OperationName];

/**
 * Builds `z.discriminatedUnion('operation', …)` of `base` extended with each
 * operation's `{operation, options}`, so the WebSocket `start_job` and the AMQP
 * job message share one list of operations. Missing `options` parse as `{}`
 * (so each operation's defaults apply).
 */
export function withOperation<S extends z.ZodRawShape>(
  base: z.ZodObject<S>,
): z.ZodType<z.output<z.ZodObject<S>> & OperationRequest, unknown> {
  const members = OPERATION_NAMES.map((name) =>
    base.extend({ operation: z.literal(name), options: (operationOptions[name] as z.ZodType).prefault({}) }),
  );
  return z.discriminatedUnion('operation', members as [(typeof members)[number], ...(typeof members)[number][]]) as never;
}
