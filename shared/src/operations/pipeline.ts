import { z } from 'zod';
import { SINGLE_OPERATION_OPTIONS } from './catalog.js';
import { AUDIO_FILTER_TYPES } from './filter.js';
import { type OperationInputOf, type OperationOf, operationNames, operationUnion, pickOperations } from './table.js';

/** The operations a pipeline step may name, in order (see {@link PIPELINE_STEP_OPTIONS}). */
const STEPS = ['trim', 'speed', 'filter', 'remove_audio', 'watermark', 'compress', 'convert', 'extract_audio', 'gif', 'thumbnail'] as const;

/**
 * The operations a pipeline step may name, each with its own options schema
 * (the same one a job of that operation is validated with). A new operation
 * that is a transform (it changes the streams and keeps them, like
 * `watermark`) is added to `STEPS`, and the worker's pipeline builder
 * learns its filters; an output step also goes into {@link PIPELINE_OUTPUT_STEPS}.
 * `watermark` is a step with a text only: an image one needs a second input
 * (see {@link pipelineChainProblems}).
 */
export const PIPELINE_STEP_OPTIONS = pickOperations(SINGLE_OPERATION_OPTIONS, STEPS);

export type PipelineStepName = keyof typeof PIPELINE_STEP_OPTIONS;
export const PIPELINE_STEP_NAMES: PipelineStepName[] = operationNames(PIPELINE_STEP_OPTIONS);

/** Steps that decide the output (encoders, container, files): at most one, and last. */
export const PIPELINE_OUTPUT_STEPS: readonly PipelineStepName[] = ['compress', 'convert', 'extract_audio', 'gif', 'thumbnail'];

/** The most steps one pipeline takes. */
export const MAX_PIPELINE_STEPS = 10;

/** One step, options parsed (defaults filled). */
export type PipelineStep = OperationOf<typeof PIPELINE_STEP_OPTIONS>;

/** One step as a client writes it (options may be left out: the operation's defaults apply). */
export type PipelineStepInput = OperationInputOf<typeof PIPELINE_STEP_OPTIONS>;

/** `{operation, options}`: options validated by that operation's schema, so errors read `steps[2].options.crf`. */
export const pipelineStep = operationUnion(PIPELINE_STEP_OPTIONS, z.strictObject({})) as unknown as z.ZodType<
  PipelineStep,
  PipelineStepInput
>;

/** Whether a step reads the audio stream (and so cannot follow a step that dropped it). */
function needsAudio(step: PipelineStep): boolean {
  if (step.operation === 'extract_audio') return true;
  return step.operation === 'filter' && step.options.filters.some((f) => AUDIO_FILTER_TYPES.includes(f.type));
}

/**
 * Why a chain of (individually valid) steps makes no sense, as `[step index,
 * reason]` pairs; empty when it does. Rules: the step that decides the output
 * comes last (so nothing follows a thumbnail, and no chain has two output
 * formats), nothing reads the audio after `remove_audio` dropped it, and a
 * watermark is a text (an image is a second input, and a pipeline has one).
 */
export function pipelineChainProblems(steps: readonly PipelineStep[]): [number, string][] {
  const problems: [number, string][] = [];
  let output: number | null = null;
  let audioDroppedAt: number | null = null;
  steps.forEach((step, i) => {
    if (output !== null) {
      const before = steps[output]!.operation;
      const why = PIPELINE_OUTPUT_STEPS.includes(step.operation)
        ? `${step.operation} would decide the output a second time after ${before} (steps[${output}]); a pipeline has one output step, the last`
        : `${step.operation} cannot come after ${before} (steps[${output}]), which decides the output and must be the last step`;
      problems.push([i, why]);
    }
    if (step.operation === 'watermark' && step.options.type === 'image')
      problems.push([
        i,
        'image watermarks are not supported as pipeline steps: the image would be a second input and a pipeline has one; use type "text", or a watermark job on the pipeline\'s output',
      ]);
    if (audioDroppedAt !== null && needsAudio(step))
      problems.push([i, `${step.operation} needs the audio that remove_audio (steps[${audioDroppedAt}]) drops`]);
    if (PIPELINE_OUTPUT_STEPS.includes(step.operation)) output ??= i;
    if (step.operation === 'remove_audio') audioDroppedAt ??= i;
  });
  return problems;
}

/**
 * `pipeline`: `steps` run in order on one input, each as the operation of
 * that name would run it; the last step decides the output. The worker fuses
 * the steps into one ffmpeg run where it can (trims become input seeking,
 * filters one graph, the last step picks the encoders) and otherwise runs
 * them one after another on its local files.
 */
export const pipelineOptions = z
  .strictObject({
    steps: z.array(pipelineStep).min(1).max(MAX_PIPELINE_STEPS),
  })
  .superRefine((o, ctx) => {
    for (const [i, message] of pipelineChainProblems(o.steps)) ctx.addIssue({ code: 'custom', path: ['steps', i], message });
  });
export type PipelineOptions = z.infer<typeof pipelineOptions>;
