/**
 * The connection to a gateway and the jobs on it. Browser-safe: the
 * platform (Node or browser) brings the socket, the file readers and the
 * file writers (see node.ts and browser.ts).
 */
import {
  CloseCode,
  outputFrameHeader,
  formatIssues,
  MiB,
  OPERATION_NAMES,
  type OperationName,
  operationOptions,
  parseJson,
  serverMessage,
  splitBinaryFrame,
  startJobMessage,
  type WireJobInput,
} from '@media-foundry/shared';
import type { z } from 'zod';
import { Emitter } from './emitter.js';
import { ClientErrorCode, MediaFoundryError } from './errors.js';
import { distinctNames, type FileInput, type JobInputSpec, type SourceOpener, type UploadSource } from './inputs.js';
import { type FileSaver, Job, type JobHost, type JobOptions, type StartJobExtras } from './job.js';
import { type SocketLike, type SocketOpener, type WebSocketConstructor, whatwgOpener } from './socket.js';

/** What a platform brings: its socket, the inputs it can read, and (Node) saving files. */
export interface Platform {
  openSocket: SocketOpener;
  openSource: SourceOpener;
  saver?: FileSaver;
}

/**
 * What each entry point (node.ts, browser.ts) exports as `MediaFoundry`: the
 * client class of its platform, whose clients `connect` makes (a class, so
 * `instanceof MediaFoundry` holds for them and it can be extended).
 */
export type MediaFoundryConnector = typeof MediaFoundryClient & {
  /** Connects to a gateway (`ws://` or `wss://`); rejects with CONNECTION_FAILED. */
  connect(url: string, options?: ConnectOptions): Promise<MediaFoundryClient>;
};

/** A connection that lasts this long gives the reconnect budget back. */
const STABLE_CONNECTION_MS = 10_000;

export interface ReconnectOptions {
  /**
   * Attempts before the jobs fail with CONNECTION_LOST (default 10). A connection the server closes again within
   * 10 s (1008: too many connections, say) counts as an attempt too; one that lasts gives the budget back.
   */
  retries?: number;
  /** First delay (default 250 ms); doubles each attempt, with jitter. */
  minDelayMs?: number;
  /** Longest delay (default 5000 ms). */
  maxDelayMs?: number;
}

export interface ConnectOptions {
  /** Sent as `Authorization: Bearer` (Node) or `?token=` (browsers). */
  apiKey?: string;
  /** A WHATWG WebSocket constructor to use instead of the platform's (`ws` in Node, the native one in browsers). */
  WebSocket?: WebSocketConstructor;
  /** `false`: a dropped connection fails every job at once. */
  reconnect?: ReconnectOptions | false;
  /** Bytes per upload frame (default 1 MiB). */
  uploadChunkBytes?: number;
  /** How far ahead of the server's last `upload_ack` the client may send (the server's UPLOAD_WINDOW_BYTES; default 8 MiB). */
  uploadWindowBytes?: number;
}

/** The options of `operation` as a caller writes them (defaults may be left out). */
export type OperationOptionsInput<K extends OperationName> = z.input<(typeof operationOptions)[K]>;

/** One typed method per operation: `mf.thumbnail(input, options, jobOptions)`. */
export type OperationMethods = {
  [K in OperationName]: (input: JobInputSpec, options?: OperationOptionsInput<K>, jobOptions?: JobOptions) => Job<K>;
};

export interface ClientEvents extends Record<string, unknown> {
  disconnected: { code: number; reason: string };
  reconnecting: { attempt: number; delayMs: number };
  reconnected: undefined;
  /** The reconnect budget is spent: every unfinished job failed with CONNECTION_LOST. */
  closed: { error: MediaFoundryError | null };
  /** A server error that names no job (e.g. RATE_LIMITED for a flood). */
  error: MediaFoundryError;
}

interface Normalized {
  apiKey: string | undefined;
  openSocket: SocketOpener;
  reconnect: Required<ReconnectOptions> | null;
  chunkBytes: number;
  windowBytes: number;
}

/** The `input` of start_job for open files: their names, and their total size when every size is known (the server refuses an oversized upload at once). */
function uploadInput(sources: UploadSource[]): WireJobInput {
  const sizes = sources.map((s) => s.size ?? 0);
  const total = sources.every((s) => s.size !== undefined) ? sizes.reduce((a, b) => a + b, 0) : 0;
  const size = total > 0 ? { size_bytes: total } : {};
  return sources.length === 1
    ? { source: 'upload', filename: sources[0]!.filename, ...size }
    : { source: 'upload', filenames: sources.map((s) => s.filename), ...size };
}

/** The `input` of start_job for this many files or these URLs (file names are only known once the files are open). */
function placeholderInput(input: { files: number } | { urls: string[] }): WireJobInput {
  if ('files' in input)
    return input.files === 1
      ? { source: 'upload' }
      : { source: 'upload', filenames: Array.from({ length: input.files }, (_, i) => `input-${i + 1}`) };
  return input.urls.length === 1 ? { source: 'url', url: input.urls[0] } : { source: 'url', urls: input.urls };
}

/**
 * What the server would refuse in this request, in its words
 * (`options.speed_factor: Too big: …`), or null: checked with the same
 * start_job schema, before anything is sent.
 */
export function requestProblem(
  operation: string,
  input: { files: number } | { urls: string[] },
  options: unknown,
  delivery: 'binary' | 'url' = 'binary',
  extra: StartJobExtras = {},
): string | null {
  const checked = startJobMessage.safeParse({
    ...extra,
    type: 'start_job',
    operation,
    input: placeholderInput(input),
    options,
    delivery_method: delivery,
  });
  return checked.success ? null : formatIssues(checked.error);
}

function randomId(): string {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// The per-operation methods are added in the constructor from the operation list, so an operation added to
// shared/ appears here without an edit; the interface gives them their types.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface MediaFoundryClient extends OperationMethods {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class MediaFoundryClient extends Emitter<ClientEvents> {
  private socket: SocketLike | null = null;
  private readonly jobs = new Map<string, Job>();
  private closing = false;
  /**
   * Reconnect attempts spent since the last connection that stayed up STABLE_CONNECTION_MS: a server that accepts
   * the connection and closes it at once (1008, too many connections) uses up the budget instead of resetting it.
   */
  private spentAttempts = 0;
  private connectedAt = Date.now();
  /** Why the last connection closed (for CONNECTION_LOST's details). */
  private lastClose: { code: number; reason: string } | null = null;
  private closedError: MediaFoundryError | null = null;
  private paused = false;
  private readonly options: Normalized;
  private readonly host: JobHost;

  protected constructor(
    readonly url: string,
    private readonly platform: Platform,
    options: ConnectOptions,
  ) {
    super();
    this.options = {
      apiKey: options.apiKey,
      openSocket: options.WebSocket ? whatwgOpener(options.WebSocket) : platform.openSocket,
      reconnect: options.reconnect === false ? null : { retries: 10, minDelayMs: 250, maxDelayMs: 5000, ...(options.reconnect ?? {}) },
      chunkBytes: options.uploadChunkBytes ?? MiB,
      windowBytes: options.uploadWindowBytes ?? 8 * MiB,
    };
    this.host = {
      send: (message) => this.sendText(JSON.stringify(message)),
      sendBinary: (frame) => this.sendFrame(frame),
      chunkBytes: this.options.chunkBytes,
      windowBytes: this.options.windowBytes,
      saver: platform.saver,
      pauseReading: () => {
        if (!this.paused) this.socket?.pause();
        this.paused = true;
      },
      resumeReading: () => {
        if (this.paused) this.socket?.resume();
        this.paused = false;
      },
      ended: (job) => {
        if (this.jobs.get(job.id) === job) this.jobs.delete(job.id);
      },
    };
    for (const name of OPERATION_NAMES)
      (this as unknown as Record<string, unknown>)[name] = (input: JobInputSpec, opts?: unknown, jobOptions?: JobOptions) =>
        this.run(name, input, opts as never, jobOptions);
  }

  /** @internal The `MediaFoundry` of a platform (node.ts, browser.ts). */
  static on(platform: Platform): MediaFoundryConnector {
    return class MediaFoundry extends MediaFoundryClient {
      static async connect(url: string, options: ConnectOptions = {}): Promise<MediaFoundryClient> {
        const client = new MediaFoundry(url, platform, options);
        client.socket = await client.openSocket();
        return client;
      }
    };
  }

  /** Jobs not finished yet. */
  get activeJobs(): number {
    return this.jobs.size;
  }

  /**
   * Starts `operation` on `input`. Options are checked here against the
   * same schema the server uses: a bad one throws VALIDATION_ERROR with the
   * server's wording, before anything is sent.
   */
  run<K extends OperationName>(operation: K, input: JobInputSpec, options?: OperationOptionsInput<K>, jobOptions: JobOptions = {}): Job<K> {
    if (this.closing || this.closedError)
      throw new MediaFoundryError(ClientErrorCode.CLIENT_CLOSED, 'The client is closed', {
        details: this.closedError?.message ?? 'close() was called',
      });
    const id = jobOptions.jobId ?? randomId();
    const files = 'file' in input ? [input.file] : 'files' in input ? input.files : null;
    const urls = 'url' in input ? [String(input.url)] : 'urls' in input ? input.urls.map(String) : null;
    const wireInput = placeholderInput(files ? { files: files.length } : { urls: urls! });
    const problem = requestProblem(
      operation,
      files ? { files: files.length } : { urls: urls! },
      options ?? {},
      jobOptions.delivery ?? 'binary',
      jobOptions.extra,
    );
    if (problem) throw new MediaFoundryError('VALIDATION_ERROR', 'Message validation failed', { jobId: id, details: problem });
    if (this.jobs.has(id))
      throw new MediaFoundryError('VALIDATION_ERROR', 'Message validation failed', {
        jobId: id,
        details: 'job_id: a job with this id is running',
      });
    const request = {
      ...jobOptions.extra,
      operation,
      // sent as given, so that the server fills the defaults of its own version
      options: (options ?? {}) as never,
      input: wireInput as never,
      delivery_method: jobOptions.delivery ?? 'binary',
    };
    const job = new Job<K>(this.host, operation, request as never, id, jobOptions);
    this.jobs.set(id, job as unknown as Job);
    if (files) {
      void this.openSources(files).then(
        (sources) => {
          request.input = uploadInput(sources) as never;
          job.begin(sources);
        },
        (err: unknown) =>
          job.fail(
            err instanceof MediaFoundryError
              ? err
              : new MediaFoundryError(ClientErrorCode.INPUT_ERROR, 'An input could not be read', {
                  jobId: id,
                  details: (err as Error).message,
                  cause: err,
                }),
          ),
      );
    } else job.begin(null);
    return job;
  }

  /** Closes the connection; unfinished jobs fail with CLIENT_CLOSED (they go on on the server, resumable with their tokens). */
  async close(): Promise<void> {
    this.closing = true;
    for (const job of [...this.jobs.values()])
      job.fail(new MediaFoundryError(ClientErrorCode.CLIENT_CLOSED, 'The client was closed', { jobId: job.id }));
    this.socket?.close(CloseCode.NORMAL, 'client closed');
    this.socket = null;
  }

  private async openSources(files: FileInput[]): Promise<UploadSource[]> {
    const sources = await Promise.all(files.map((f, i) => this.platform.openSource(f, i)));
    const names = distinctNames(sources.map((s) => s.filename));
    return sources.map((s, i) => ({ ...s, filename: names[i]!, chunks: s.chunks.bind(s) }));
  }

  private openSocket(): Promise<SocketLike> {
    return this.options.openSocket(this.url, this.options.apiKey, {
      message: (data) => this.onData(data),
      close: (code, reason) => this.onClose(code, reason),
    });
  }

  private sendText(text: string): boolean {
    if (!this.socket) return false;
    this.socket.send(text);
    return true;
  }

  private sendFrame(frame: Uint8Array): boolean {
    if (!this.socket) return false;
    this.socket.send(frame);
    return true;
  }

  private onData(data: string | Uint8Array): void {
    if (typeof data !== 'string') {
      let frame: ReturnType<typeof splitBinaryFrame>;
      try {
        frame = splitBinaryFrame(data);
      } catch {
        return; // not a frame of ours: nothing can be done with it
      }
      const header = outputFrameHeader.safeParse(frame.header);
      if (!header.success) return;
      this.jobs.get(header.data.job_id)?.onBinary(header.data, frame.payload);
      return;
    }
    const parsed = parseJson(serverMessage, data);
    if (!parsed.ok) return; // not JSON, or a message type of a newer server: ignored
    const message = parsed.data;
    if (message.type === 'pong') return;
    const jobId = 'job_id' in message ? message.job_id : null;
    const job = jobId === null ? undefined : this.jobs.get(jobId);
    if (job) job.onMessage(message);
    else if (message.type === 'error' && message.job_id === null)
      this.emit(
        'error',
        new MediaFoundryError(message.code, message.message, message.details !== undefined ? { details: message.details } : {}),
      );
  }

  private onClose(code: number, reason: string): void {
    this.socket = null;
    this.paused = false;
    if (this.closing) return;
    this.lastClose = { code, reason };
    if (Date.now() - this.connectedAt >= STABLE_CONNECTION_MS) this.spentAttempts = 0;
    this.emit('disconnected', { code, reason });
    for (const job of this.jobs.values()) job.onDisconnected();
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    const policy = this.options.reconnect;
    let lastError: unknown = null;
    for (let attempt = this.spentAttempts + 1; policy && attempt <= policy.retries; attempt++) {
      const base = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** (attempt - 1));
      // jitter: clients dropped together (a gateway restart) do not come back together
      const delayMs = Math.round(base * (0.5 + Math.random() / 2));
      this.emit('reconnecting', { attempt, delayMs });
      for (const job of this.jobs.values()) job.onReconnecting(attempt, delayMs);
      await sleep(delayMs);
      if (this.closing) return;
      try {
        this.socket = await this.openSocket();
      } catch (err) {
        lastError = err;
        continue;
      }
      this.spentAttempts = attempt;
      this.connectedAt = Date.now();
      if (this.closing) {
        this.socket.close(CloseCode.NORMAL, 'client closed');
        return;
      }
      this.emit('reconnected', undefined);
      for (const job of [...this.jobs.values()]) job.onReconnected();
      return;
    }
    const error = new MediaFoundryError(ClientErrorCode.CONNECTION_LOST, 'The connection to the server was lost', {
      details: policy
        ? `no reconnect succeeded after ${policy.retries} attempts${
            lastError
              ? `: ${(lastError as Error).message}`
              : this.lastClose
                ? ` (the server closed each connection: ${this.lastClose.code} ${this.lastClose.reason})`
                : ''
          }`
        : 'reconnecting is turned off',
    });
    this.closedError = error;
    for (const job of [...this.jobs.values()])
      job.fail(new MediaFoundryError(error.code, error.message, { jobId: job.id, ...(error.details ? { details: error.details } : {}) }));
    this.emit('closed', { error });
  }
}

export type { JobOptions };
export { operationOptions, OPERATION_NAMES };
