/**
 * Prometheus metrics (prom-client). Each service builds its own registry with
 * the default process metrics plus the service's own; /metrics serves it.
 */
import client from 'prom-client';

export { client as prom };
export type Registry = client.Registry;

/**
 * How often the event-loop lag is sampled, ms. prom-client's default (10)
 * wakes the loop a hundred times a second: about 7 ms of CPU a second in
 * every process, most of what an idle gateway or worker spent
 * (docs/BENCHMARKS.md). The `mf_nodejs_eventloop_lag_{min,…,p99}_seconds`
 * figures are the time between two samples, this interval included: about
 * 0.1 s on an idle process, the length of a block when the loop was blocked
 * across a sample. `mf_nodejs_eventloop_lag_seconds` is measured at each scrape.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

/** A registry with process metrics (CPU, memory, event-loop lag, GC) under `prefix`. */
export function createRegistry(service: string): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry, prefix: 'mf_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  return registry;
}

/** Buckets for job durations: 100 ms to an hour. */
export const JOB_SECONDS_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** Gauges every service has: a number read when Prometheus scrapes. */
export interface CommonGauges {
  queueDepth: () => Promise<number | null>;
  brokerConnected: () => boolean;
  brokerReconnects: () => number;
}

/** A gauge whose value is read at scrape time (null: leave the last value). */
function scrapedGauge(registry: client.Registry, name: string, help: string, read: () => number | null | Promise<number | null>): void {
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
function registerCommonGauges(registry: client.Registry, gauges: CommonGauges): void {
  scrapedGauge(registry, 'mf_queue_depth', 'Jobs waiting in the jobs queue', gauges.queueDepth);
  scrapedGauge(registry, 'mf_broker_connected', '1 while connected to RabbitMQ', () => (gauges.brokerConnected() ? 1 : 0));
  scrapedGauge(registry, 'mf_broker_reconnects', 'Reconnects to RabbitMQ since start', gauges.brokerReconnects);
}

/** What a service builds its own metrics with: each registers in the service's registry. */
export interface MetricFactory {
  /** A counter split by `labelNames` (none: one series). */
  counter<L extends string = never>(name: string, help: string, labelNames?: readonly L[]): client.Counter<L>;
  /** A histogram split by `labelNames`, observing into `buckets`. */
  histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): client.Histogram<L>;
  /** A gauge read when Prometheus scrapes (null: leave the last value). */
  gauge(name: string, help: string, read: () => number | null | Promise<number | null>): void;
}

/** Registers the gauges every service has in `registry`, and returns the factory for the service's own. */
export function serviceMetrics(registry: client.Registry, gauges: CommonGauges): MetricFactory {
  registerCommonGauges(registry, gauges);
  const registers = [registry];
  return {
    counter: (name, help, labelNames = []) => new client.Counter({ name, help, labelNames, registers }),
    histogram: (name, help, labelNames, buckets) => new client.Histogram({ name, help, labelNames, buckets, registers }),
    gauge: (name, help, read) => scrapedGauge(registry, name, help, read),
  };
}
