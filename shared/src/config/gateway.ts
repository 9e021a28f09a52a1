/**
 * The gateway's configuration: the base (config.ts) plus the WebSocket
 * server, authentication, uploads and deliveries. Parsed once by the
 * gateway's main into a GatewayConfig (bytes, ms, camelCase).
 */
import { z } from 'zod';
import { baseEnvSchema, normaliseBase, parseEnvironment, withBaseRules } from '../config.js';
import { MAX_TEXT_MESSAGE_BYTES } from '../protocol.js';
import { commaList, MiB, mibToBytes, nonNegativeInt, port, positiveInt, secondsToMs, secret, timerSeconds } from './values.js';

/** The gateway's variables, as the environment holds them. */
export const gatewayEnvSchema = baseEnvSchema.extend({
  // Server
  /** WebSocket port (0 = any free port; the chosen port is logged). */
  WS_PORT: port.default(8080),
  /** How long a finished job's result waits (in storage) for a client to resume it after its connection dropped, in seconds. */
  RESUME_TTL_SECONDS: positiveInt.default(600),
  /** A job's stored files (record, staged inputs) are swept this many seconds after their last change if it never finished. */
  STORAGE_TTL_SECONDS: positiveInt.default(86_400),
  /**
   * On SIGTERM a gateway reports not-ready and refuses new upgrades for this
   * many seconds (for the load balancer to notice) before it closes its sockets with 1001.
   */
  SHUTDOWN_LEAD_SECONDS: nonNegativeInt.default(5),

  // WebSocket
  /**
   * Largest WebSocket message in bytes, any kind: uWebSockets.js buffers a
   * message up to this before the gateway sees it (text ones too), so it
   * bounds memory per connection. Single-frame uploads are held whole;
   * larger files go in chunks (each frame within this).
   */
  WS_MAX_SIZE: positiveInt.default(64 * MiB),
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
   * Downloads of `/files/…` links (the fs driver's URL deliveries) one
   * gateway process serves at once; more are answered 503 with Retry-After.
   * Each holds an open file and a chunk: without it, one link fetched in
   * parallel could take every file descriptor the process has.
   */
  MAX_FILE_DOWNLOADS: positiveInt.default(256),

  // Authentication
  /** Comma-separated API keys; a client presents one as `Authorization: Bearer <key>` or `?token=<key>`. */
  API_KEYS: commaList.pipe(z.array(z.string().min(16, 'each API key must be at least 16 characters'))),
  /** HS256 secret for JWT bearer tokens (the subject `sub` identifies the client). */
  JWT_SECRET: secret.optional(),
  /** Serve the browser demo page (gateway/dist/demo-page, built from client/) at `/` on the WebSocket port. */
  DEMO_PAGE: z.stringbool().default(true),
  /** Comma-separated Origin values browsers may connect from (empty: any origin). */
  ALLOWED_ORIGINS: commaList,

  // Uploads and deliveries
  /** Chunked uploads: bytes a client may send beyond the last `upload_ack`. */
  UPLOAD_WINDOW_BYTES: positiveInt.default(8 * MiB),
  /**
   * A job waiting for its upload fails (JOB_FAILED) after this many seconds
   * without a byte of it, and what was staged is removed: a socket kept
   * alive by pings alone holds nothing for longer.
   */
  UPLOAD_IDLE_TIMEOUT_SECONDS: timerSeconds.default(60),
  /**
   * A chunked upload in progress must average at least this many bytes a
   * second over each UPLOAD_MIN_RATE_WINDOW_SECONDS, or it fails (JOB_FAILED)
   * and gives back its part of GATEWAY_BUFFER_BUDGET_MB: a trickle, a byte
   * within each idle timeout, would otherwise hold it for as long as it liked.
   * A window in which the gateway kept the client waiting for an `upload_ack`
   * (storage behind) does not count. 0: no minimum.
   */
  UPLOAD_MIN_BYTES_PER_SECOND: nonNegativeInt.default(4096),
  /** The window UPLOAD_MIN_BYTES_PER_SECOND is measured over, in seconds. */
  UPLOAD_MIN_RATE_WINDOW_SECONDS: timerSeconds.default(30),
  /** Chunk size of chunked downloads (outputs over 16 MiB), and the WebSocket fragment size of larger single-frame ones: what one delivery holds. */
  DOWNLOAD_CHUNK_BYTES: positiveInt.default(MiB),
  /**
   * MiB one gateway process may hold for all its clients' uploads and
   * deliveries together: a chunked upload counts its window plus a 1 MiB
   * stream buffer, a single-frame upload its size until stored, a delivery
   * the frame or chunk it is sending. An upload that does not fit is refused
   * with RATE_LIMITED; a delivery waits for room. What uWebSockets.js
   * buffers in its sockets is not counted (WS_MAX_SIZE bounds it per message).
   */
  GATEWAY_BUFFER_BUDGET_MB: positiveInt.default(1024),
  /**
   * A lone output of 256 KiB or less delivered as binary (a thumbnail) is kept inside its job's result.json
   * rather than under a key of its own: one storage write less per such job. Off by default for this release:
   * a gateway or worker of an earlier one, still running during a rolling update, reads such a result
   * without the output. Turn it on once every gateway and worker runs this release or a later one.
   */
  SMALL_OUTPUTS_IN_RESULT: z.stringbool().default(false),
  /** `delivery_method: "url"`: how long download URLs work (and outputs are kept), in seconds; S3 signs for 7 days at most. */
  RESULT_URL_TTL_SECONDS: positiveInt.default(3600),
  /** Base of the gateway's own download URLs (fs driver), e.g. https://media.example.com; default http://<WS_HOST>:<WS_PORT>. */
  PUBLIC_BASE_URL: z.url().optional(),
  /** HMAC key of the gateway's signed download URLs; set the same value on every gateway (default: random per process). */
  URL_SIGNING_SECRET: secret.optional(),
});

/** The gateway's variables parsed, checked and normalised. */
/** The longest an S3 presigned URL may live (SigV4: 7 days). */
export const S3_PRESIGN_MAX_SECONDS = 604_800;

/** uWebSockets.js aborts the process for an idle timeout (ping interval + timeout) over this, in seconds. */
export const UWS_MAX_IDLE_SECONDS = 960;

export const gatewayConfigSchema = withBaseRules(gatewayEnvSchema)
  .refine((c) => !(c.WS_PING_INTERVAL + c.WS_PING_TIMEOUT > UWS_MAX_IDLE_SECONDS), {
    path: ['WS_PING_INTERVAL'],
    message: `plus WS_PING_TIMEOUT must be at most ${UWS_MAX_IDLE_SECONDS} seconds: uWebSockets.js refuses a longer idle timeout (it aborts the process)`,
    when: () => true,
  })
  .refine((c) => c.STORAGE_DRIVER !== 's3' || !(c.RESULT_URL_TTL_SECONDS > S3_PRESIGN_MAX_SECONDS), {
    path: ['RESULT_URL_TTL_SECONDS'],
    message: `must be at most ${S3_PRESIGN_MAX_SECONDS} (7 days) with STORAGE_DRIVER=s3: S3 signs no URL for longer, and every URL delivery would fail`,
    when: () => true,
  })
  .transform((env, ctx) => ({
    ...normaliseBase(env, ctx),
    wsPort: env.WS_PORT,
    resumeTtlMs: secondsToMs(env.RESUME_TTL_SECONDS),
    storageTtlMs: secondsToMs(env.STORAGE_TTL_SECONDS),
    shutdownLeadMs: secondsToMs(env.SHUTDOWN_LEAD_SECONDS),
    wsMaxSizeBytes: env.WS_MAX_SIZE,
    // uWebSockets.js takes its idle timeout in seconds
    wsPingIntervalSeconds: env.WS_PING_INTERVAL,
    wsPingTimeoutSeconds: env.WS_PING_TIMEOUT,
    wsMaxTextSizeBytes: env.WS_MAX_TEXT_SIZE,
    wsMaxMessagesPerSecond: env.WS_MAX_MESSAGES_PER_SECOND,
    maxConnectionsPerClient: env.MAX_CONNECTIONS_PER_CLIENT,
    maxFileDownloads: env.MAX_FILE_DOWNLOADS,
    apiKeys: env.API_KEYS,
    jwtSecret: env.JWT_SECRET,
    demoPage: env.DEMO_PAGE,
    smallOutputsInResult: env.SMALL_OUTPUTS_IN_RESULT,
    allowedOrigins: env.ALLOWED_ORIGINS,
    uploadWindowBytes: env.UPLOAD_WINDOW_BYTES,
    uploadIdleTimeoutMs: secondsToMs(env.UPLOAD_IDLE_TIMEOUT_SECONDS),
    uploadMinBytesPerSecond: env.UPLOAD_MIN_BYTES_PER_SECOND,
    uploadMinRateWindowMs: secondsToMs(env.UPLOAD_MIN_RATE_WINDOW_SECONDS),
    downloadChunkBytes: env.DOWNLOAD_CHUNK_BYTES,
    gatewayBufferBudgetBytes: mibToBytes(env.GATEWAY_BUFFER_BUDGET_MB),
    resultUrlTtlMs: secondsToMs(env.RESULT_URL_TTL_SECONDS),
    publicBaseUrl: env.PUBLIC_BASE_URL,
    urlSigningSecret: env.URL_SIGNING_SECRET,
  }));

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;

/** The gateway's config from the environment; throws ConfigError listing every bad variable. */
export function loadGatewayConfig(env: Record<string, string | undefined>): GatewayConfig {
  return parseEnvironment(gatewayConfigSchema, env);
}
