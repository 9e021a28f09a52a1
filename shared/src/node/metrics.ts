/**
 * Prometheus metrics (prom-client). Each service builds its own registry with
 * the default process metrics plus the service's own; /metrics serves it.
 */
import client from 'prom-client';

export { client as prom };
export type Registry = client.Registry;

/** A registry with process metrics (CPU, memory, event-loop lag, GC) under `prefix`. */
export function createRegistry(service: string): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry, prefix: 'mf_' });
  return registry;
}

/** Buckets for job durations: 100 ms to an hour. */
export const JOB_SECONDS_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** A counter registered in `registry`, split by `labelNames` (none: one series). */
export function counter<L extends string = never>(
  registry: client.Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): client.Counter<L> {
  return new client.Counter({ name, help, labelNames, registers: [registry] });
}

/** A histogram registered in `registry`, split by `labelNames`, observing into `buckets`. */
export function histogram<L extends string>(
  registry: client.Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  buckets: number[],
): client.Histogram<L> {
  return new client.Histogram({ name, help, labelNames, buckets, registers: [registry] });
}

/** Gauges every service has: a number read when Prometheus scrapes. */
export interface CommonGauges {
  queueDepth: () => Promise<number | null>;
  brokerConnected: () => boolean;
  brokerReconnects: () => number;
}

/** A gauge whose value is read at scrape time (null: leave the last value). */
export function scrapedGauge(
  registry: client.Registry,
  name: string,
  help: string,
  read: () => number | null | Promise<number | null>,
): void {
  new client.Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      const value = await read();
      if (value !== null) this.set(value);
    },
  });
}

/** `mf_queue_depth`, `mf_broker_connected`, `mf_broker_reconnects`: the broker as both services see it. */
export function registerCommonGauges(registry: client.Registry, gauges: CommonGauges): void {
  scrapedGauge(registry, 'mf_queue_depth', 'Jobs waiting in the jobs queue', gauges.queueDepth);
  scrapedGauge(registry, 'mf_broker_connected', '1 while connected to RabbitMQ', () => (gauges.brokerConnected() ? 1 : 0));
  scrapedGauge(registry, 'mf_broker_reconnects', 'Reconnects to RabbitMQ since start', gauges.brokerReconnects);
}
