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
