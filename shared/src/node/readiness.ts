/**
 * /ready from dependency checks run in the background (BackgroundRead): a
 * probe reads what the last check found and what the process knows by itself
 * (shutting down, broker connection state), and never waits on the broker or
 * storage. One slow S3 answer marks one check failed, which the next check,
 * a second later, clears: it never lasts the probe's failureThreshold.
 */
import { BackgroundRead, type BackgroundReadTiming } from './background-read.js';
import type { Broker } from './broker.js';

/**
 * How the dependencies behind /ready are checked: every 5 s while they pass,
 * every second while they fail; a check that takes over 2 s fails. The
 * readiness probes' timeoutSeconds stay above the timeout and their
 * failureThreshold above one failed check (test/deploy.test.ts).
 */
export const READINESS_CHECK: Required<BackgroundReadTiming> = { intervalMs: 5000, timeoutMs: 2000, retryMs: 1000 };

/** One dependency checked in the background, and what its last check found. */
export class DependencyCheck extends BackgroundRead<unknown> {
  constructor(
    /** Leads the problem /ready reports, e.g. "storage is not reachable". */
    private readonly failure: string,
    check: () => Promise<unknown>,
    timing: BackgroundReadTiming = READINESS_CHECK,
  ) {
    super(check, timing);
  }

  /** What the last check found wrong; null when it passed. Not ready until the first check has answered. */
  problem(): string | null {
    const last = this.last();
    if (last === null) return `${this.failure}: not checked yet`;
    return last.ok ? null : `${this.failure}: ${last.error}`;
  }
}

/**
 * A broker round trip for a DependencyCheck that fails at once while the
 * connection is down: waiting for a reconnect is no answer, and would hold
 * the check (and /ready) for as long as the reconnect takes.
 */
export function whenConnected(broker: Broker, roundTrip: () => Promise<unknown>): () => Promise<unknown> {
  return () => (broker.state() === 'connected' ? roundTrip() : Promise.reject(new Error('not connected')));
}

/** What the process knows about its broker connections without asking the broker. */
export function brokerProblems(brokers: readonly Broker[]): string[] {
  if (brokers.some((b) => b.state() !== 'connected')) return ['RabbitMQ is not connected'];
  const blocked = brokers.map((b) => b.blocked()).find((reason) => reason !== null);
  return blocked ? [`RabbitMQ blocks publishing (${blocked}): a resource alarm`] : [];
}

/** The reasons a service is not ready, from local state and the last checks; empty: ready. */
export function readinessProblems(options: {
  stopping: boolean;
  brokers: readonly Broker[];
  checks: readonly DependencyCheck[];
}): string[] {
  return [
    ...(options.stopping ? ['shutting down'] : []),
    ...brokerProblems(options.brokers),
    ...options.checks.map((c) => c.problem()).filter((p): p is string => p !== null),
  ];
}
