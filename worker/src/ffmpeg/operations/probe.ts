import type { FfmpegPlan } from '../plan.js';

/** `probe`: nothing to run; the job's result is the input's metadata. */
export function buildProbe(): FfmpegPlan {
  return { runs: [], outputs: [], expectedSeconds: null };
}
