/**
 * One job, from `start_job` to its one result: the upload within the
 * server's window, progress, the download reassembled (in memory or
 * streamed to a sink), and what to do after a dropped connection (resume
 * with the token, or start again when the upload was cut).
 */
import {
  type BinaryHeader,
  encodeBinaryFrame,
  forwardPercentage,
  MiB,
  type OperationName,
  type OutputFile,
  type OutputMetadata,
  type ProgressStage,
  type ServerMessage,
  type ServerMessageOf,
  type StartJobMessage,
  type WireJobInput,
} from '@media-foundry/shared';
import { Emitter } from './emitter.js';
import { ClientErrorCode, MediaFoundryError } from './errors.js';
import { type UploadSource } from './inputs.js';

/** One output file of a finished job: its bytes (`data`), where it was saved (`path`), or its link (`url`). */
export interface JobOutput {
  filename: string;
  contentType: string;
  size: number;
  /** With binary delivery and no `saveTo`: the file's bytes. */
  data?: Uint8Array;
  /** With `saveTo`: where the file was written. */
  path?: string;
  /** With `delivery: 'url'`: the download link (it expires, see RESULT_URL_TTL_SECONDS). */
  url?: string;
}

export interface ProgressEvent {
  type: 'progress';
  percentage: number;
  stage: ProgressStage;
  message?: string;
  queuePosition?: number;
  ffmpegLog?: string;
}

/** Everything that happens to a job, in order; `for await (const event of job)` yields these. */
export type JobEvent =
  | { type: 'accepted'; jobId: string }
  | { type: 'upload'; filename: string; ackedBytes: number; totalBytes: number | undefined }
  | ProgressEvent
  | { type: 'completed'; metadata: OutputMetadata; outputs: OutputFile[] }
  | { type: 'download'; filename: string; receivedBytes: number; totalBytes: number }
  | { type: 'output'; output: JobOutput }
  | { type: 'reconnecting'; attempt: number; delayMs: number }
  | { type: 'resumed' }
  | { type: 'done'; outputs: JobOutput[] }
  | { type: 'failed'; error: MediaFoundryError };

export type JobEvents = { [E in JobEvent as E['type']]: E };

/** Where an output is written as it arrives (Node: a file). */
export interface FileSink {
  readonly path: string;
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  /** Removes the partial file. */
  abort(): Promise<void>;
}

/** Saving files: Node only. */
export interface FileSaver {
  openSink(dir: string, filename: string): Promise<FileSink>;
  writeFile(dir: string, filename: string, data: Uint8Array): Promise<string>;
  download(url: string, dir: string, filename: string): Promise<string>;
  copyFile(path: string, dir: string, filename: string): Promise<string>;
}

/** What a job needs from the client that holds it. */
export interface JobHost {
  /** False when the socket is down (the message is not sent; the job is resumed after the reconnect). */
  send(message: object): boolean;
  sendBinary(frame: Uint8Array): boolean;
  readonly chunkBytes: number;
  readonly windowBytes: number;
  readonly saver: FileSaver | undefined;
  /** Back-pressure from disk writes onto the socket. */
  pauseReading(): void;
  resumeReading(): void;
  ended(job: Job): void;
}

/** OUTPUT_ERROR: an output that came could not be written (a full disk, a folder that cannot be made; `why` says more). */
function outputError(jobId: string, err: unknown, why?: string): MediaFoundryError {
  return new MediaFoundryError(ClientErrorCode.OUTPUT_ERROR, 'An output could not be written', {
    jobId,
    details: why ? `${(err as Error).message}: ${why}` : (err as Error).message,
    cause: err,
  });
}

/**
 * Fields of start_job beyond the ones the client sets itself, typed from the
 * shared schema: a field added there (a webhook, say) can be sent without
 * an edit here.
 */
export type StartJobExtras = Partial<Omit<StartJobMessage, 'type' | 'job_id' | 'operation' | 'options' | 'input' | 'delivery_method'>>;

export interface JobOptions {
  /** The job's id (default: a random one). */
  jobId?: string;
  /** `binary` (default): files come over the socket. `url`: `result()` gives download links. */
  delivery?: 'binary' | 'url';
  /** Aborting cancels the job on the server. */
  signal?: AbortSignal;
  /** Node: stream outputs to this directory as they arrive (same as calling `saveTo` at once). */
  saveTo?: string;
  /** More start_job fields, checked against the shared schema like the rest. */
  extra?: StartJobExtras;
}

/**
 * `pending`: start_job not sent or not acked. `uploading`: sending files.
 * `uploaded`: all bytes sent, not yet heard it was queued. `submitted`:
 * queued or running. `delivering`: `completed` came, files are arriving.
 */
type Phase = 'pending' | 'uploading' | 'uploaded' | 'submitted' | 'delivering' | 'ended';

/** Above this many bytes waiting for the disk, the socket stops being read. */
const PAUSE_ABOVE_BYTES = 16 * MiB;
const RESUME_BELOW_BYTES = 4 * MiB;

interface Incoming {
  output: OutputFile;
  received: number;
  done: boolean;
  /** In memory: the bytes (sized once the size is known). */
  buffer: Uint8Array | null;
  sink: Promise<FileSink> | null;
}

export class Job<Op extends OperationName = OperationName> extends Emitter<JobEvents> {
  readonly id: string;
  readonly operation: Op;
  /** Everything that happened so far, replayed to each async iterator. */
  private readonly history: JobEvent[] = [];
  private readonly wakers = new Set<() => void>();
  private phase: Phase = 'pending';
  /** Removes the listener on the caller's AbortSignal (when the job ends). */
  private forgetSignal: () => void = () => {};
  private resumeToken: string | null = null;
  private sources: UploadSource[] | null = null;
  private ready = false;
  private connected = true;
  /** Bumped on every (re)start and disconnect: an upload loop of an older one stops. */
  private generation = 0;
  private acked = new Map<string, number>();
  private ackWaiters: (() => void)[] = [];
  private cancelRequested = false;
  private lastPercentage = 0;
  private metadataValue: OutputMetadata | null = null;
  private completedMessage: ServerMessageOf<'completed'> | null = null;
  private incoming = new Map<string, Incoming>();
  private writing: Promise<void> = Promise.resolve();
  private pendingWriteBytes = 0;
  private saveDir: string | null = null;
  private readonly done: Promise<JobOutput[]>;
  private resolveDone!: (outputs: JobOutput[]) => void;
  private rejectDone!: (err: MediaFoundryError) => void;

  /** @internal made by MediaFoundryClient.run */
  constructor(
    private readonly host: JobHost,
    operation: Op,
    /** start_job without job_id and input; the input is added once the sources are open. */
    private readonly request: Omit<StartJobMessage, 'job_id' | 'input' | 'type'> & { input: WireJobInput },
    id: string,
    options: JobOptions,
  ) {
    super();
    this.id = id;
    this.operation = operation;
    this.done = new Promise<JobOutput[]>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // a caller that awaits nothing (fire and forget, or only listens to events) must not crash the process
    this.done.catch(() => undefined);
    if (options.saveTo !== undefined) this.saveDir = options.saveTo;
    const signal = options.signal;
    if (signal) {
      if (signal.aborted) queueMicrotask(() => this.cancel());
      else {
        // removed when the job ends: a long-lived signal shared by many jobs must not keep each one (and its bytes)
        const onAbort = () => this.cancel();
        signal.addEventListener('abort', onAbort, { once: true });
        this.forgetSignal = () => signal.removeEventListener('abort', onAbort);
      }
    }
  }

  // ---- the caller's side ---------------------------------------------------

  /** The outputs once every file has arrived (or the links, with `delivery: 'url'`); rejects with a MediaFoundryError. */
  result(): Promise<JobOutput[]> {
    return this.done;
  }

  /** `output_metadata` of the first output (for `probe`: the input's). */
  async metadata(): Promise<OutputMetadata> {
    await this.done;
    return this.metadataValue!;
  }

  /**
   * Node: writes the outputs into `dir` and resolves with their paths. Called
   * before the files arrive, they are streamed to disk as they come (bounded
   * memory); later, the bytes held in memory (or the links) are written.
   */
  async saveTo(dir: string): Promise<string[]> {
    const saver = this.host.saver;
    if (!saver) throw new MediaFoundryError(ClientErrorCode.OUTPUT_ERROR, 'Saving files is not available on this platform');
    // no byte has arrived yet: every file can still go straight to disk
    if (this.saveDir === null && [...this.incoming.values()].every((f) => f.received === 0)) this.saveDir = dir;
    const outputs = await this.done;
    const paths: string[] = [];
    for (const output of outputs) {
      const name = output.filename; // may be a relative path (an hls ladder); the saver checks it
      if (output.path !== undefined && this.saveDir === dir) paths.push(output.path);
      else if (output.data) paths.push(await saver.writeFile(dir, name, output.data));
      else if (output.url) paths.push(await saver.download(output.url, dir, name));
      else if (output.path !== undefined) paths.push(await saver.copyFile(output.path, dir, name));
    }
    return paths;
  }

  /** Asks the server to stop the job; `result()` then rejects with JOB_CANCELLED. A finished job is left as it is. */
  cancel(): void {
    if (this.phase === 'ended' || this.cancelRequested) return;
    this.cancelRequested = true;
    if (this.phase === 'uploading') this.stopUpload();
    // before the ack the server does not know the job yet: the cancel goes out with the ack
    if (this.phase !== 'pending' || this.resumeToken !== null) this.host.send({ type: 'cancel_job', job_id: this.id });
    else if (!this.ready)
      this.fail(new MediaFoundryError('JOB_CANCELLED', 'Job cancelled', { jobId: this.id, details: 'cancelled before it was sent' }));
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<JobEvent> {
    let index = 0;
    for (;;) {
      while (index < this.history.length) {
        const event = this.history[index++]!;
        if (event.type === 'failed') throw event.error;
        yield event;
        if (event.type === 'done') return;
      }
      await new Promise<void>((resolve) => this.wakers.add(resolve));
    }
  }

  // ---- the client's side ---------------------------------------------------

  /** @internal the sources are open: send start_job (now, or after the reconnect). */
  begin(sources: UploadSource[] | null): void {
    if (this.phase === 'ended') return;
    this.sources = sources;
    this.ready = true;
    if (this.connected) this.sendStart();
  }

  /** @internal */
  onMessage(message: ServerMessage): void {
    if (this.phase === 'ended') return;
    switch (message.type) {
      case 'ack':
        return this.onAck(message);
      case 'upload_ack':
        this.acked.set(message.filename, Math.max(this.acked.get(message.filename) ?? 0, message.received_bytes));
        for (const wake of this.ackWaiters.splice(0)) wake();
        this.record({
          type: 'upload',
          filename: message.filename,
          ackedBytes: message.received_bytes,
          totalBytes: this.sources?.find((s) => s.filename === message.filename)?.size,
        });
        return;
      case 'progress':
        return this.onProgress(message);
      case 'completed':
        return this.onCompleted(message);
      case 'error':
        return this.onError(message);
      default:
        return;
    }
  }

  /** @internal */
  onBinary(header: BinaryHeader, payload: Uint8Array): void {
    if (this.phase !== 'delivering') return;
    const file = this.incoming.get(header.filename);
    if (!file) return;
    const offset = header.offset ?? 0;
    // a resumed delivery starts each file again at 0
    if (offset === 0) this.resetFile(file);
    if (offset !== file.received || file.done) return;
    const total = header.total_size ?? (header.offset === undefined ? payload.length : file.output.size_bytes);
    file.received += payload.length;
    const last = header.offset === undefined || header.final === true;
    if (file.sink) {
      const sink = file.sink;
      // the payload is a view of the socket's buffer: it stays valid, it is never reused
      this.pendingWriteBytes += payload.length;
      if (this.pendingWriteBytes > PAUSE_ABOVE_BYTES) this.host.pauseReading();
      this.writing = this.writing.then(async () => {
        try {
          await (await sink).write(payload);
        } catch (err) {
          // a full disk, a folder that cannot be made: the job fails now, not at its last byte (and never unhandled)
          this.fail(outputError(this.id, err));
          return;
        }
        this.pendingWriteBytes -= payload.length;
        if (this.pendingWriteBytes < RESUME_BELOW_BYTES) this.host.resumeReading();
      });
    } else {
      try {
        if (!file.buffer || file.buffer.length < file.received) {
          const grown = new Uint8Array(Math.max(total, file.received));
          if (file.buffer) grown.set(file.buffer.subarray(0, file.received - payload.length));
          file.buffer = grown;
        }
        file.buffer.set(payload, file.received - payload.length);
      } catch (err) {
        // a file too large to hold in memory (4 GiB and more, or more than there is): this job fails, not the process
        this.fail(outputError(this.id, err, 'too large to keep in memory; give saveTo a folder to write it to'));
        return;
      }
    }
    this.record({ type: 'download', filename: header.filename, receivedBytes: file.received, totalBytes: total });
    if (last) {
      file.done = true;
      if ([...this.incoming.values()].every((f) => f.done)) void this.finishDelivery();
    }
  }

  /** @internal the socket closed: whatever was being sent stops. */
  onDisconnected(): void {
    this.connected = false;
    this.stopUpload();
  }

  /** @internal */
  onReconnecting(attempt: number, delayMs: number): void {
    if (this.phase !== 'ended') this.record({ type: 'reconnecting', attempt, delayMs });
  }

  /** @internal a new socket is open: resume the job, or start it again when the server cannot have it. */
  onReconnected(): void {
    this.connected = true;
    if (this.phase === 'ended' || !this.ready) return;
    // the server dropped the cut upload, or never had the job: there is nothing left to cancel
    if (this.cancelRequested && (this.phase === 'pending' || this.phase === 'uploading')) {
      this.fail(
        new MediaFoundryError('JOB_CANCELLED', 'Job cancelled', { jobId: this.id, details: 'cancelled while the connection was down' }),
      );
      return;
    }
    // every byte of the result came before the drop; only the disk is catching up: nothing to resume (the
    // server removed the files once they had left it, and would answer RESUME_FAILED)
    if (this.phase === 'delivering' && this.incoming.size > 0 && [...this.incoming.values()].every((f) => f.done)) return;
    switch (this.phase) {
      case 'pending':
        if (this.resumeToken === null || this.sources === null) return this.restart();
        return this.resume();
      case 'uploading':
        return this.restart(); // the server drops an upload cut by a disconnect
      default:
        return this.resume();
    }
  }

  /** @internal */
  fail(error: MediaFoundryError): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.forgetSignal();
    this.stopUpload();
    const sinks = [...this.incoming.values()].flatMap((f) => (f.sink ? [f.sink] : []));
    this.writing = this.writing
      .catch(() => undefined)
      .then(async () => {
        // a sink that never opened (its folder could not be made) has nothing to abort
        for (const sink of sinks) await sink.then((opened) => opened.abort()).catch(() => undefined);
      });
    this.host.resumeReading();
    this.rejectDone(error);
    this.record({ type: 'failed', error });
    this.host.ended(this);
  }

  // ---- internals -----------------------------------------------------------

  /** Makes a running upload loop stale; one waiting for window room wakes to see it, and stops. */
  private stopUpload(): void {
    this.generation++;
    for (const wake of this.ackWaiters.splice(0)) wake();
  }

  private record(event: JobEvent): void {
    this.history.push(event);
    for (const wake of [...this.wakers]) wake();
    this.wakers.clear();
    this.emit(event.type, event as never);
  }

  private sendStart(): void {
    this.phase = 'pending';
    this.acked = new Map();
    this.host.send({ type: 'start_job', job_id: this.id, ...this.request });
  }

  private restart(): void {
    if (this.sources?.some((s) => !s.restartable)) {
      this.fail(
        new MediaFoundryError(ClientErrorCode.CONNECTION_LOST, 'The connection dropped during the upload', {
          jobId: this.id,
          details:
            'a stream input can be read only once, so the upload cannot be started again; give a path or a Blob to survive reconnects',
        }),
      );
      return;
    }
    this.resumeToken = null;
    this.sendStart();
  }

  private resume(): void {
    this.host.send({ type: 'resume_job', job_id: this.id, resume_token: this.resumeToken });
    if (this.cancelRequested) this.host.send({ type: 'cancel_job', job_id: this.id });
    this.record({ type: 'resumed' });
  }

  private onAck(message: ServerMessageOf<'ack'>): void {
    if (message.resume_token) this.resumeToken = message.resume_token;
    if (this.phase !== 'pending') return; // the second ack of an upload job ("queued")
    this.record({ type: 'accepted', jobId: this.id });
    if (this.cancelRequested) {
      this.host.send({ type: 'cancel_job', job_id: this.id });
      this.phase = this.sources ? 'uploaded' : 'submitted';
      return;
    }
    if (this.sources) {
      this.phase = 'uploading';
      void this.upload(this.generation);
    } else this.phase = 'submitted';
  }

  /** Sends every file in chunks, never more than the window beyond the last `upload_ack`. */
  private async upload(generation: number): Promise<void> {
    const stale = () => generation !== this.generation || this.phase !== 'uploading';
    try {
      for (const source of this.sources ?? []) {
        let offset = 0;
        let held: Uint8Array | null = null;
        // one chunk is held back so that the last one can say `final` (a stream's length is not known ahead)
        const sendChunk = async (chunk: Uint8Array, final: boolean) => {
          while (offset + chunk.length - (this.acked.get(source.filename) ?? 0) > this.host.windowBytes) {
            await new Promise<void>((resolve) => this.ackWaiters.push(resolve));
            if (stale()) return false;
          }
          if (stale()) return false;
          this.host.sendBinary(encodeBinaryFrame({ job_id: this.id, filename: source.filename, offset, final }, chunk));
          offset += chunk.length;
          return true;
        };
        for await (const chunk of source.chunks(this.host.chunkBytes)) {
          if (stale()) return;
          if (chunk.length === 0) continue;
          if (held && !(await sendChunk(held, false))) return;
          held = chunk;
        }
        if (stale()) return;
        if (held) {
          if (!(await sendChunk(held, true))) return;
        } else this.host.sendBinary(encodeBinaryFrame({ job_id: this.id, filename: source.filename }, new Uint8Array(0)));
      }
      if (!stale()) this.phase = 'uploaded';
    } catch (err) {
      if (stale()) return;
      this.host.send({ type: 'cancel_job', job_id: this.id });
      this.fail(
        err instanceof MediaFoundryError
          ? err
          : new MediaFoundryError(ClientErrorCode.INPUT_ERROR, 'An input could not be read', {
              jobId: this.id,
              details: (err as Error).message,
              cause: err,
            }),
      );
    }
  }

  private onProgress(message: ServerMessageOf<'progress'>): void {
    if (this.phase === 'uploading' || this.phase === 'uploaded' || this.phase === 'pending') this.phase = 'submitted';
    // a resumed job repeats its state: progress only ever goes forward for the caller
    const percentage = forwardPercentage(this.lastPercentage, message.percentage);
    this.lastPercentage = percentage;
    const event: ProgressEvent = { type: 'progress', percentage, stage: message.stage };
    if (message.message !== undefined) event.message = message.message;
    if (message.queue_position !== undefined) event.queuePosition = message.queue_position;
    if (message.ffmpeg_log !== undefined) event.ffmpegLog = message.ffmpeg_log;
    this.record(event);
  }

  private onCompleted(message: ServerMessageOf<'completed'>): void {
    const again = this.phase === 'delivering';
    this.completedMessage = message;
    this.metadataValue = message.output_metadata;
    this.lastPercentage = 100;
    if (!again) this.record({ type: 'completed', metadata: message.output_metadata, outputs: message.outputs });
    if (message.delivery_method === 'url' || message.outputs.length === 0) {
      const outputs = message.outputs.map((o) => ({
        filename: o.filename,
        contentType: o.content_type,
        size: o.size_bytes,
        ...(o.url !== undefined ? { url: o.url } : {}),
      }));
      this.finish(outputs);
      return;
    }
    this.phase = 'delivering';
    const previous = this.incoming;
    this.incoming = new Map(
      message.outputs.map((output) => [
        output.filename,
        { output, received: 0, done: false, buffer: null, sink: previous.get(output.filename)?.sink ?? null },
      ]),
    );
  }

  /** Starts a file over: a fresh sink (truncated) or buffer. */
  private resetFile(file: Incoming): void {
    file.received = 0;
    file.done = false;
    file.buffer = null;
    const saver = this.host.saver;
    if (this.saveDir !== null && saver) {
      const old = file.sink;
      const dir = this.saveDir;
      const name = file.output.filename;
      const opened = this.writing.then(async () => {
        if (old) await old.then((previous) => previous.close()).catch(() => undefined);
        return saver.openSink(dir, name);
      });
      opened.catch(() => undefined);
      file.sink = opened;
    }
  }

  private async finishDelivery(): Promise<void> {
    const message = this.completedMessage!;
    const files = [...this.incoming.values()];
    try {
      await this.writing;
      const outputs: JobOutput[] = [];
      for (const file of files) {
        const base = { filename: file.output.filename, contentType: file.output.content_type, size: file.received };
        if (file.sink) {
          const sink = await file.sink;
          await sink.close();
          outputs.push({ ...base, path: sink.path });
        } else outputs.push({ ...base, data: file.buffer ? file.buffer.subarray(0, file.received) : new Uint8Array(0) });
      }
      // another `completed` (a resume) may have started the files over meanwhile
      if (this.completedMessage !== message || this.phase !== 'delivering') return;
      for (const output of outputs) this.record({ type: 'output', output });
      this.finish(outputs);
    } catch (err) {
      this.fail(outputError(this.id, err));
    }
  }

  private finish(outputs: JobOutput[]): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.forgetSignal();
    this.resolveDone(outputs);
    this.record({ type: 'done', outputs });
    this.host.ended(this);
  }

  private onError(message: ServerMessageOf<'error'>): void {
    const error = new MediaFoundryError(message.code, message.message, {
      jobId: this.id,
      ...(message.details !== undefined ? { details: message.details } : {}),
    });
    // too late to cancel: the result is on its way and still counts
    if (message.code === 'CANCEL_FAILED') return;
    if (message.code === 'RESUME_FAILED' && this.phase === 'uploaded' && !this.cancelRequested) {
      // the upload ended just as the connection dropped, before the job was published: send it again
      this.restart();
      return;
    }
    // a frame of an upload the server dropped already (it was cancelled, or failed): the failure itself follows
    if (message.code === 'BINARY_ERROR' && this.cancelRequested) return;
    this.fail(error);
  }
}
