import { type CommonGauges, JOB_SECONDS_BUCKETS, prom, type Registry, serviceMetrics } from '@media-foundry/shared/node';

/** What a worker counts; /metrics on its HEALTH_PORT serves it. */
export interface WorkerMetrics {
  registry: Registry;
  /** outcome: completed | failed | cancelled | requeued | yielded (handed back for a waiting tenant, FAIR_SHARE_GRACE_SECONDS) */
  jobs: prom.Counter<'operation' | 'outcome'>;
  jobSeconds: prom.Histogram<'operation'>;
  /** Wall time per stage of a job (stage-clock.ts): queue_wait, input_fetch, probe, ffmpeg, output_probe, store, reply. */
  stageSeconds: prom.Histogram<'operation' | 'stage'>;
  /** ffmpeg's own speed (media seconds per wall second) at the end of each run. */
  encodeSpeed: prom.Histogram<'operation'>;
  /** Jobs stopped because ffmpeg or the input download made no progress for FFMPEG_STALL_SECONDS. */
  stalled: prom.Counter<'operation'>;
  /** ffmpeg runs by how their process started: `prestarted` (loaded before the job, FFMPEG_PRESTART) or `cold`. */
  ffmpegStarts: prom.Counter<'start'>;
  /** Webhook events by final outcome: delivered | rejected | blocked | failed | invalid (webhooks/dispatcher.ts). */
  webhookDeliveries: prom.Counter<'outcome'>;
}

export interface WorkerGauges extends CommonGauges {
  activeJobs: () => number;
  /** Jobs waiting per tenant queue, as last seen (label: the tenant's name, or its key until the name is known). */
  tenantDepths: () => { tenant: string; depth: number }[];
}

export function createWorkerMetrics(registry: Registry, gauges: WorkerGauges): WorkerMetrics {
  const metrics = serviceMetrics(registry, gauges);
  metrics.gauge('mf_worker_active_jobs', 'Jobs running on this worker', gauges.activeJobs);
  new prom.Gauge({
    name: 'mf_tenant_queue_depth',
    help: "Jobs waiting in each tenant's queue, as this worker last saw it",
    labelNames: ['tenant'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { tenant, depth } of gauges.tenantDepths()) this.set({ tenant }, depth);
    },
  });
  return {
    registry,
    jobs: metrics.counter('mf_worker_jobs_total', 'Jobs this worker ended, by outcome', ['operation', 'outcome']),
    jobSeconds: metrics.histogram('mf_worker_job_duration_seconds', 'Time a job ran on this worker', ['operation'], JOB_SECONDS_BUCKETS),
    stageSeconds: metrics.histogram(
      'mf_worker_stage_seconds',
      'Time a job spent in each stage (queue_wait: from submission to the start of work)',
      ['operation', 'stage'],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
    ),
    encodeSpeed: metrics.histogram(
      'mf_worker_encode_speed_ratio',
      'ffmpeg speed (media seconds per second) at the end of each run',
      ['operation'],
      [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64],
    ),
    stalled: metrics.counter('mf_jobs_stalled_total', 'Jobs stopped for making no progress for FFMPEG_STALL_SECONDS', ['operation']),
    ffmpegStarts: metrics.counter(
      'mf_worker_ffmpeg_starts_total',
      'ffmpeg runs by how their process started: prestarted (loaded before the job, FFMPEG_PRESTART) or cold',
      ['start'],
    ),
    webhookDeliveries: metrics.counter(
      'mf_webhook_deliveries_total',
      'Webhook events by final outcome (delivered, rejected by a 4xx, blocked address, failed after every retry, invalid)',
      ['outcome'],
    ),
  };
}
