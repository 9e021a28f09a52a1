/**
 * The environment configuration of both services, parsed once at start-up.
 * Names are the spec's (WS_HOST, MAX_CONCURRENT_JOBS, …) plus ours; every one
 * is listed in .env.example and README.md.
 */
import { z } from 'zod';
import { DEFAULT_WATERMARK_FONT_FILE } from './operations/watermark.js';
import { MAX_TEXT_MESSAGE_BYTES } from './protocol.js';
import { minimumConsumerTimeoutMs } from './topology.js';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().nonnegative();
/** Seconds a Node timer waits: more than 2^31-1 ms overflows and fires at once. */
const timerSeconds = positiveInt.max(2_147_483);
/** RabbitMQ's largest `x-message-ttl` (2^32 − 1 ms); a larger one is refused with PRECONDITION_FAILED. */
const MAX_MESSAGE_TTL_MS = 4_294_967_295;
/** Comma-separated host names, IPs or CIDRs (URL_ALLOWLIST, WEBHOOK_ALLOWLIST), as a list. */
const addressAllowlist = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().regex(/^[A-Za-z0-9.:_\-[\]]+(\/\d{1,3})?$/, 'must be host names, IPs or CIDRs, comma-separated')));

/** The spec writes levels upper-case (LOG_LEVEL=INFO); pino wants lower-case. */
const logLevel = z
  .string()
  .transform((s) =>
    s
      .toLowerCase()
      .replace(/^warning$/, 'warn')
      .replace(/^critical$/, 'fatal'),
  )
  .pipe(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']));

export const configSchema = z
  .object({
    // Server
    /** Interface the WebSocket server binds to. */
    WS_HOST: z.string().min(1).default('0.0.0.0'),
    /** WebSocket port (0 = any free port; the chosen port is logged). */
    WS_PORT: port.default(8080),
    /** HTTP port of /health (both services; run them on different ports on one host). */
    HEALTH_PORT: port.default(8081),

    // FFmpeg
    /** Jobs one worker runs at once (its AMQP prefetch). */
    MAX_CONCURRENT_JOBS: positiveInt.default(4),
    /** A job's ffmpeg is killed after this many seconds. */
    FFMPEG_TIMEOUT_SECONDS: positiveInt.default(600),
    /** A job whose ffmpeg, or input download, makes no progress for this many seconds is stopped and fails as stalled. */
    FFMPEG_STALL_SECONDS: positiveInt.default(120),
    /** `-threads` for ffmpeg; 0 lets ffmpeg choose. */
    FFMPEG_THREADS: nonNegativeInt.default(0),
    /** Address-space ceiling of each ffmpeg process, in MiB (prlimit --as); 0: none. */
    FFMPEG_MAX_MEMORY_MB: nonNegativeInt.default(4096),
    /** Inputs longer than this many seconds are refused. */
    MAX_INPUT_DURATION_SECONDS: positiveInt.default(4 * 3600),
    /** Inputs with frames larger than this many pixels (width × height) are refused. */
    MAX_INPUT_PIXELS: positiveInt.default(7680 * 4320),
    FFMPEG_PATH: z.string().min(1).default('ffmpeg'),
    FFPROBE_PATH: z.string().min(1).default('ffprobe'),
    /**
     * How a single-input job's input is described before ffmpeg runs: `auto` reads an MP4/MOV's
     * header boxes in-process (no ffprobe process) and runs ffprobe for anything else; `ffprobe`
     * always runs ffprobe. The `probe` operation always answers with ffprobe's output.
     */
    INPUT_PROBE: z.enum(['auto', 'ffprobe']).default('auto'),
    /** The TrueType font of `watermark` texts (Debian: `fonts-dejavu-core`). */
    WATERMARK_FONT_FILE: z.string().min(1).default(DEFAULT_WATERMARK_FONT_FILE),

    // Files
    /** Worker scratch space; one sub-directory per running job. */
    TEMP_DIR: z.string().min(1).default('/tmp/ffmpeg-jobs'),
    /** Largest upload or URL download, in MiB. */
    MAX_FILE_SIZE_MB: positiveInt.default(500),
    /**
     * Largest sum of one job's inputs (URL downloads and staged uploads, as
     * they arrive in the worker's temp dir), in MiB; at least MAX_FILE_SIZE_MB.
     */
    MAX_JOB_INPUT_MB: positiveInt.default(1000),
    /**
     * Hosts and networks URL inputs may reach although they are private or
     * loopback (comma-separated host names, IPs or CIDRs). Empty: public addresses only.
     */
    URL_ALLOWLIST: addressAllowlist,
    /** A URL input must download within this many seconds. */
    URL_FETCH_TIMEOUT_SECONDS: positiveInt.default(300),
    /** A URL input's server must accept the connection and answer with headers within this many seconds. */
    URL_CONNECT_TIMEOUT_SECONDS: positiveInt.default(15),
    /**
     * A URL input's body must arrive at least this fast, in bytes per second
     * averaged over each URL_MIN_RATE_WINDOW_SECONDS; slower fails the job (0: no minimum).
     */
    URL_MIN_BYTES_PER_SECOND: nonNegativeInt.default(32_768),
    /** The window URL_MIN_BYTES_PER_SECOND is measured over, in seconds. */
    URL_MIN_RATE_WINDOW_SECONDS: timerSeconds.default(10),
    /**
     * Transient failures (storage unreachable or 5xx, an origin's 5xx/429,
     * DNS, a broker confirm timeout) are retried with backoff for up to this
     * many seconds per step; then the job is handed to another worker.
     */
    TRANSIENT_RETRY_SECONDS: nonNegativeInt.default(60),
    /** How often stale temp dirs and staged objects are swept, in seconds. */
    CLEANUP_INTERVAL_SECONDS: positiveInt.default(60),
    /** A job's stored files (record, staged inputs) are swept this many seconds after their last change if it never finished. */
    STORAGE_TTL_SECONDS: positiveInt.default(86_400),

    /** How long a finished job's result waits (in storage) for a client to resume it after its connection dropped, in seconds. */
    RESUME_TTL_SECONDS: positiveInt.default(600),
    /** On SIGTERM a worker finishes running jobs for up to this many seconds, then hands them back to the queue. */
    SHUTDOWN_GRACE_SECONDS: positiveInt.default(30),
    /**
     * On SIGTERM a gateway reports not-ready and refuses new upgrades for this
     * many seconds (for the load balancer to notice) before it closes its sockets with 1001.
     */
    SHUTDOWN_LEAD_SECONDS: nonNegativeInt.default(5),

    // Logging
    LOG_LEVEL: logLevel.default('info'),

    // WebSocket
    /**
     * Largest WebSocket message in bytes, any kind: uWebSockets.js buffers a
     * message up to this before the gateway sees it (text ones too), so it
     * bounds memory per connection. Single-frame uploads are held whole;
     * larger files go in chunks (each frame within this).
     */
    WS_MAX_SIZE: positiveInt.default(64 * 1024 * 1024),
    /** Seconds of silence before the server pings a client (0 disables pings). */
    WS_PING_INTERVAL: nonNegativeInt.default(30),
    /** Seconds a client has to answer a ping before it is disconnected. */
    WS_PING_TIMEOUT: positiveInt.default(10),

    /** Largest text (JSON) message, in bytes. */
    WS_MAX_TEXT_SIZE: positiveInt.default(MAX_TEXT_MESSAGE_BYTES),
    /** Messages (text or binary) a connection may send per second; bursts up to the same number. */
    WS_MAX_MESSAGES_PER_SECOND: positiveInt.default(50),
    /**
     * Open WebSocket connections of one API key or JWT subject, counted per
     * gateway process; more are closed with 1008 as soon as they open. Not
     * applied with auth off (every connection is its own client then).
     */
    MAX_CONNECTIONS_PER_CLIENT: positiveInt.default(100),
    /**
     * Jobs of one client (API key, JWT subject, connection when auth is off, or
     * an AMQP publisher's `tenant`) that run at once across all workers; the
     * rest wait their turn. Also the uploads one connection may have in flight.
     */
    MAX_JOBS_PER_CLIENT: positiveInt.default(16),
    /**
     * A client whose jobs wait while another client holds more than its
     * share of a worker's slots (taken while it was alone) gets one of them
     * after this many seconds: the other's newest job goes back to its
     * queue (once per job at most) and restarts later. 0: never; jobs keep
     * their slots until they end.
     */
    FAIR_SHARE_GRACE_SECONDS: nonNegativeInt.max(2_147_483).default(30),
    /** Jobs of one client that may wait in its queue; more are refused with RATE_LIMITED. */
    MAX_QUEUED_JOBS_PER_CLIENT: positiveInt.default(1000),
    /**
     * Fair-share weights, `tenant=weight` comma-separated (e.g. `key:3f2a9c0d11e7=3,jwt:acme=2`);
     * a tenant of weight 3 gets three jobs started for every one of a weight-1 tenant while both wait. Unlisted: 1.
     */
    TENANT_WEIGHTS: z
      .string()
      .default('')
      .transform((s, ctx) => {
        const weights: Record<string, number> = {};
        for (const entry of s
          .split(',')
          .map((e) => e.trim())
          .filter(Boolean)) {
          const eq = entry.lastIndexOf('=');
          const tenant = entry.slice(0, eq);
          const digits = entry.slice(eq + 1);
          const weight = Number(digits);
          if (eq <= 0 || !/^\d{1,3}$/.test(digits) || weight < 1 || weight > 100)
            ctx.addIssue({ code: 'custom', message: `"${entry}" is not tenant=weight with a whole weight of 1-100` });
          else if (Object.hasOwn(weights, tenant)) ctx.addIssue({ code: 'custom', message: `tenant "${tenant}" is listed twice` });
          else weights[tenant] = weight;
        }
        return weights;
      }),
    /**
     * A tenant's queue nobody took a job from for this many seconds is deleted
     * by RabbitMQ, with any jobs in it. Workers take from a queue with waiting
     * jobs on its turn, and at the latest when one of its jobs ends: keep it
     * above the longest job (checked) and the longest time without any worker.
     */
    TENANT_QUEUE_IDLE_SECONDS: z.coerce.number().int().min(60).default(86_400),

    // Authentication (gateway)
    /** Comma-separated API keys; a client presents one as `Authorization: Bearer <key>` or `?token=<key>`. */
    API_KEYS: z
      .string()
      .default('')
      .transform((s) =>
        s
          .split(',')
          .map((k) => k.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().min(16, 'each API key must be at least 16 characters'))),
    /** HS256 secret for JWT bearer tokens (the subject `sub` identifies the client). */
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /** Serve the browser demo page (gateway/dist/demo-page, built from client/) at `/` on the WebSocket port. */
    DEMO_PAGE: z.stringbool().default(true),
    /** Comma-separated Origin values browsers may connect from (empty: any origin). */
    ALLOWED_ORIGINS: z
      .string()
      .default('')
      .transform((s) =>
        s
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean),
      ),

    /** Chunked uploads: bytes a client may send beyond the last `upload_ack`. */
    UPLOAD_WINDOW_BYTES: positiveInt.default(8 * 1024 * 1024),
    /**
     * A job waiting for its upload fails (JOB_FAILED) after this many seconds
     * without a byte of it, and what was staged is removed: a socket kept
     * alive by pings alone holds nothing for longer.
     */
    UPLOAD_IDLE_TIMEOUT_SECONDS: timerSeconds.default(60),
    /** Chunk size of chunked downloads (outputs over 16 MiB), and the WebSocket fragment size of larger single-frame ones: what one delivery holds. */
    DOWNLOAD_CHUNK_BYTES: positiveInt.default(1024 * 1024),
    /**
     * MiB one gateway process may hold for all its clients' uploads and
     * deliveries together: a chunked upload counts its window plus a 1 MiB
     * stream buffer, a single-frame upload its size until stored, a delivery
     * the frame or chunk it is sending. An upload that does not fit is refused
     * with RATE_LIMITED; a delivery waits for room. What uWebSockets.js
     * buffers in its sockets is not counted (WS_MAX_SIZE bounds it per message).
     */
    GATEWAY_BUFFER_BUDGET_MB: positiveInt.default(1024),
    /** `delivery_method: "url"`: how long download URLs work (and outputs are kept), in seconds. */
    RESULT_URL_TTL_SECONDS: positiveInt.default(3600),
    /** Base of the gateway's own download URLs (fs driver), e.g. https://media.example.com; default http://<WS_HOST>:<WS_PORT>. */
    PUBLIC_BASE_URL: z.url().optional(),
    /** HMAC key of the gateway's signed download URLs; set the same value on every gateway (default: random per process). */
    URL_SIGNING_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),

    // Webhooks (docs/WEBHOOKS.md)
    /**
     * HMAC-SHA256 key of the MediaFoundry-Signature header, the same on every
     * gateway and worker. Unset: jobs with a webhook are refused (VALIDATION_ERROR),
     * never sent unsigned.
     */
    WEBHOOK_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /**
     * Hosts and networks webhooks may reach although they are private or
     * loopback (comma-separated host names, IPs or CIDRs, as URL_ALLOWLIST). Empty: public addresses only.
     */
    WEBHOOK_ALLOWLIST: addressAllowlist,
    /** One webhook attempt (connect, request, answer) must finish within this many seconds. */
    WEBHOOK_TIMEOUT_SECONDS: timerSeconds.default(10),
    /** Attempts per webhook event, the first included, before it is given up (5xx, timeouts and network errors are retried). */
    WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(6),
    /** Wait before the first retry, in seconds (fractions allowed); each later wait doubles (default 20: 20+40+80+160+320 s, about 10 minutes). */
    WEBHOOK_RETRY_BASE_SECONDS: z.coerce.number().positive().max(86_400).default(20),

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
  })
  .refine((c) => c.STORAGE_DRIVER !== 's3' || Boolean(c.S3_BUCKET), {
    path: ['S3_BUCKET'],
    message: 'is required when STORAGE_DRIVER=s3',
    // also check when other variables are bad, so one start-up reports every problem
    when: () => true,
  })
  .refine((c) => !(c.MAX_JOB_INPUT_MB < c.MAX_FILE_SIZE_MB), {
    path: ['MAX_JOB_INPUT_MB'],
    message: 'must be at least MAX_FILE_SIZE_MB (a job of one largest input must fit)',
    when: () => true,
  })
  .refine(
    (c) =>
      // a variable already reported as bad is not compared as well
      ![c.TENANT_QUEUE_IDLE_SECONDS, c.FFMPEG_TIMEOUT_SECONDS, c.URL_FETCH_TIMEOUT_SECONDS, c.TRANSIENT_RETRY_SECONDS].every(
        (v) => Number.isInteger(v) && v >= 0,
      ) ||
      c.TENANT_QUEUE_IDLE_SECONDS < 60 ||
      c.TENANT_QUEUE_IDLE_SECONDS * 1000 > minimumConsumerTimeoutMs(c),
    {
      path: ['TENANT_QUEUE_IDLE_SECONDS'],
      message:
        'must outlast the longest job (FFMPEG_TIMEOUT_SECONDS + URL_FETCH_TIMEOUT_SECONDS + 4 × TRANSIENT_RETRY_SECONDS + 60): a queue nobody takes from for that long is deleted with its jobs',
      when: () => true,
    },
  )
  .refine(
    (c) =>
      !(c.WEBHOOK_RETRY_BASE_SECONDS > 0 && c.WEBHOOK_MAX_ATTEMPTS >= 2) ||
      c.WEBHOOK_RETRY_BASE_SECONDS * 1000 * 2 ** (c.WEBHOOK_MAX_ATTEMPTS - 2) <= MAX_MESSAGE_TTL_MS,
    {
      path: ['WEBHOOK_MAX_ATTEMPTS'],
      message:
        "with WEBHOOK_RETRY_BASE_SECONDS makes a last wait (base × 2^(attempts−2)) over RabbitMQ's longest message TTL (about 49.7 days): each wait is a queue with that TTL",
      when: () => true,
    },
  );

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment. Empty strings count as unset (compose files often
 * pass `VAR=`). Throws ConfigError listing every bad variable at once.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(config)'}: ${i.message}`));
  return parsed.data;
}

/** Every variable the schema knows (for .env.example and the deployment consistency tests). */
export const CONFIG_VARIABLES = Object.keys(configSchema.shape) as (keyof Config)[];
