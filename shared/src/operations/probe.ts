import { z } from 'zod';

/** `probe`: the input's `output_metadata`, no output file — the cheap way to inspect media. */
export const probeOptions = z.strictObject({});
export type ProbeOptions = z.infer<typeof probeOptions>;
