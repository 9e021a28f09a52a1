/**
 * The WebSocket protocol between clients and the gateway: every text message in
 * both directions, and the binary frame layout. Browser-safe (zod only).
 */
import { z } from 'zod';
import { MiB } from './config/values.js';
import { ErrorCode } from './errors.js';
import { inputCountProblem, withOperation } from './operations/index.js';

/** Client-chosen job ids are safe as path segments and log fields. */
export const jobId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ : - (starting with a letter or digit)');

/**
 * Longest file name, in UTF-8 bytes. A name becomes the last component of a
 * storage path, which filesystems allow 255 bytes, less the 45 the fs driver
 * adds while it writes (`<name>.<uuid>.partial`); as an S3 key
 * (`jobs/<uuid>/input/<name>`, 48 bytes more) it is far under S3's 1024.
 */
export const MAX_FILE_NAME_BYTES = 200;

const utf8 = new TextEncoder();

/** A file name without any path: no separators, no control characters, not "." or "..", at most MAX_FILE_NAME_BYTES. */
export const fileName = z
  .string()
  .min(1)
  // characters never outnumber bytes: a cheap first bound, and the maxLength of the generated schema
  .max(MAX_FILE_NAME_BYTES)
  .refine(
    (s) => !/[/\\\u0000-\u001f\u007f]/.test(s) && s !== '.' && s !== '..',
    'must be a plain file name without path separators or control characters',
  )
  // a lone surrogate (JSON allows "\ud800") would be written as U+FFFD: another name than the one asked for
  .refine((s) => !/\p{Cs}/u.test(s), 'must be valid Unicode (no unpaired surrogates)')
  .refine(
    (s) => utf8.encode(s).length <= MAX_FILE_NAME_BYTES,
    `must be at most ${MAX_FILE_NAME_BYTES} bytes in UTF-8 (a multibyte character counts 2-4)`,
  );

/**
 * An output's name: a plain {@link fileName}, or — for outputs only (an HLS
 * ladder's `720p/seg_003.ts`) — a relative path of segments of `A-Z a-z 0-9 . _ -`,
 * none of them `.` or `..` or empty (so no leading `/`), at most MAX_FILE_NAME_BYTES
 * in all. Uploads and input names stay plain file names.
 */
export const outputFileName = z
  .string()
  .min(1)
  .max(MAX_FILE_NAME_BYTES)
  .refine(
    (s) => (s.includes('/') ? isSafeRelativePath(s) : fileName.safeParse(s).success),
    'must be a plain file name, or a relative path of [A-Za-z0-9._-] segments without "." or ".."',
  );

/** `a/b/c.ts`: segments of `[A-Za-z0-9._-]`, none empty, `.` or `..`. */
export function isSafeRelativePath(path: string): boolean {
  return path.split('/').every((part) => /^[A-Za-z0-9._-]+$/.test(part) && part !== '.' && part !== '..');
}

export const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

/** Most operations take one input; concat takes up to this many. */
export const MAX_INPUTS = 20;

/** One file fetched by the worker. */
export const urlInput = z.strictObject({ source: z.literal('url'), url: httpUrl });

/** `url` for one input, or `urls` for several (concat, subtitles with an external subtitle file). */
export const clientUrlInput = z
  .strictObject({
    source: z.literal('url'),
    url: httpUrl.optional(),
    urls: z.array(httpUrl).min(1).max(MAX_INPUTS).optional(),
  })
  .refine((i) => (i.url === undefined) !== (i.urls === undefined), {
    message: 'give either `url` or `urls`',
    path: ['url'],
  });

/**
 * Files the client sends as binary frames after `ack`: one frame with any
 * file name, or with `filenames`, one frame per listed name (any order).
 */
export const uploadInput = z
  .strictObject({
    source: z.literal('upload'),
    /** Total bytes the client will upload (all files): refused at once when over MAX_FILE_SIZE_MB. */
    size_bytes: z.number().int().positive().optional(),
    /** Informational for a single upload. */
    filename: fileName.optional(),
    filenames: z.array(fileName).min(1).max(MAX_INPUTS).optional(),
  })
  .refine((i) => !i.filenames || new Set(i.filenames).size === i.filenames.length, {
    message: 'file names must be distinct',
    path: ['filenames'],
  });
/** `input` of start_job as clients send it (the wire format; see {@link normaliseInput} for what the gateway reads). */
export const jobInput = z.discriminatedUnion('source', [clientUrlInput, uploadInput]);
/** What a client sends as `input`. */
export type WireJobInput = z.input<typeof jobInput>;

/** One URL input: the AMQP job message's own shape, so URL inputs go into it as they are. */
export type UrlInput = z.infer<typeof urlInput>;
/** One file the client will upload: named when the client listed `filenames`, else (one file) null, any name. */
export interface UploadSlot {
  source: 'upload';
  filename: string | null;
}
/**
 * `input` of a validated start_job: every input file once, in job order
 * (`url` → one, `urls` → one each; an upload without `filenames` → one
 * unnamed, with them → one named each). Made once, by the start_job schema.
 */
export type JobInput = { source: 'url'; files: UrlInput[] } | { source: 'upload'; files: UploadSlot[]; size_bytes?: number };

/**
 * The one place the wire's `url` / `urls` / `filenames` become a list. It
 * also counts the inputs of an `input` refused for another reason (neither
 * `url` nor `urls` counts one), so the count problem reads as it always has.
 */
function normaliseInput(input: z.output<typeof jobInput>): JobInput {
  if (input.source === 'url')
    // the schema's refine leaves exactly one of `url` / `urls` in a valid input
    return { source: 'url', files: (input.urls ?? [input.url as string]).map((url) => ({ source: 'url', url })) };
  const files: UploadSlot[] = input.filenames?.map((filename) => ({ source: 'upload', filename })) ?? [
    { source: 'upload', filename: null },
  ];
  return { source: 'upload', files, ...(input.size_bytes !== undefined ? { size_bytes: input.size_bytes } : {}) };
}

/**
 * `binary`: outputs come as binary frames on the socket. `url`: `completed`
 * carries a download URL per output (presigned S3 GET, or a signed gateway
 * URL with the fs driver) and no frames are sent.
 */
export const DELIVERY_METHODS = ['binary', 'url'] as const;
export const deliveryMethod = z.enum(DELIVERY_METHODS);
export type DeliveryMethod = z.infer<typeof deliveryMethod>;

/**
 * What a webhook may be told: the job's end (`completed`; `failed`, an error
 * reply; `cancelled`, an error reply with JOB_CANCELLED) and, when asked,
 * each change of its progress stage (`stage`; not every percentage).
 */
export const WEBHOOK_EVENTS = ['completed', 'failed', 'cancelled', 'stage'] as const;
export const webhookEvent = z.enum(WEBHOOK_EVENTS);
export type WebhookEvent = z.infer<typeof webhookEvent>;
/** Without `events`: the job's end only. */
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEvent[] = ['completed', 'failed', 'cancelled'];

/**
 * A signed HTTP POST of the job's replies to `url` (docs/WEBHOOKS.md). A
 * private, loopback or non-http(s) address is refused at submit unless
 * WEBHOOK_ALLOWLIST names it.
 */
export const webhookSpec = z.strictObject({
  url: httpUrl.max(2048),
  events: z
    .array(webhookEvent)
    .min(1)
    .max(WEBHOOK_EVENTS.length)
    .refine((e) => new Set(e).size === e.length, 'events must be distinct')
    .optional(),
});
export type WebhookSpec = z.infer<typeof webhookSpec>;

// ---- client → server ------------------------------------------------------

export const startJobMessage = withOperation(
  z.strictObject({
    type: z.literal('start_job'),
    /** Generated by the gateway when absent. */
    job_id: jobId.optional(),
    input: jobInput,
    delivery_method: deliveryMethod.default('binary'),
    /** Where to POST the job's end (and, if asked, its stage changes): docs/WEBHOOKS.md. */
    webhook: webhookSpec.optional(),
  }),
)
  .superRefine((m, ctx) => {
    const problem = inputCountProblem(m.operation, normaliseInput(m.input).files.length, m.options);
    if (problem) ctx.addIssue({ code: 'custom', path: ['input'], message: problem });
  })
  // runs only on a valid message: downstream reads `input.files`, never `url` / `urls` / `filenames`
  .transform((m) => ({ ...m, input: normaliseInput(m.input) }));
/** A validated start_job, its `input` normalised ({@link JobInput}). */
export type StartJobMessage = z.output<typeof startJobMessage>;

export const cancelJobMessage = z.strictObject({ type: z.literal('cancel_job'), job_id: jobId });
export type CancelJobMessage = z.infer<typeof cancelJobMessage>;

export const pingMessage = z.object({ type: z.literal('ping') });

/** Re-attaches a job to this connection after a reconnect: its state, the rest of its progress and its result. */
export const resumeJobMessage = z.strictObject({
  type: z.literal('resume_job'),
  job_id: jobId,
  resume_token: z.string().min(1).max(200),
});
export type ResumeJobMessage = z.infer<typeof resumeJobMessage>;

/** Schema per client message type: the gateway reads `type` first, then validates. */
export const clientMessages = {
  start_job: startJobMessage,
  cancel_job: cancelJobMessage,
  resume_job: resumeJobMessage,
  ping: pingMessage,
} as const;
export type ClientMessageType = keyof typeof clientMessages;
export type ClientMessage = { [K in ClientMessageType]: z.infer<(typeof clientMessages)[K]> }[ClientMessageType];

// ---- server → client ------------------------------------------------------

export const ackMessage = z.object({
  type: z.literal('ack'),
  job_id: z.string(),
  message: z.string(),
  /** Presented in `resume_job` to pick the job up from another connection (for RESUME_TTL_SECONDS after it ends). */
  resume_token: z.string().optional(),
});

/**
 * `retrying`: a step failed for a reason that may pass (storage or an origin
 * unreachable) and is being tried again; `message` says why.
 */
export const PROGRESS_STAGES = ['queued', 'downloading', 'probing', 'processing', 'uploading', 'finalizing', 'retrying'] as const;
export const progressStage = z.enum(PROGRESS_STAGES);
export type ProgressStage = z.infer<typeof progressStage>;

export const progressMessage = z.object({
  type: z.literal('progress'),
  job_id: z.string(),
  percentage: z.number().min(0).max(100),
  stage: progressStage,
  ffmpeg_log: z.string().optional(),
  /** In words, what is happening (why a step is retried, where a queued job stands). */
  message: z.string().optional(),
  /** With stage `queued`: the job's place among its client's waiting jobs (1: it starts next when a worker is free for this client). */
  queue_position: z.number().int().positive().optional(),
});

/** What ffprobe tells about an output, in the spec's shape. */
export const outputMetadata = z.object({
  format: z.string(),
  duration: z.number().nullable(),
  size_bytes: z.number().int().nonnegative(),
  video_codec: z.string().nullable(),
  audio_codec: z.string().nullable(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  bitrate: z.number().int().nullable(),
  fps: z.number().nullable(),
});
export type OutputMetadata = z.infer<typeof outputMetadata>;

export const outputFile = z.object({
  /** A file name, or (a streaming ladder's files) a relative path such as `720p/seg_003.ts`: rebuild the tree from it. */
  filename: outputFileName,
  size_bytes: z.number().int().nonnegative(),
  content_type: z.string(),
  /** With `delivery_method: "url"`: where to download it (expires after RESULT_URL_TTL_SECONDS). */
  url: z.string().optional(),
});
export type OutputFile = z.infer<typeof outputFile>;

export const completedMessage = z.object({
  type: z.literal('completed'),
  job_id: z.string(),
  output_metadata: outputMetadata,
  outputs: z.array(outputFile),
  delivery_method: deliveryMethod,
  message: z.string(),
});

export const errorMessage = z.object({
  type: z.literal('error'),
  job_id: z.string().nullable(),
  code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  details: z.string().optional(),
});

export const pongMessage = z.object({ type: z.literal('pong') });

/**
 * Flow control for chunked uploads: the bytes of `filename` the gateway has
 * taken. A client may send at most UPLOAD_WINDOW_BYTES beyond the last
 * `received_bytes` it was told.
 */
export const uploadAckMessage = z.object({
  type: z.literal('upload_ack'),
  job_id: z.string(),
  filename: z.string(),
  received_bytes: z.number().int().nonnegative(),
});

export const serverMessage = z.discriminatedUnion('type', [
  ackMessage,
  progressMessage,
  completedMessage,
  errorMessage,
  pongMessage,
  uploadAckMessage,
]);
export type ServerMessage = z.infer<typeof serverMessage>;
export type ServerMessageOf<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;

/** WebSocket close codes the gateway sends. */
export const CloseCode = {
  /** The client closed the connection itself (client/). */
  NORMAL: 1000,
  /** The gateway is shutting down (a rolling update): reconnect, and `resume_job` each job with its token. */
  GOING_AWAY: 1001,
  /**
   * The client kept flooding after RATE_LIMITED, its key has MAX_CONNECTIONS_PER_CLIENT connections open already,
   * or it stopped reading mid-output while over 64 MiB of answers to its requests waited behind that output.
   */
  POLICY_VIOLATION: 1008,
  /** A text message over WS_MAX_TEXT_SIZE (a larger frame of any kind, over WS_MAX_SIZE, is closed by uWebSockets.js itself). */
  MESSAGE_TOO_BIG: 1009,
  /** A job's output could not be sent whole (the socket failed mid-transfer): the gateway ends the connection. */
  INTERNAL_ERROR: 1011,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** The close reason with GOING_AWAY: what a client should do. */
export const GOING_AWAY_REASON = 'server shutting down; reconnect and resume_job your jobs';

// ---- binary frames --------------------------------------------------------

const frameHeaderFields = {
  job_id: jobId,
  /** Chunked transfers: where this chunk starts in the file. Without it, the frame is the whole file. */
  offset: z.number().int().nonnegative().optional(),
  /** Chunked transfers: true on the file's last chunk. */
  final: z.boolean().optional(),
  /** Chunked downloads: the file's size. */
  total_size: z.number().int().nonnegative().optional(),
};
const chunkFieldsTogether = (h: { offset?: number; final?: boolean }) => (h.offset === undefined) === (h.final === undefined);
const chunkFieldsMessage = { message: 'a chunk carries both `offset` and `final` (a whole file neither)', path: ['final'] };

/** Header of a binary frame, both directions: `[u32 BE header length][header JSON][bytes]`. */
export const binaryHeader = z.object({ ...frameHeaderFields, filename: fileName }).refine(chunkFieldsTogether, chunkFieldsMessage);
/** Header of an output frame (server to client): its name may be an output path (an `hls` ladder's `720p/seg_003.ts`). */
export const outputFrameHeader = z
  .object({ ...frameHeaderFields, filename: outputFileName })
  .refine(chunkFieldsTogether, chunkFieldsMessage);
export type BinaryHeader = z.infer<typeof binaryHeader>;

/** Outputs up to this size go as one binary frame; larger ones in chunks (`offset`, `total_size`, `final`). */
export const SINGLE_FRAME_MAX_BYTES = 16 * MiB;

/** Default largest text (JSON) message the gateway parses (WS_MAX_TEXT_SIZE); control messages are small. */
export const MAX_TEXT_MESSAGE_BYTES = 64 * 1024;

/** Headers larger than this are refused before parsing. */
export const MAX_BINARY_HEADER_BYTES = 16 * 1024;
