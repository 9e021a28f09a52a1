/**
 * The control fanout, worker side: every worker binds a private queue to it
 * and hears cancellations, "a tenant has work" announcements, the other
 * workers' running jobs and the jobs they finished; and it tells them its
 * own, on every change and every HEARTBEAT_MS. Whether it hears at all
 * (the connection is up and the queue bound) goes to `listening`.
 */
import { type ControlMessage, controlMessage, parseJson, type Topology } from '@media-foundry/shared';
import type { Broker, Channel, ChannelWrapper, Logger } from '@media-foundry/shared/node';
import type { RunningJob } from './scheduler/cluster-view.js';

/** How often a worker repeats what it runs; others forget it after three silent beats. */
export const HEARTBEAT_MS = 5000;
export const PEER_EXPIRY_MS = 3 * HEARTBEAT_MS;

export interface ControlHandlers {
  cancel(jobId: string): void;
  tenantReady(tenantKey: string): void;
  workerState(state: Extract<ControlMessage, { type: 'worker_state' }>): void;
  jobFinished(jobId: string, workerId: string): void;
  listening(listening: boolean): void;
}

export class ControlChannel {
  private readonly channel: ChannelWrapper;
  private heartbeat: NodeJS.Timeout | null = null;
  private running: RunningJob[] = [];
  private pending: NodeJS.Timeout | null = null;

  constructor(
    broker: Broker,
    private readonly topology: Topology,
    private readonly workerId: string,
    handlers: ControlHandlers,
    private readonly logger: Logger,
  ) {
    this.channel = broker.channel({
      name: 'control',
      confirm: false,
      setup: async (ch: Channel) => {
        await ch.assertExchange(topology.controlExchange, 'fanout', { durable: true });
        const listen = async () => {
          const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
          await ch.bindQueue(queue, topology.controlExchange, '');
          await ch.consume(
            queue,
            (msg) => {
              if (!msg) {
                // the broker cancelled the consumer: the queue was deleted (an operator, a policy). Deaf
                // from here on, so a new queue is bound; what was sent in between is lost, as in a reconnect
                handlers.listening(false);
                logger.warn({ queue }, 'the control queue was deleted; binding a new one');
                listen().catch((err: unknown) =>
                  logger.warn({ err }, 'could not bind a new control queue; the channel is restored on reconnect'),
                );
                return;
              }
              const parsed = parseJson(controlMessage, msg.content.toString('utf8'));
              if (!parsed.ok) {
                logger.warn('ignored an invalid control message');
                return;
              }
              const m = parsed.data;
              if (m.type === 'cancel') handlers.cancel(m.job_id);
              else if (m.type === 'tenant_ready') handlers.tenantReady(m.tenant_key);
              else if (m.type === 'job_finished') handlers.jobFinished(m.job_id, m.worker_id);
              else handlers.workerState(m);
            },
            { noAck: true },
          );
          handlers.listening(true);
        };
        await listen();
        // the broker may close this channel alone (the connection is then re-established after a pause), or
        // the connection goes with it: either way nothing is heard until the next setup
        ch.once('close', () => handlers.listening(false));
        // peers learn at once what a (re)connected worker runs
        this.sendState(false);
      },
    });
  }

  start(): void {
    this.heartbeat = setInterval(() => this.sendState(false), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** What this worker runs changed; told to the others (coalesced within a tick). */
  setRunning(running: RunningJob[]): void {
    this.running = running;
    this.pending ??= setTimeout(() => {
      this.pending = null;
      this.sendState(false);
    }, 0);
  }

  /** "This job's final answer was published", so a copy of it delivered again is not run. */
  finished(jobId: string): void {
    this.publish({ type: 'job_finished', worker_id: this.workerId, job_id: jobId });
  }

  /** "A job waits in this tenant's queue", for idle workers. */
  announce(tenantKey: string): void {
    this.publish({ type: 'tenant_ready', tenant_key: tenantKey });
  }

  private sendState(stopping: boolean): void {
    this.publish({ type: 'worker_state', worker_id: this.workerId, running: this.running, stopping });
  }

  private publish(message: ControlMessage): void {
    this.channel
      .publish(this.topology.controlExchange, '', Buffer.from(JSON.stringify(message)), { contentType: 'application/json' })
      .catch((err: unknown) => this.logger.debug({ err }, 'control message not sent'));
  }

  /** Tells the others this worker is gone, and stops listening. */
  async stop(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.pending) clearTimeout(this.pending);
    this.running = [];
    this.sendState(true);
    await new Promise((r) => setTimeout(r, 50));
    await this.channel.close().catch(() => {});
  }
}
