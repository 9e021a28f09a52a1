/**
 * Messages between the gateway (or any backend) and the workers over RabbitMQ.
 *
 * A job is published to the jobs queue with AMQP properties `reply_to` (the
 * queue replies go to) and `correlation_id` (= job_id); the worker publishes
 * progress / completed / error replies there. See docs/AMQP.md.
 */
import { z } from 'zod';
import { inputCountProblem, withOperation } from './operations/index.js';
import {
  completedMessage,
  deliveryMethod,
  errorMessage,
  fileName,
  jobId,
  MAX_INPUTS,
  outputFile,
  progressMessage,
  urlInput,
} from './protocol.js';

/** An input already in the shared storage (a staged upload, or put there by a backend). */
export const storageInput = z.strictObject({ source: z.literal('storage'), key: z.string().min(1), filename: fileName });
export const jobMessageInput = z.discriminatedUnion('source', [urlInput, storageInput]);
export type JobMessageInput = z.infer<typeof jobMessageInput>;

/** The body of a message on the jobs queue. `job_id` must be unique across all submitters. */
export const jobMessage = withOperation(
  z.strictObject({
    job_id: jobId,
    /** The input files, in order (several only for concat, and subtitles with an external subtitle file). */
    inputs: z.array(jobMessageInput).min(1).max(MAX_INPUTS),
    delivery_method: deliveryMethod.default('binary'),
    /** ISO-8601 time the job was submitted (for queue-wait measurements). */
    submitted_at: z.iso.datetime().optional(),
  }),
).superRefine((m, ctx) => {
  const problem = inputCountProblem(m.operation, m.inputs.length);
  if (problem) ctx.addIssue({ code: 'custom', path: ['inputs'], message: problem });
});
export type JobMessage = z.infer<typeof jobMessage>;

/** An output the worker left in storage under `key`. */
export const storedOutput = outputFile.extend({ key: z.string() });
export type StoredOutput = z.infer<typeof storedOutput>;

export const progressReply = progressMessage;
export const completedReply = completedMessage
  .omit({ delivery_method: true, message: true })
  // empty only for `probe`, whose result is the metadata itself
  .extend({ outputs: z.array(storedOutput) });
export const errorReply = errorMessage.extend({ job_id: z.string() });

/** The body of a message on a reply queue. */
export const jobReply = z.discriminatedUnion('type', [progressReply, completedReply, errorReply]);
export type JobReply = z.infer<typeof jobReply>;
export type ProgressReply = z.infer<typeof progressReply>;
export type CompletedReply = z.infer<typeof completedReply>;
export type ErrorReply = z.infer<typeof errorReply>;

/** Broadcast on the control exchange to every worker. */
export const controlMessage = z.discriminatedUnion('type', [z.strictObject({ type: z.literal('cancel'), job_id: jobId })]);
export type ControlMessage = z.infer<typeof controlMessage>;

/** Where a job's files live in storage; everything under `jobPrefix` is removed with the job. */
export const storageKeys = {
  jobPrefix: (id: string) => `jobs/${id}/`,
  input: (id: string, filename: string) => `jobs/${id}/input/${filename}`,
  output: (id: string, filename: string) => `jobs/${id}/output/${filename}`,
  /**
   * Left by the gateway when a job is cancelled; a worker checks it before
   * starting a job, so a cancelled job never starts even on a worker that was
   * not running when the cancellation was broadcast.
   */
  cancelled: (id: string) => `jobs/${id}/cancelled`,
};
