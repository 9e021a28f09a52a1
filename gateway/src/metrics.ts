import { JOB_SECONDS_BUCKETS, prom, type Registry } from '@media-foundry/shared/node';

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

export interface GatewayGauges {
  connections: () => number;
  activeJobs: () => number;
  queueDepth: () => Promise<number | null>;
  brokerConnected: () => boolean;
  brokerReconnects: () => number;
}

export function createGatewayMetrics(registry: Registry, gauges: GatewayGauges): GatewayMetrics {
  const r = [registry];
  new prom.Gauge({
    name: 'mf_ws_connections',
    help: 'Open WebSocket connections',
    registers: r,
    collect() {
      this.set(gauges.connections());
    },
  });
  new prom.Gauge({
    name: 'mf_gateway_active_jobs',
    help: 'Jobs in progress on this gateway',
    registers: r,
    collect() {
      this.set(gauges.activeJobs());
    },
  });
  new prom.Gauge({
    name: 'mf_queue_depth',
    help: 'Jobs waiting in the jobs queue',
    registers: r,
    async collect() {
      const depth = await gauges.queueDepth();
      if (depth !== null) this.set(depth);
    },
  });
  new prom.Gauge({
    name: 'mf_broker_connected',
    help: '1 while connected to RabbitMQ',
    registers: r,
    collect() {
      this.set(gauges.brokerConnected() ? 1 : 0);
    },
  });
  new prom.Gauge({
    name: 'mf_broker_reconnects',
    help: 'Reconnects to RabbitMQ since start',
    registers: r,
    collect() {
      this.set(gauges.brokerReconnects());
    },
  });
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
