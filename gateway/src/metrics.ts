import { type CommonGauges, JOB_SECONDS_BUCKETS, type prom, type Registry, serviceMetrics } from '@media-foundry/shared/node';

/** What the gateway counts; /metrics on HEALTH_PORT serves it. */
export interface GatewayMetrics {
  registry: Registry;
  jobsSubmitted: prom.Counter<'operation'>;
  /** outcome: completed | failed | cancelled | abandoned (the client went away) */
  jobsFinished: prom.Counter<'operation' | 'outcome'>;
  jobSeconds: prom.Histogram<'operation'>;
  bytesIn: prom.Counter;
  bytesOut: prom.Counter;
}

export interface GatewayGauges extends CommonGauges {
  connections: () => number;
  activeJobs: () => number;
  /** Bytes held for uploads and deliveries, counted against GATEWAY_BUFFER_BUDGET_MB. */
  bufferedBytes: () => number;
  /** Whether this gateway holds the storage sweeper's lease (sweep-lease.ts). */
  sweeperLease: () => boolean;
}

export function createGatewayMetrics(registry: Registry, gauges: GatewayGauges): GatewayMetrics {
  const metrics = serviceMetrics(registry, gauges);
  metrics.gauge('mf_ws_connections', 'Open WebSocket connections', gauges.connections);
  metrics.gauge('mf_gateway_active_jobs', 'Jobs in progress on this gateway', gauges.activeJobs);
  metrics.gauge(
    'mf_gateway_buffered_bytes',
    "Bytes held for clients' uploads and deliveries, of GATEWAY_BUFFER_BUDGET_MB",
    gauges.bufferedBytes,
  );
  // across a deployment the sum is 1 (0 only while the turn passes on, or when no gateway may take it)
  metrics.gauge('mf_gateway_sweeper_lease', '1 while this gateway is the one that sweeps storage', () => (gauges.sweeperLease() ? 1 : 0));
  return {
    registry,
    jobsSubmitted: metrics.counter('mf_jobs_submitted_total', 'Jobs published to the queue', ['operation']),
    jobsFinished: metrics.counter('mf_jobs_finished_total', 'Jobs that ended, by outcome', ['operation', 'outcome']),
    jobSeconds: metrics.histogram('mf_job_duration_seconds', 'From start_job to the result', ['operation'], JOB_SECONDS_BUCKETS),
    bytesIn: metrics.counter('mf_bytes_received_total', 'Uploaded input bytes'),
    bytesOut: metrics.counter('mf_bytes_sent_total', 'Output bytes sent to clients'),
  };
}
