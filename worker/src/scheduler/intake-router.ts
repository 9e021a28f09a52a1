/**
 * Moves jobs that backends published to the intake queue (`<prefix>.jobs`,
 * the documented AMQP contract) on to their tenant's queue, by the message's
 * `tenant` field (DEFAULT_TENANT when absent). Every worker runs one; each
 * message is published to the tenant queue with a confirm and only then
 * acked, so a router that dies hands it back. (Dying between the two leaves a
 * second copy; the worker that takes it finds the first one's run or result
 * and does not run it again.) Messages are routed one at a time, so a
 * tenant's jobs keep their order.
 */
import {
  type AppError,
  type WorkerConfig,
  DEFAULT_TENANT,
  deliveryMethod,
  errors,
  jsonField,
  tenantName,
  type Topology,
} from '@media-foundry/shared';
import {
  type Broker,
  type ChannelWrapper,
  type ConfirmChannel,
  type ConsumeMessage,
  declareJobTopology,
  type Logger,
  type TenantQueues,
} from '@media-foundry/shared/node';
import { answerJobId, type ReplyPublisher } from '../replies.js';

export interface RouterDeps {
  broker: Broker;
  topology: Topology;
  tenants: TenantQueues;
  replies: ReplyPublisher;
  config: Pick<WorkerConfig, 'jobDeliveryLimit' | 'maxQueuedJobsPerClient' | 'publishTimeoutMs'>;
  logger: Logger;
  /** A job was added to the tenant's queue. */
  announce(tenantKey: string): void;
}

/** Intake messages a router holds at once (routing is quick; this only hides round trips). */
const INTAKE_PREFETCH = 16;

/** Headers RabbitMQ itself adds; a routed copy starts afresh. */
const BROKER_HEADERS = /^x-(delivery-count|death|first-death-|last-death-)/;

/**
 * The headers a routed copy carries: those with a string, finite number or
 * boolean value, RabbitMQ's own left out. amqplib reads values it cannot
 * write back (a NaN float, a nested table with a key it takes for a type
 * marker); a publish that throws on one has already taken its place in the
 * channel's confirm order, so every later job's confirm would be matched to
 * the one before it. No header the worker reads (`traceparent`) is anything else.
 */
export function routableHeaders(headers: Record<string, unknown> | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (BROKER_HEADERS.test(name)) continue;
    if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) out[name] = value;
  }
  return out;
}

/** The tenant a raw job message names, or the default; the full message is validated by the worker that runs it. */
export function intakeTenant(content: Buffer): string {
  // not JSON: routed to the default tenant, where the worker answers INVALID_JSON
  return jsonField(tenantName, content.toString('utf8'), 'tenant') ?? DEFAULT_TENANT;
}

/**
 * Why a job published to the intake is refused before it is routed, or null.
 * `delivery_method: "url"` asks for download links, which only a gateway
 * makes (signed with its URL_SIGNING_SECRET, or presigned from its store); an
 * AMQP publisher reads its outputs from storage under `outputs[].key`, so
 * the field is refused rather than accepted and ignored. Anything else is
 * validated by the worker that runs the job.
 */
export function intakeRefusal(content: Buffer): AppError | null {
  if (jsonField(deliveryMethod, content.toString('utf8'), 'delivery_method') === 'url')
    return errors.validation(
      'delivery_method: "url" is for WebSocket clients; over AMQP, outputs stay in storage under completed.outputs[].key (omit it or send "binary")',
    );
  return null;
}

export class IntakeRouter {
  private channel: ChannelWrapper | null = null;
  /** The consumer on the current channel (the wrapper re-creates it after reconnects). */
  private consumer: { ch: ConfirmChannel; tag: string } | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly deps: RouterDeps) {}

  start(): void {
    const { broker, topology, config } = this.deps;
    this.channel = broker.channel({
      name: 'intake',
      confirm: true,
      setup: async (ch: ConfirmChannel) => {
        await declareJobTopology(ch, topology, config.jobDeliveryLimit);
        await ch.prefetch(INTAKE_PREFETCH);
        const { consumerTag } = await ch.consume(topology.jobsQueue, (msg) => {
          if (msg) this.chain = this.chain.then(() => this.route(ch, msg));
        });
        this.consumer = { ch, tag: consumerTag };
      },
    });
  }

  private async route(ch: ConfirmChannel, msg: ConsumeMessage): Promise<void> {
    const { tenants, config, logger } = this.deps;
    const tenant = intakeTenant(msg.content);
    // read only when needed: the body is parsed for the tenant already
    const jobId = () => answerJobId(msg);
    try {
      const refusal = intakeRefusal(msg.content);
      if (refusal) {
        logger.warn({ job_id: jobId(), details: refusal.details }, 'refused an invalid job message');
        await this.answer(msg, jobId(), refusal);
        ch.ack(msg);
        return;
      }
      const { key, queue, depth } = await tenants.prepare(tenant);
      if (depth >= config.maxQueuedJobsPerClient) {
        const e = errors.rateLimited(
          `${depth} jobs of tenant ${JSON.stringify(tenant)} are waiting; MAX_QUEUED_JOBS_PER_CLIENT allows ${config.maxQueuedJobsPerClient}`,
        );
        logger.warn({ job_id: jobId(), tenant }, 'refused a job: its tenant has too many waiting');
        await this.answer(msg, jobId(), e);
        ch.ack(msg);
        return;
      }
      const headers = routableHeaders(msg.properties.headers as Record<string, unknown> | undefined);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no confirm in time')), config.publishTimeoutMs);
        try {
          ch.sendToQueue(
            queue,
            msg.content,
            {
              persistent: true,
              contentType: msg.properties.contentType as string | undefined,
              correlationId: msg.properties.correlationId as string | undefined,
              messageId: msg.properties.messageId as string | undefined,
              replyTo: msg.properties.replyTo as string | undefined,
              timestamp: msg.properties.timestamp as number | undefined,
              headers,
            },
            (err) => {
              clearTimeout(timer);
              if (err) reject(err instanceof Error ? err : new Error(String(err)));
              else resolve();
            },
          );
        } catch (err) {
          // a publish that throws has still taken a confirm's place: this channel's confirms are out of step
          // for good. Closing it hands the job back; the broker connection (not the job slots', which have
          // their own) is then re-established after a pause (broker.ts), and the channel with it
          clearTimeout(timer);
          logger.warn({ err, job_id: jobId() }, 'a job could not be published to its tenant queue; reopening the intake channel');
          ch.close().catch(() => {});
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
      this.deps.announce(key);
      ch.ack(msg);
      if (logger.isLevelEnabled('debug')) logger.debug({ job_id: jobId(), tenant, queue }, 'routed a job to its tenant queue');
    } catch (err) {
      logger.warn({ err, job_id: jobId() }, 'could not route a job; it goes back to the intake queue');
      await new Promise((r) => setTimeout(r, 1000));
      try {
        ch.nack(msg, false, true);
      } catch {
        // the channel is gone: the broker has requeued it already
      }
    }
  }

  /** The error reply to a job refused here (it is then acked: not routed, not retried). */
  private async answer(msg: ConsumeMessage, jobId: string, e: AppError): Promise<void> {
    await this.deps.replies
      .send(
        { jobId, replyTo: msg.properties.replyTo as string | undefined },
        { type: 'error', job_id: jobId, code: e.code, message: e.message, details: e.details },
      )
      .catch((err: unknown) => this.deps.logger.warn({ err, job_id: jobId }, 'could not answer a refused job'));
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    await consumer?.ch.cancel(consumer.tag).catch(() => {});
    await this.chain;
    await this.channel?.close().catch(() => {});
  }
}
