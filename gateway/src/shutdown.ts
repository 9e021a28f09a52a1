/**
 * A gateway's shutdown as a sequence of states, bounded in time:
 *   running → draining: /ready answers 503 and new upgrades are refused, for
 *             SHUTDOWN_LEAD_SECONDS, while the load balancer notices;
 *   closing:  every socket is closed with 1001 and a reason telling clients
 *             to reconnect and resume; uploads in flight are aborted and
 *             their staged files removed (nothing half-staged is published);
 *             submissions already publishing are let finish (bounded), so
 *             none is cut off unconfirmed and failed while the broker has it;
 *   stopped:  the deletes of delivered jobs' files still gathering are sent
 *             (5 s at most), channels and the broker connection are closed.
 * Jobs are untouched: they live in RabbitMQ and storage, and any gateway
 * serves them. Idempotent: a second signal changes nothing.
 */
import { CloseCode, GOING_AWAY_REASON } from '@media-foundry/shared';
import type { Logger } from '@media-foundry/shared/node';

export type ShutdownState = 'running' | 'draining' | 'closing' | 'stopped';

export interface ShutdownSteps {
  leadMs: number;
  /** Stop accepting: readiness false, upgrades refused. */
  drain(): void;
  /** Close sockets and abort uploads. */
  closeClients(code: number, reason: string): void;
  /** Resolves when the submissions under way have settled (bounded by the caller). */
  settle(): Promise<void>;
  /** Close channels and the connection. */
  release(): Promise<void>;
  logger: Logger;
}

export class GatewayShutdown {
  private current: ShutdownState = 'running';
  private done: Promise<void> | null = null;

  constructor(private readonly steps: ShutdownSteps) {}

  get state(): ShutdownState {
    return this.current;
  }

  /** Runs the shutdown once; later calls return the same promise. */
  run(signal: string): Promise<void> {
    this.done ??= this.sequence(signal);
    return this.done;
  }

  private async sequence(signal: string): Promise<void> {
    const { steps } = this;
    this.current = 'draining';
    steps.logger.info({ signal, lead_ms: steps.leadMs }, 'shutting down: not ready, refusing new connections');
    steps.drain();
    await new Promise((r) => setTimeout(r, steps.leadMs));
    this.current = 'closing';
    steps.logger.info('closing client connections');
    steps.closeClients(CloseCode.GOING_AWAY, GOING_AWAY_REASON);
    await steps.settle().catch((err: unknown) => steps.logger.warn({ err }, 'waiting for submissions failed'));
    await steps.release().catch((err: unknown) => steps.logger.warn({ err }, 'releasing the broker failed'));
    this.current = 'stopped';
    steps.logger.info('stopped');
  }
}
