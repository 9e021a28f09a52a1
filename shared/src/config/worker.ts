/**
 * The worker's configuration: the base (config.ts) plus ffmpeg, inputs,
 * scheduling and webhooks. Parsed once by the worker's main into a
 * WorkerConfig (bytes, ms, camelCase).
 */
import { z } from 'zod';
import { baseEnvSchema, normaliseBase, parseEnvironment, withBaseRules } from '../config.js';
import { DEFAULT_WATERMARK_FONT_FILE } from '../operations/watermark.js';
import { minimumConsumerTimeoutMs } from '../topology.js';
import { mibToBytes, nonNegativeInt, positiveInt, secondsToMs, timerSeconds } from './values.js';

/** RabbitMQ's largest `x-message-ttl` (2^32 − 1 ms); a larger one is refused with PRECONDITION_FAILED. */
const MAX_MESSAGE_TTL_MS = 4_294_967_295;

/** `tenant=weight` comma-separated, as a record. */
const tenantWeights = z
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
  });

/** The worker's variables, as the environment holds them. */
export const workerEnvSchema = baseEnvSchema.extend({
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
  /**
   * Keep an ffmpeg process loaded ahead of the next job (a fresh process per
   * job, started as a job's ffmpeg starts, waiting for its arguments): a job
   * does not wait for the dynamic linker (about 60 ms with Debian's ffmpeg).
   * Needs the worker's native helper (built with a C compiler); without it,
   * or with `false`, ffmpeg starts when a job needs it.
   */
  FFMPEG_PRESTART: z.stringbool().default(true),
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
  /**
   * Largest sum of one job's inputs (URL downloads and staged uploads, as
   * they arrive in the worker's temp dir), in MiB; at least MAX_FILE_SIZE_MB.
   */
  MAX_JOB_INPUT_MB: positiveInt.default(1000),
  /**
   * Largest file ffmpeg may write for a job (each output, each HLS or DASH
   * segment), in MiB: past it ffmpeg is stopped (prlimit --fsize) and the job
   * fails. Keeps one job from filling TEMP_DIR, and a pod from eviction.
   */
  MAX_OUTPUT_MB: positiveInt.default(2000),
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
  /** On SIGTERM a worker finishes running jobs for up to this many seconds, then hands them back to the queue. */
  SHUTDOWN_GRACE_SECONDS: positiveInt.default(30),

  // Scheduling
  /**
   * A client whose jobs wait while another client holds more than its
   * share of a worker's slots (taken while it was alone) gets one of them
   * after this many seconds: the other's newest job goes back to its
   * queue (once per job at most) and restarts later. 0: never; jobs keep
   * their slots until they end.
   */
  FAIR_SHARE_GRACE_SECONDS: nonNegativeInt.max(2_147_483).default(30),
  /**
   * Fair-share weights, `tenant=weight` comma-separated (e.g. `key:3f2a9c0d11e7=3,jwt:acme=2`);
   * a tenant of weight 3 gets three jobs started for every one of a weight-1 tenant while both wait. Unlisted: 1.
   */
  TENANT_WEIGHTS: tenantWeights,

  // Webhooks (docs/WEBHOOKS.md)
  /** One webhook attempt (connect, request, answer) must finish within this many seconds. */
  WEBHOOK_TIMEOUT_SECONDS: timerSeconds.default(10),
  /** Attempts per webhook event, the first included, before it is given up (5xx, timeouts and network errors are retried). */
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(6),
  /** Wait before the first retry, in seconds (fractions allowed); each later wait doubles (default 20: 20+40+80+160+320 s, about 10 minutes). */
  WEBHOOK_RETRY_BASE_SECONDS: z.coerce.number().positive().max(86_400).default(20),
});

/** The worker's variables parsed, checked and normalised. */
export const workerConfigSchema = withBaseRules(workerEnvSchema)
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
      secondsToMs(c.TENANT_QUEUE_IDLE_SECONDS) >
        minimumConsumerTimeoutMs({
          ffmpegTimeoutMs: secondsToMs(c.FFMPEG_TIMEOUT_SECONDS),
          urlFetchTimeoutMs: secondsToMs(c.URL_FETCH_TIMEOUT_SECONDS),
          transientRetryMs: secondsToMs(c.TRANSIENT_RETRY_SECONDS),
        }),
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
      secondsToMs(c.WEBHOOK_RETRY_BASE_SECONDS) * 2 ** (c.WEBHOOK_MAX_ATTEMPTS - 2) <= MAX_MESSAGE_TTL_MS,
    {
      path: ['WEBHOOK_MAX_ATTEMPTS'],
      message:
        "with WEBHOOK_RETRY_BASE_SECONDS makes a last wait (base × 2^(attempts−2)) over RabbitMQ's longest message TTL (about 49.7 days): each wait is a queue with that TTL",
      when: () => true,
    },
  )
  .transform((env, ctx) => ({
    ...normaliseBase(env, ctx),
    maxConcurrentJobs: env.MAX_CONCURRENT_JOBS,
    ffmpegTimeoutMs: secondsToMs(env.FFMPEG_TIMEOUT_SECONDS),
    ffmpegStallMs: secondsToMs(env.FFMPEG_STALL_SECONDS),
    ffmpegThreads: env.FFMPEG_THREADS,
    ffmpegMaxMemoryBytes: mibToBytes(env.FFMPEG_MAX_MEMORY_MB),
    // compared with the media's own duration, which ffprobe gives in seconds
    maxInputDurationSeconds: env.MAX_INPUT_DURATION_SECONDS,
    maxInputPixels: env.MAX_INPUT_PIXELS,
    ffmpegPath: env.FFMPEG_PATH,
    ffmpegPrestart: env.FFMPEG_PRESTART,
    ffprobePath: env.FFPROBE_PATH,
    inputProbe: env.INPUT_PROBE,
    watermarkFontFile: env.WATERMARK_FONT_FILE,
    tempDir: env.TEMP_DIR,
    maxJobInputBytes: mibToBytes(env.MAX_JOB_INPUT_MB),
    maxOutputBytes: mibToBytes(env.MAX_OUTPUT_MB),
    urlFetchTimeoutMs: secondsToMs(env.URL_FETCH_TIMEOUT_SECONDS),
    urlConnectTimeoutMs: secondsToMs(env.URL_CONNECT_TIMEOUT_SECONDS),
    urlMinBytesPerSecond: env.URL_MIN_BYTES_PER_SECOND,
    urlMinRateWindowMs: secondsToMs(env.URL_MIN_RATE_WINDOW_SECONDS),
    shutdownGraceMs: secondsToMs(env.SHUTDOWN_GRACE_SECONDS),
    fairShareGraceMs: secondsToMs(env.FAIR_SHARE_GRACE_SECONDS),
    tenantWeights: env.TENANT_WEIGHTS,
    webhookTimeoutMs: secondsToMs(env.WEBHOOK_TIMEOUT_SECONDS),
    webhookMaxAttempts: env.WEBHOOK_MAX_ATTEMPTS,
    webhookRetryBaseMs: secondsToMs(env.WEBHOOK_RETRY_BASE_SECONDS),
  }));

export type WorkerConfig = z.output<typeof workerConfigSchema>;

/** The worker's config from the environment; throws ConfigError listing every bad variable. */
export function loadWorkerConfig(env: Record<string, string | undefined>): WorkerConfig {
  return parseEnvironment(workerConfigSchema, env);
}
