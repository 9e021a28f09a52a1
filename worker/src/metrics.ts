import { JOB_SECONDS_BUCKETS, prom, type Registry } from '@media-foundry/shared/node';

/** What a worker counts; /metrics on its HEALTH_PORT serves it. */
export interface WorkerMetrics {
  registry: Registry;
  /** outcome: completed | failed | cancelled | requeued */
  jobs: prom.Counter<'operation' | 'outcome'>;
  jobSeconds: prom.Histogram<'operation'>;
  queueWaitSeconds: prom.Histogram<'operation'>;
  /** ffmpeg's own speed (media seconds per wall second) at the end of each run. */
  encodeSpeed: prom.Histogram<'operation'>;
}

export interface WorkerGauges {
  activeJobs: () => number;
  queueDepth: () => Promise<number | null>;
  brokerConnected: () => boolean;
  brokerReconnects: () => number;
}

export function createWorkerMetrics(registry: Registry, gauges: WorkerGauges): WorkerMetrics {
  const r = [registry];
  new prom.Gauge({
    name: 'mf_worker_active_jobs',
    help: 'Jobs running on this worker',
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
    jobs: new prom.Counter({
      name: 'mf_worker_jobs_total',
      help: 'Jobs this worker ended, by outcome',
      labelNames: ['operation', 'outcome'],
      registers: r,
    }),
    jobSeconds: new prom.Histogram({
      name: 'mf_worker_job_duration_seconds',
      help: 'Time a job ran on this worker',
      labelNames: ['operation'],
      buckets: JOB_SECONDS_BUCKETS,
      registers: r,
    }),
    queueWaitSeconds: new prom.Histogram({
      name: 'mf_worker_queue_wait_seconds',
      help: 'From submission to the start of work',
      labelNames: ['operation'],
      buckets: JOB_SECONDS_BUCKETS,
      registers: r,
    }),
    encodeSpeed: new prom.Histogram({
      name: 'mf_worker_encode_speed_ratio',
      help: 'ffmpeg speed (media seconds per second) at the end of each run',
      labelNames: ['operation'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64],
      registers: r,
    }),
  };
}
