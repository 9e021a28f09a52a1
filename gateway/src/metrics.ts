import {
  type CommonGauges,
  JOB_SECONDS_BUCKETS,
  prom,
  registerCommonGauges,
  type Registry,
  scrapedGauge,
} from '@media-foundry/shared/node';

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
}

export function createGatewayMetrics(registry: Registry, gauges: GatewayGauges): GatewayMetrics {
  const r = [registry];
  registerCommonGauges(registry, gauges);
  scrapedGauge(registry, 'mf_ws_connections', 'Open WebSocket connections', gauges.connections);
  scrapedGauge(registry, 'mf_gateway_active_jobs', 'Jobs in progress on this gateway', gauges.activeJobs);
  scrapedGauge(
    registry,
    'mf_gateway_buffered_bytes',
    "Bytes held for clients' uploads and deliveries, of GATEWAY_BUFFER_BUDGET_MB",
    gauges.bufferedBytes,
  );
  return {
    registry,
    jobsSubmitted: new prom.Counter({
      name: 'mf_jobs_submitted_total',
      help: 'Jobs published to the queue',
      labelNames: ['operation'],
      registers: r,
    }),
    jobsFinished: new prom.Counter({
      name: 'mf_jobs_finished_total',
      help: 'Jobs that ended, by outcome',
      labelNames: ['operation', 'outcome'],
      registers: r,
    }),
    jobSeconds: new prom.Histogram({
      name: 'mf_job_duration_seconds',
      help: 'From start_job to the result',
      labelNames: ['operation'],
      buckets: JOB_SECONDS_BUCKETS,
      registers: r,
    }),
    bytesIn: new prom.Counter({ name: 'mf_bytes_received_total', help: 'Uploaded input bytes', registers: r }),
    bytesOut: new prom.Counter({ name: 'mf_bytes_sent_total', help: 'Output bytes sent to clients', registers: r }),
  };
}
