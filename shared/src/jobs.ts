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
  progressStage,
  urlInput,
  webhookSpec,
} from './protocol.js';

/** An input already in the shared storage (a staged upload, or put there by a backend). */
export const storageInput = z.strictObject({ source: z.literal('storage'), key: z.string().min(1), filename: fileName });
export const jobMessageInput = z.discriminatedUnion('source', [urlInput, storageInput]);
export type JobMessageInput = z.infer<typeof jobMessageInput>;

/**
 * Whose fair share a job counts against: the API key, JWT subject or (auth
 * off) connection for WebSocket jobs; for AMQP publishers the `tenant` they
 * set, else DEFAULT_TENANT.
 */
export const tenantName = z.string().min(1).max(200);
export const DEFAULT_TENANT = 'shared';

/** A tenant's queue name component: hex of a hash of the tenant (shared/node `tenantKey`). */
export const tenantKeySchema = z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 hex digits');

/**
 * A job message's webhook. `job_id`: the id the webhook's payload names the
 * job by (a gateway sets the id its client chose; default the message's `job_id`).
 */
export const jobWebhook = webhookSpec.extend({ job_id: jobId.optional() });
export type JobWebhook = z.infer<typeof jobWebhook>;

/**
 * A job message's header (gateways set it to `true` with SMALL_OUTPUTS_IN_RESULT): the submitter reads a lone
 * output of 256 KiB or less, delivered as binary, from the `completed` on the reply exchange (`inline`), so
 * the worker keeps it in the job's `result.json` instead of under its own key (one storage write less).
 * Ignored for a job with a `reply_to` or a webhook: they read outputs from their keys. A header, not a body
 * field: a worker of an older release ignores it, where its job schema would refuse an unknown field.
 */
export const INLINE_OUTPUT_HEADER = 'inline-output';

/** The body of a message on the jobs queue. `job_id` must be unique across all submitters. */
export const jobMessage = withOperation(
  z.strictObject({
    job_id: jobId,
    /** Fair scheduling: jobs of different tenants are started in turn (default DEFAULT_TENANT). */
    tenant: tenantName.optional(),
    /** The input files, in order (several only for concat, and subtitles with an external subtitle file). */
    inputs: z.array(jobMessageInput).min(1).max(MAX_INPUTS),
    delivery_method: deliveryMethod.default('binary'),
    /** ISO-8601 time the job was submitted (for queue-wait measurements). */
    submitted_at: z.iso.datetime({ offset: true }).optional(),
    /** Where to POST the job's end (docs/WEBHOOKS.md); the worker answers VALIDATION_ERROR for an address refused on its face. */
    webhook: jobWebhook.optional(),
  }),
).superRefine((m, ctx) => {
  const problem = inputCountProblem(m.operation, m.inputs.length, m.options);
  if (problem) ctx.addIssue({ code: 'custom', path: ['inputs'], message: problem });
});
export type JobMessage = z.infer<typeof jobMessage>;

/** An output the worker left in storage under `key`. */
export const storedOutput = outputFile.extend({ key: z.string() });
export type StoredOutput = z.infer<typeof storedOutput>;

/** Output bytes by storage key, base64: what rides along with a completed reply (`relayedCompletedReply`). */
const outputsByKey = z.record(z.string(), z.string());
export type OutputsByKey = z.infer<typeof outputsByKey>;

export const progressReply = progressMessage;
export const completedReply = completedMessage
  .omit({ delivery_method: true, message: true })
  // empty only for `probe`, whose result is the metadata itself
  .extend({ outputs: z.array(storedOutput) });
export const errorReply = errorMessage.extend({ job_id: z.string() });

/**
 * A completed reply as a worker publishes it to the reply exchange (read by
 * the gateways; AsyncAPI `exchange_reply`): an output of 256 KiB or less, the job's only one, rides along as
 * base64 under its storage key, so the gateway sends it without reading
 * storage. It is stored too (a resume, or a gateway that missed this message,
 * reads it there, in its own object or, when nothing but a gateway reads it, in the result: `jobResult`);
 * `reply_to` queues never carry it.
 */
export const relayedCompletedReply = completedReply.extend({ inline: outputsByKey.optional() });
export type RelayedCompletedReply = z.infer<typeof relayedCompletedReply>;
/** The largest output that rides along with its reply (256 KiB): a thumbnail, a probe-sized file. */
export const INLINE_OUTPUT_MAX_BYTES = 262_144;

/** The body of a message on a reply queue. */
export const jobReply = z.discriminatedUnion('type', [progressReply, completedReply, errorReply]);
export type JobReply = z.infer<typeof jobReply>;
/** The reply that ends a job: exactly one per job reaches a WebSocket client. */
export const finalReply = z.discriminatedUnion('type', [completedReply, errorReply]);
export type FinalReply = z.infer<typeof finalReply>;
export type ProgressReply = z.infer<typeof progressReply>;
export type CompletedReply = z.infer<typeof completedReply>;
export type ErrorReply = z.infer<typeof errorReply>;

/** Broadcast on the control exchange to every worker. */
export const controlMessage = z.discriminatedUnion('type', [
  /** Stop this job wherever it runs. */
  z.strictObject({ type: z.literal('cancel'), job_id: jobId }),
  /** A job was just added to this tenant's queue: idle workers look there. */
  z.strictObject({ type: z.literal('tenant_ready'), tenant_key: tenantKeySchema }),
  /**
   * What a worker runs now, sent on every change and every few seconds: the
   * other workers count each tenant's running jobs (MAX_JOBS_PER_CLIENT) and
   * know which jobs live workers hold. `stopping`: the worker is going away.
   */
  z.strictObject({
    type: z.literal('worker_state'),
    worker_id: z.string().min(1).max(100),
    running: z
      .array(
        z.strictObject({
          job_id: jobId,
          tenant_key: tenantKeySchema,
          /** When the worker took it (ms since the epoch): the order held jobs are admitted in. */
          since: z.number().int().nonnegative().optional(),
          /** Taken, but waiting for its client's share (MAX_JOBS_PER_CLIENT) before it runs. */
          held: z.boolean().optional(),
        }),
      )
      .max(10_000),
    stopping: z.boolean(),
  }),
  /**
   * A worker published this job's final answer: a copy of it delivered again
   * (its ack was lost with a connection) is settled without running, even
   * once its delivered result was removed from storage.
   */
  z.strictObject({ type: z.literal('job_finished'), worker_id: z.string().min(1).max(100), job_id: jobId }),
]);
export type ControlMessage = z.infer<typeof controlMessage>;

/**
 * Gateway-to-gateway notices on the reply exchange, routed like replies:
 * `claimed` (job id as key) tells every gateway following a job that a
 * connection elsewhere resumed it; `dequeued` (a tenant's events key) that
 * one of the tenant's jobs left its queue, so waiting jobs move up.
 */
export const jobClaimedEvent = z.strictObject({
  type: z.literal('claimed'),
  job_id: jobId,
  gateway_id: z.string(),
  connection_id: z.string(),
});
export const tenantDequeuedEvent = z.strictObject({
  type: z.literal('dequeued'),
  tenant_key: tenantKeySchema,
  job_id: jobId,
});
/** Anything on the reply exchange: a job's reply or a gateway notice. */
export const replyExchangeMessage = z.discriminatedUnion('type', [
  progressReply,
  relayedCompletedReply,
  errorReply,
  jobClaimedEvent,
  tenantDequeuedEvent,
]);
export type ReplyExchangeMessage = z.infer<typeof replyExchangeMessage>;

/**
 * The durable facts of a job a gateway accepted (`jobs/<id>/job.json`),
 * written before the job is published: any gateway can resume it from these.
 */
export const jobRecord = z.object({
  version: z.literal(1),
  /** The internal id (workers, storage, the reply exchange). */
  job_id: jobId,
  /** The id the client knows the job by. */
  client_job_id: jobId,
  /** The principal that submitted it (API key id, JWT subject, or connection). */
  owner: z.string().min(1),
  tenant: tenantName,
  /** Hex SHA-256 of the secret half of the resume token. */
  resume_digest: z.string().regex(/^[0-9a-f]{64}$/),
  operation: z.string(),
  delivery_method: deliveryMethod,
  created_at: z.iso.datetime(),
});
export type JobRecord = z.infer<typeof jobRecord>;

/** Where a running job stands (`jobs/<id>/state.json`), written by its worker at most every few seconds. */
export const jobState = z.object({
  stage: progressStage,
  percentage: z.number().min(0).max(100),
  message: z.string().optional(),
  updated_at: z.iso.datetime(),
});
export type JobState = z.infer<typeof jobState>;

/** A job's final reply (`jobs/<id>/result.json`), stored by the worker before it publishes it. */
export const jobResult = z.object({
  reply: finalReply,
  finished_at: z.iso.datetime(),
  /**
   * Outputs kept here instead of in objects of their own: the lone small output of a job whose result only
   * a gateway reads (binary delivery, no `reply_to`, no webhook) — one storage write less on every thumbnail.
   */
  inline: outputsByKey.optional(),
});
export type JobResult = z.infer<typeof jobResult>;

/** A stored result as it goes to the gateways again: with the outputs it holds riding along. */
export function relayedResult(result: JobResult): FinalReply | RelayedCompletedReply {
  return result.reply.type === 'completed' && result.inline ? { ...result.reply, inline: result.inline } : result.reply;
}

/** An entry of the tenant index (`scheduler/tenants/<key>.json`): a queue workers must know about after a restart. */
export const tenantIndexEntry = z.object({ tenant: tenantName, tenant_key: tenantKeySchema });
export type TenantIndexEntry = z.infer<typeof tenantIndexEntry>;

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
  /** The gateway's JobRecord. */
  record: (id: string) => `jobs/${id}/job.json`,
  /** The worker's JobState. */
  state: (id: string) => `jobs/${id}/state.json`,
  /** The worker's JobResult. */
  result: (id: string) => `jobs/${id}/result.json`,
  /** Every tenant queue ever declared, so a worker that starts finds waiting jobs (entries of TenantIndexEntry). */
  tenantIndexPrefix: 'scheduler/tenants/',
  tenantIndex: (tenantKey: string) => `scheduler/tenants/${tenantKey}.json`,
};
