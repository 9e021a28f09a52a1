/**
 * The environment configuration both services read (broker, storage, logging,
 * health, limits a job carries from gateway to worker), and how a service's
 * schema is parsed: once, at start-up, into a normalised object — sizes in
 * bytes, durations in ms, names in camelCase with the unit — so no code
 * converts or re-checks a variable after. Each service's own variables are in
 * config/gateway.ts and config/worker.ts. Variable names are the spec's
 * (WS_HOST, MAX_CONCURRENT_JOBS, …) plus ours; every one is listed in
 * .env.example and README.md.
 */
import { z } from 'zod';
import { addressAllowlist, logLevel, mibToBytes, nonNegativeInt, port, positiveInt, secondsToMs, secret } from './config/values.js';

/** The variables of both services, as the environment holds them. */
export const baseEnvSchema = z.object({
  /** Interface the WebSocket server (gateway) and the /health server (both) bind to. */
  WS_HOST: z.string().min(1).default('0.0.0.0'),
  /** HTTP port of /health (both services; run them on different ports on one host). */
  HEALTH_PORT: port.default(8081),

  // Files
  /** Largest upload or URL download, in MiB. */
  MAX_FILE_SIZE_MB: positiveInt.default(500),
  /**
   * Hosts and networks URL inputs may reach although they are private or
   * loopback (comma-separated host names, IPs or CIDRs). Empty: public addresses only.
   */
  URL_ALLOWLIST: addressAllowlist,
  /**
   * Transient failures (storage unreachable or 5xx, an origin's 5xx/429,
   * DNS, a broker confirm timeout) are retried with backoff for up to this
   * many seconds per step; then the job is handed to another worker.
   */
  TRANSIENT_RETRY_SECONDS: nonNegativeInt.default(60),
  /** How often stale temp dirs and staged objects are swept, in seconds. */
  CLEANUP_INTERVAL_SECONDS: positiveInt.default(60),

  // Logging
  LOG_LEVEL: logLevel.default('info'),

  // Clients
  /**
   * Jobs of one client (API key, JWT subject, connection when auth is off, or
   * an AMQP publisher's `tenant`) that run at once across all workers; the
   * rest wait their turn. Also the uploads one connection may have in flight.
   */
  MAX_JOBS_PER_CLIENT: positiveInt.default(16),
  /** Jobs of one client that may wait in its queue; more are refused with RATE_LIMITED. */
  MAX_QUEUED_JOBS_PER_CLIENT: positiveInt.default(1000),
  /**
   * A tenant's queue nobody took a job from for this many seconds is deleted
   * by RabbitMQ, with any jobs in it. Workers take from a queue with waiting
   * jobs on its turn, and at the latest when one of its jobs ends: keep it
   * above the longest job (checked by the worker) and the longest time without any worker.
   */
  TENANT_QUEUE_IDLE_SECONDS: z.coerce.number().int().min(60).default(86_400),

  // Webhooks (docs/WEBHOOKS.md)
  /**
   * HMAC-SHA256 key of the MediaFoundry-Signature header, the same on every
   * gateway and worker. Unset: jobs with a webhook are refused (VALIDATION_ERROR),
   * never sent unsigned.
   */
  WEBHOOK_SECRET: secret.optional(),
  /**
   * Hosts and networks webhooks may reach although they are private or
   * loopback (comma-separated host names, IPs or CIDRs, as URL_ALLOWLIST). Empty: public addresses only.
   */
  WEBHOOK_ALLOWLIST: addressAllowlist,

  // RabbitMQ
  AMQP_URL: z
    .string()
    .regex(/^amqps?:\/\//, 'must be an amqp:// or amqps:// URL')
    .default('amqp://guest:guest@127.0.0.1:5672'),
  /** Prefix of every exchange and queue name. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be 1-100 characters of A-Z a-z 0-9 _ . -')
    .default('media'),
  /** Deliveries of one job before it is dead-lettered (a job that keeps killing workers). */
  JOB_DELIVERY_LIMIT: positiveInt.default(3),
  /** How long a submit waits for the broker's confirm (also while reconnecting) before SUBMIT_FAILED, in seconds. */
  PUBLISH_TIMEOUT_SECONDS: positiveInt.default(10),

  // Storage
  /** `fs`: a directory shared by gateway and workers (one machine); `s3`: any S3-compatible store. */
  STORAGE_DRIVER: z.enum(['fs', 's3']).default('fs'),
  STORAGE_DIR: z.string().min(1).default('/tmp/media-foundry/storage'),
  S3_ENDPOINT: z.url().optional(),
  S3_BUCKET: z.string().min(1).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /** Path-style URLs (http://host/bucket/key): what MinIO and most S3-compatible servers need. */
  S3_FORCE_PATH_STYLE: z.stringbool().default(true),
  /** Seconds to establish a connection to the S3 endpoint before the attempt fails (and is retried). */
  S3_CONNECT_TIMEOUT_SECONDS: positiveInt.default(5),
  /** Seconds an S3 request may wait without receiving a byte before the attempt fails (and is retried). */
  S3_REQUEST_TIMEOUT_SECONDS: positiveInt.default(30),
});

type BaseEnv = z.output<typeof baseEnvSchema>;

const S3_BUCKET_REQUIRED = 'is required when STORAGE_DRIVER=s3';

/**
 * The base rules, added to each service's schema: they run even when other
 * variables are bad (`when`), so one start-up reports every problem.
 */
export function withBaseRules<S extends z.ZodType<Partial<Pick<BaseEnv, 'STORAGE_DRIVER' | 'S3_BUCKET'>>>>(schema: S): S {
  return schema.refine((c) => c.STORAGE_DRIVER !== 's3' || Boolean(c.S3_BUCKET), {
    path: ['S3_BUCKET'],
    message: S3_BUCKET_REQUIRED,
    when: () => true,
  });
}

/** Where job files live: a directory (one machine) or an S3-compatible bucket. */
export type StorageConfig =
  | { driver: 'fs'; dir: string }
  | {
      driver: 's3';
      bucket: string;
      region: string;
      endpoint: string | undefined;
      accessKeyId: string | undefined;
      secretAccessKey: string | undefined;
      forcePathStyle: boolean;
      connectTimeoutMs: number;
      requestTimeoutMs: number;
    };

/**
 * The normalised base config. Storage is a union on `driver`, so a reader of
 * the s3 variant has its bucket without asserting it. (withBaseRules has
 * already reported a missing S3_BUCKET, with every other problem; the issue
 * added here keeps the types honest and is never the only one.)
 */
export function normaliseBase(env: BaseEnv, ctx: z.RefinementCtx) {
  let storage: StorageConfig;
  if (env.STORAGE_DRIVER === 'fs') storage = { driver: 'fs', dir: env.STORAGE_DIR };
  else if (env.S3_BUCKET)
    storage = {
      driver: 's3',
      bucket: env.S3_BUCKET,
      region: env.S3_REGION,
      endpoint: env.S3_ENDPOINT,
      accessKeyId: env.S3_ACCESS_KEY_ID,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY,
      forcePathStyle: env.S3_FORCE_PATH_STYLE,
      connectTimeoutMs: secondsToMs(env.S3_CONNECT_TIMEOUT_SECONDS),
      requestTimeoutMs: secondsToMs(env.S3_REQUEST_TIMEOUT_SECONDS),
    };
  else {
    ctx.addIssue({ code: 'custom', path: ['S3_BUCKET'], message: S3_BUCKET_REQUIRED });
    return z.NEVER;
  }
  return {
    wsHost: env.WS_HOST,
    healthPort: env.HEALTH_PORT,
    logLevel: env.LOG_LEVEL,
    maxFileSizeBytes: mibToBytes(env.MAX_FILE_SIZE_MB),
    urlAllowlist: env.URL_ALLOWLIST,
    transientRetryMs: secondsToMs(env.TRANSIENT_RETRY_SECONDS),
    cleanupIntervalMs: secondsToMs(env.CLEANUP_INTERVAL_SECONDS),
    maxJobsPerClient: env.MAX_JOBS_PER_CLIENT,
    maxQueuedJobsPerClient: env.MAX_QUEUED_JOBS_PER_CLIENT,
    tenantQueueIdleMs: secondsToMs(env.TENANT_QUEUE_IDLE_SECONDS),
    webhookSecret: env.WEBHOOK_SECRET,
    webhookAllowlist: env.WEBHOOK_ALLOWLIST,
    amqpUrl: env.AMQP_URL,
    queuePrefix: env.QUEUE_PREFIX,
    jobDeliveryLimit: env.JOB_DELIVERY_LIMIT,
    publishTimeoutMs: secondsToMs(env.PUBLISH_TIMEOUT_SECONDS),
    storage,
  };
}

/** What both services' configs hold. */
export type BaseConfig = ReturnType<typeof normaliseBase>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment with a service's schema. Empty strings count as
 * unset (compose files often pass `VAR=`); variables the schema does not know
 * are ignored. Throws ConfigError listing every bad variable at once.
 */
export function parseEnvironment<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(config)'}: ${i.message}`));
  return parsed.data;
}
