/**
 * The worker's public library entry (`@media-foundry/worker/lib`): the pure
 * parts other projects reuse — the docs generator (tools/), the tests that
 * check its output, and the bench's reference runs — so they call what the
 * worker runs instead of reaching into its internals (the linter forbids deep
 * imports across workspaces). The service itself starts from main.ts.
 */
export { MEDIA_DEMUXERS, guardInputs } from './ffmpeg/hardening.js';
export { type MediaInfo, toOutputMetadata } from './ffmpeg/media-info.js';
export { buildPlan } from './ffmpeg/operations/index.js';
export type { FfmpegPlan, MultiInputContext } from './ffmpeg/plan.js';
export { probe } from './ffmpeg/probe.js';
export { GLOBAL_ARGS } from './ffmpeg/run.js';
export { requestedRange, type ByteRange } from './http-range.js';
export { mapLimited } from './map-limited.js';
