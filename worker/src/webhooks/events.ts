/**
 * Which replies of a job become webhook events, and the task that carries
 * one through its attempts. Pure: the dispatcher queues and sends them.
 */
import {
  DEFAULT_WEBHOOK_EVENTS,
  ErrorCode,
  type FinalReply,
  jobId as jobIdSchema,
  jobWebhook,
  type JobWebhook,
  jsonField,
  type ProgressReply,
  webhookEvent,
  type WebhookEvent,
} from '@media-foundry/shared';
import { sha256Hex } from '@media-foundry/shared/node';
import { z } from 'zod';

/** One event on its way to a receiver: queued as JSON, attempt after attempt. */
export const webhookTask = z.strictObject({
  /** The idempotency id (MediaFoundry-Event-Id): the same on every attempt of this event. */
  id: z.string().min(1).max(100),
  event: webhookEvent,
  url: z.string().min(1),
  /** The id the payload names the job by. */
  job_id: jobIdSchema,
  /** The exact bytes POSTed (and signed), kept as a string so every attempt sends the same. */
  body: z.string(),
  /** Attempts made so far. */
  attempts: z.number().int().nonnegative(),
  /** When the event happened (ISO-8601). */
  created_at: z.iso.datetime(),
});
export type WebhookTask = z.infer<typeof webhookTask>;

/** The event a final reply is: `cancelled` is an error reply with JOB_CANCELLED. */
export function finalEvent(reply: FinalReply): WebhookEvent {
  if (reply.type === 'completed') return 'completed';
  return reply.code === ErrorCode.JOB_CANCELLED ? 'cancelled' : 'failed';
}

/**
 * A stable id: a job's end is the same event however often it is published
 * (a job delivered again publishes its stored result again), so a receiver
 * that remembers ids sees it once.
 */
export function eventId(jobId: string, key: string): string {
  const h = sha256Hex(`${jobId}\u0000${key}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function task(
  webhook: JobWebhook,
  jobId: string,
  event: WebhookEvent,
  key: string,
  reply: FinalReply | ProgressReply,
  now: Date,
): WebhookTask {
  const publicId = webhook.job_id ?? jobId;
  return {
    id: eventId(jobId, key),
    event,
    url: webhook.url,
    job_id: publicId,
    // the reply as a backend reads it on its reply queue, named by the id the submitter knows
    body: JSON.stringify({ ...reply, job_id: publicId }),
    attempts: 0,
    created_at: now.toISOString(),
  };
}

/** The task for a job's final reply, or null when the webhook did not ask for this outcome. */
export function finalTask(webhook: JobWebhook | undefined, reply: FinalReply, now = new Date()): WebhookTask | null {
  if (!webhook) return null;
  const event = finalEvent(reply);
  if (!(webhook.events ?? DEFAULT_WEBHOOK_EVENTS).includes(event)) return null;
  return task(webhook, reply.job_id, event, 'final', reply, now);
}

/**
 * The task for a change of stage (`seq`: the how-manieth change in this run,
 * so a run delivered again repeats the same ids), or null unless `stage` was asked for.
 */
export function stageTask(webhook: JobWebhook | undefined, reply: ProgressReply, seq: number, now = new Date()): WebhookTask | null {
  if (!webhook?.events?.includes('stage')) return null;
  return task(webhook, reply.job_id, 'stage', `stage:${seq}:${reply.stage}`, reply, now);
}

/** The webhook of a raw job message that may not parse as a whole (a dead-lettered one), or undefined. */
export function webhookOf(content: Buffer): JobWebhook | undefined {
  return jsonField(jobWebhook, content.toString('utf8'), 'webhook');
}
