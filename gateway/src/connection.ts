import { randomUUID } from 'node:crypto';
import {
  AppError,
  type CompletedReply,
  type Config,
  decodeUploadFrame,
  encodeBinaryFrame,
  errors,
  formatIssues,
  jobReply,
  type JobMessage,
  type JobReply,
  parseClientMessage,
  type ServerMessage,
  type StartJobMessage,
  storageKeys,
} from '@media-foundry/shared';
import { childTrace, type ConsumeMessage, formatTraceparent, type Logger, type Storage, type TraceContext } from '@media-foundry/shared/node';
import type { Authenticator, Principal } from './auth.js';
import type { ClientSocket } from './client-socket.js';
import type { GatewayMetrics } from './metrics.js';
import type { JobPublisher } from './publisher.js';
import type { ReplyQueues } from './reply-queues.js';

/** What every connection shares: built once in main.ts. */
export interface GatewayContext {
  config: Config;
  gatewayId: string;
  logger: Logger;
  storage: Storage;
  publisher: JobPublisher;
  replyQueues: ReplyQueues;
  replyQueueName(connectionId: string): string;
  authenticator: Authenticator;
  metrics: GatewayMetrics;
  /** Jobs in progress per client (principal id), across its connections. */
  jobsPerClient: Map<string, number>;
  stats: { activeJobs: number };
}

type JobState = 'awaiting_upload' | 'submitting' | 'submitted' | 'delivering';

/** The binary frames an upload job waits for. */
interface PendingUploads {
  /** The names `input.filenames` listed (in job order), or null: one frame, any name. */
  expected: string[] | null;
  /** Staged so far: file name → storage key. */
  staged: Map<string, string>;
  /** Names whose frames arrived and are being written to storage. */
  staging: Set<string>;
}

/** A job as one connection sees it: the client's id outside, a unique internal id towards workers and storage. */
interface ClientJob {
  clientId: string;
  internalId: string;
  request: StartJobMessage;
  state: JobState;
  /** Replies that arrived before the client was told the job was accepted; relayed right after. */
  held: JobReply[];
  uploads: PendingUploads | null;
  receivedAt: number;
  /** W3C traceparent this job's AMQP message carries (its trace id is in every log line). */
  traceparent: string;
  log: Logger;
}

/**
 * One WebSocket client: parses its messages, submits its jobs, and relays
 * the workers' replies back to it. Nothing a client sends can throw out of here.
 */
export class ClientConnection {
  private readonly jobs = new Map<string, ClientJob>();
  private readonly byInternalId = new Map<string, ClientJob>();
  private replyQueue: Promise<() => Promise<void>> | null = null;
  private readonly log: Logger;

  constructor(
    private readonly socket: ClientSocket,
    private readonly ctx: GatewayContext,
    private readonly principal: Principal,
    /** The `traceparent` the client sent on the upgrade, if any: its jobs join that trace. */
    private readonly parentTrace: TraceContext | null = null,
  ) {
    this.log = ctx.logger.child({ conn_id: socket.id, client: principal.id });
  }

  /** The message that was just dropped exceeded WS_MAX_MESSAGES_PER_SECOND. */
  sendRateLimited(perSecond: number): void {
    this.sendError(null, errors.rateLimited(`more than ${perSecond} messages a second (WS_MAX_MESSAGES_PER_SECOND); messages are being dropped`));
  }

  /** A text frame (its bytes are only valid during this call). */
  onText(bytes: Uint8Array): void {
    const max = this.ctx.config.WS_MAX_TEXT_SIZE;
    if (bytes.length > max) {
      this.sendError(null, errors.validation(`text messages may be at most ${max} bytes (WS_MAX_TEXT_SIZE); this one has ${bytes.length}`));
      return;
    }
    const parsed = parseClientMessage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    if (!parsed.ok) {
      this.sendError(parsed.jobId, parsed.error);
      return;
    }
    const message = parsed.message;
    switch (message.type) {
      case 'ping':
        this.send({ type: 'pong' });
        return;
      case 'cancel_job':
        this.cancel(message.job_id);
        return;
      case 'start_job':
        void this.startJob(message);
        return;
    }
  }

  /** A binary frame (already copied out of uWS's buffer): an upload. */
  onBinary(frame: Uint8Array): void {
    let decoded;
    try {
      decoded = decodeUploadFrame(frame);
    } catch (err) {
      this.sendError(null, err);
      return;
    }
    const { header, payload } = decoded;
    const job = this.jobs.get(header.job_id);
    const uploads = job?.state === 'awaiting_upload' ? job.uploads : null;
    if (!job || !uploads) {
      this.sendError(
        header.job_id,
        errors.binaryError(`no job with job_id ${JSON.stringify(header.job_id)} is waiting for an upload on this connection`),
      );
      return;
    }
    const name = header.filename;
    const unexpected =
      uploads.expected === null
        ? uploads.staging.size + uploads.staged.size > 0 && 'this job takes one file and it has arrived'
        : !uploads.expected.includes(name)
          ? `expected one of input.filenames: ${uploads.expected.join(', ')}`
          : (uploads.staged.has(name) || uploads.staging.has(name)) && 'this file has arrived already';
    if (unexpected) {
      this.sendError(job.clientId, errors.binaryError(`unexpected upload ${JSON.stringify(name)}: ${unexpected}`));
      return;
    }
    const maxBytes = this.ctx.config.MAX_FILE_SIZE_MB * 1024 * 1024;
    const tooBig = payload.length > maxBytes && `upload is ${payload.length} bytes; MAX_FILE_SIZE_MB allows ${maxBytes}`;
    if (tooBig) {
      this.failJob(job, errors.binaryError(tooBig));
      return;
    }
    if (payload.length === 0) {
      this.failJob(job, errors.jobFailed('Input is empty', `upload ${JSON.stringify(name)} has no bytes`));
      return;
    }
    uploads.staging.add(name);
    this.stage(job, uploads, name, payload).catch((err: unknown) => this.failJob(job, err));
  }

  /** The socket closed: drop pending uploads and the reply queue (jobs in flight finish; their results are swept). */
  onClose(): void {
    for (const job of this.jobs.values()) {
      if (job.state === 'awaiting_upload') this.removeStored(job);
      this.forget(job, 'abandoned');
    }
    const queue = this.replyQueue;
    this.replyQueue = null;
    queue
      ?.then((remove) => remove())
      .catch((err: unknown) => this.log.warn({ err }, 'could not delete reply queue'));
  }

  private async startJob(message: StartJobMessage): Promise<void> {
    const clientId = message.job_id ?? randomUUID();
    const trace = childTrace(this.parentTrace);
    if (this.jobs.has(clientId)) {
      this.sendError(clientId, errors.validation(`job_id: ${clientId} is already in progress on this connection`));
      return;
    }
    const running = this.ctx.jobsPerClient.get(this.principal.id) ?? 0;
    if (running >= this.ctx.config.MAX_JOBS_PER_CLIENT) {
      this.sendError(clientId, errors.rateLimited(`${running} jobs in progress; MAX_JOBS_PER_CLIENT allows ${this.ctx.config.MAX_JOBS_PER_CLIENT} at once`));
      return;
    }
    const job: ClientJob = {
      clientId,
      internalId: randomUUID(),
      request: message,
      state: message.input.source === 'upload' ? 'awaiting_upload' : 'submitting',
      held: [],
      receivedAt: Date.now(),
      traceparent: formatTraceparent(trace),
      uploads:
        message.input.source === 'upload'
          ? { expected: message.input.filenames ?? null, staged: new Map(), staging: new Set() }
          : null,
      log: this.log.child({ job_id: clientId, trace_id: trace.traceId }),
    };
    this.track(job);
    job.log.info({ operation: message.operation, source: message.input.source, internal_id: job.internalId }, 'job received');
    if (message.input.source === 'upload') {
      const what = message.input.filenames ? `${message.input.filenames.length} input files, one binary frame each` : 'the input file as a binary frame';
      this.send({ type: 'ack', job_id: clientId, message: `Job accepted; send ${what}` });
      return;
    }
    const urls = message.input.urls ?? [message.input.url!];
    try {
      await this.submit(
        job,
        urls.map((url) => ({ source: 'url', url })),
      );
    } catch (err) {
      this.failJob(job, err);
      return;
    }
    if (this.jobs.get(clientId) !== job) return; // cancelled meanwhile
    this.send({ type: 'ack', job_id: clientId, message: 'Job accepted and queued' });
    this.releaseHeld(job);
  }

  /** Stages one uploaded file; once every expected file is staged, submits the job. */
  private async stage(job: ClientJob, uploads: PendingUploads, filename: string, payload: Uint8Array): Promise<void> {
    const key = storageKeys.input(job.internalId, filename);
    try {
      await this.ctx.storage.put(key, payload);
    } catch (err) {
      throw errors.submitFailed(`could not stage the upload: ${(err as Error).message}`, err);
    }
    job.log.info({ bytes: payload.length, key }, 'upload staged');
    this.ctx.metrics.bytesIn.inc(payload.length);
    if (this.jobs.get(job.clientId) !== job) {
      // the client went away or cancelled while we staged
      this.removeStored(job);
      return;
    }
    uploads.staging.delete(filename);
    uploads.staged.set(filename, key);
    const names = uploads.expected ?? [filename];
    if (uploads.staging.size > 0 || names.some((n) => !uploads.staged.has(n))) return;
    job.state = 'submitting';
    await this.submit(
      job,
      names.map((name) => ({ source: 'storage', key: uploads.staged.get(name)!, filename: name })),
    );
    if (this.jobs.get(job.clientId) !== job) return; // cancelled meanwhile
    this.send({ type: 'progress', job_id: job.clientId, percentage: 0, stage: 'queued' });
    this.releaseHeld(job);
  }

  /** Publishes the job (creating this connection's reply queue on its first job). */
  private async submit(job: ClientJob, inputs: JobMessage['inputs']): Promise<void> {
    const replyQueue = this.ctx.replyQueueName(this.socket.id);
    try {
      this.replyQueue ??= this.ctx.replyQueues.open(replyQueue, (msg) => this.onReply(msg));
      await this.replyQueue;
    } catch (err) {
      this.replyQueue = null;
      throw errors.submitFailed(`could not create the reply queue: ${(err as Error).message}`, err);
    }
    const { request } = job;
    const message = {
      job_id: job.internalId,
      operation: request.operation,
      options: request.options,
      inputs,
      delivery_method: request.delivery_method,
      submitted_at: new Date().toISOString(),
    } as JobMessage;
    try {
      await this.ctx.publisher.publish(message, replyQueue, job.traceparent);
    } catch (err) {
      throw errors.submitFailed(`RabbitMQ did not accept the job: ${(err as Error).message}`, err);
    }
    this.ctx.metrics.jobsSubmitted.inc({ operation: request.operation });
    job.log.info('job published');
  }

  /** The client knows the job now: relay what the worker already said. */
  private releaseHeld(job: ClientJob): void {
    if (job.state !== 'submitting') return;
    job.state = 'submitted';
    for (const reply of job.held.splice(0)) this.relay(job, reply);
  }

  private onReply(msg: ConsumeMessage): void {
    let reply: JobReply;
    try {
      const parsed = jobReply.safeParse(JSON.parse(msg.content.toString('utf8')));
      if (!parsed.success) throw new Error(formatIssues(parsed.error));
      reply = parsed.data;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'ignored an invalid reply');
      return;
    }
    const job = this.byInternalId.get(reply.job_id);
    // Unknown: a duplicate from a redelivered run, or a job whose result was already sent.
    if (!job || job.state === 'delivering') return;
    if (job.state === 'submitting') job.held.push(reply);
    else this.relay(job, reply);
  }

  private relay(job: ClientJob, reply: JobReply): void {
    switch (reply.type) {
      case 'progress':
        this.send({ ...reply, job_id: job.clientId });
        return;
      case 'error':
        job.log.info({ code: reply.code }, 'job failed');
        this.forget(job, reply.code === 'JOB_CANCELLED' ? 'cancelled' : 'failed');
        this.send({ ...reply, job_id: job.clientId });
        this.removeStored(job);
        return;
      case 'completed':
        job.state = 'delivering';
        this.deliver(job, reply)
          .then(() => this.forget(job, 'completed'))
          .catch((err: unknown) => {
            job.log.warn({ err }, 'output not delivered');
            this.sendError(job.clientId, err instanceof AppError ? err : errors.outputSendFailed((err as Error).message, err));
            this.forget(job, 'failed');
          })
          .finally(() => {
            this.removeStored(job);
          });
        return;
    }
  }

  /** `completed` first, then each output as one binary frame `{job_id, filename}`. */
  private async deliver(job: ClientJob, reply: CompletedReply): Promise<void> {
    this.send({
      type: 'completed',
      job_id: job.clientId,
      output_metadata: reply.output_metadata,
      outputs: reply.outputs.map(({ filename, size_bytes, content_type }) => ({ filename, size_bytes, content_type })),
      delivery_method: job.request.delivery_method,
      message: 'Job completed successfully',
    });
    for (const output of reply.outputs) {
      const body = Buffer.concat(await (await this.ctx.storage.get(output.key)).toArray());
      await this.socket.sendBinary(encodeBinaryFrame({ job_id: job.clientId, filename: output.filename }, body));
      this.ctx.metrics.bytesOut.inc(body.length);
    }
    job.log.info({ outputs: reply.outputs.length }, 'job delivered');
  }

  /**
   * Cancels one of this connection's jobs. Before submission it is simply
   * dropped; after, a marker in storage stops it from ever starting and a
   * broadcast stops it on whichever worker is running it.
   */
  private cancel(clientId: string): void {
    const job = this.jobs.get(clientId);
    if (!job || job.state === 'delivering') {
      const why = job ? 'the job has completed; its results are being sent' : 'no job with this job_id is in progress on this connection';
      this.sendError(clientId, errors.cancelFailed(why));
      return;
    }
    if (job.state === 'awaiting_upload') {
      this.forget(job, 'cancelled');
      this.removeStored(job);
      this.sendError(clientId, errors.jobCancelled('cancelled before the job was submitted'));
      return;
    }
    this.cancelSubmitted(job).catch((err: unknown) => {
      job.log.warn({ err }, 'cancellation failed');
      if (this.jobs.get(clientId) === job) this.sendError(clientId, errors.cancelFailed(`could not reach the workers: ${(err as Error).message}`));
    });
  }

  private async cancelSubmitted(job: ClientJob): Promise<void> {
    await this.ctx.storage.put(storageKeys.cancelled(job.internalId), new Uint8Array(0));
    await this.ctx.publisher.broadcast({ type: 'cancel', job_id: job.internalId });
    // The result may have arrived meanwhile: then the client already has it.
    if (this.jobs.get(job.clientId) !== job || job.state === 'delivering') return;
    this.forget(job, 'cancelled');
    job.log.info('job cancelled');
    this.sendError(job.clientId, errors.jobCancelled());
  }

  private track(job: ClientJob): void {
    this.jobs.set(job.clientId, job);
    this.byInternalId.set(job.internalId, job);
    this.ctx.stats.activeJobs += 1;
    this.ctx.jobsPerClient.set(this.principal.id, (this.ctx.jobsPerClient.get(this.principal.id) ?? 0) + 1);
  }

  private forget(job: ClientJob, outcome: 'completed' | 'failed' | 'cancelled' | 'abandoned'): void {
    if (this.jobs.get(job.clientId) !== job) return;
    const operation = job.request.operation;
    this.ctx.metrics.jobsFinished.inc({ operation, outcome });
    this.ctx.metrics.jobSeconds.observe({ operation }, (Date.now() - job.receivedAt) / 1000);
    this.jobs.delete(job.clientId);
    this.byInternalId.delete(job.internalId);
    this.ctx.stats.activeJobs -= 1;
    const left = (this.ctx.jobsPerClient.get(this.principal.id) ?? 1) - 1;
    if (left > 0) this.ctx.jobsPerClient.set(this.principal.id, left);
    else this.ctx.jobsPerClient.delete(this.principal.id);
  }

  private removeStored(job: ClientJob): void {
    this.ctx.storage
      .deletePrefix(storageKeys.jobPrefix(job.internalId))
      .catch((err: unknown) => job.log.warn({ err }, 'could not delete staged files'));
  }

  /** Submission failed: the client hears why, unless it cancelled the job meanwhile. */
  private failJob(job: ClientJob, err: unknown): void {
    const e = AppError.from(err);
    job.log.warn({ code: e.code, details: e.details, err: e.cause }, 'job not submitted');
    if (this.jobs.get(job.clientId) !== job) return;
    this.forget(job, 'failed');
    this.removeStored(job);
    this.sendError(job.clientId, e);
  }

  private sendError(jobId: string | null, err: unknown): void {
    const e = AppError.from(err);
    this.send({ type: 'error', job_id: jobId, code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) });
  }

  private send(message: ServerMessage): void {
    this.socket.sendJson(message);
  }
}
