import { randomUUID } from 'node:crypto';
import {
  AppError,
  type CompletedReply,
  type Config,
  decodeUploadFrame,
  errors,
  formatIssues,
  jobReply,
  type JobMessage,
  type JobReply,
  parseClientMessage,
  type ResumeJobMessage,
  type ServerMessage,
  type StartJobMessage,
  storageKeys,
} from '@media-foundry/shared';
import {
  childTrace,
  type ConsumeMessage,
  formatTraceparent,
  type Logger,
  type Storage,
  type TraceContext,
} from '@media-foundry/shared/node';
import type { Authenticator, Principal } from './auth.js';
import type { ClientSocket } from './client-socket.js';
import type { DownloadUrls } from './download-urls.js';
import { sendOutput } from './downloads.js';
import { ChunkedUpload } from './uploads.js';
import { type JobOwner, type JobRegistry, newResumeToken, type PendingUploads, type ReplyRoute, type TrackedJob } from './job-registry.js';
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
  registry: JobRegistry;
  urls: DownloadUrls;
  /** Jobs in progress per client (principal id), across its connections. */
  jobsPerClient: Map<string, number>;
  stats: { activeJobs: number };
}

type Outcome = 'completed' | 'failed' | 'cancelled' | 'abandoned';

/** A job has ended: count it, and release its place in the registry and its reply queue. */
function finishJob(ctx: GatewayContext, job: TrackedJob, outcome: Outcome): void {
  if (ctx.registry.get(job.internalId) !== job) return;
  ctx.registry.delete(job);
  const operation = job.request.operation;
  ctx.metrics.jobsFinished.inc({ operation, outcome });
  ctx.metrics.jobSeconds.observe({ operation }, (Date.now() - job.receivedAt) / 1000);
  ctx.stats.activeJobs -= 1;
  const left = (ctx.jobsPerClient.get(job.principalId) ?? 1) - 1;
  if (left > 0) ctx.jobsPerClient.set(job.principalId, left);
  else ctx.jobsPerClient.delete(job.principalId);
  releaseRoute(ctx, job);
}

/** The job no longer reports to its reply queue; a closed connection's queue goes with its last job. */
function releaseRoute(ctx: GatewayContext, job: TrackedJob): void {
  const route = job.route;
  job.route = null;
  if (!route) return;
  route.jobs.delete(job.internalId);
  if (route.closed && route.jobs.size === 0)
    route.remove().catch((err: unknown) => ctx.logger.warn({ err }, 'could not delete reply queue'));
}

function removeStored(ctx: GatewayContext, job: TrackedJob): void {
  for (const upload of job.uploads?.chunked.values() ?? []) upload.abort();
  ctx.storage
    .deletePrefix(storageKeys.jobPrefix(job.internalId))
    .catch((err: unknown) => job.log.warn({ err }, 'could not delete staged files'));
}

/** A finished job nobody is connected to: its result waits in storage for RESUME_TTL_SECONDS. */
function keepForResume(ctx: GatewayContext, job: TrackedJob, final: JobReply): void {
  job.final = final;
  job.state = 'finished';
  job.owner = null;
  releaseRoute(ctx, job);
  if (job.expiry) clearTimeout(job.expiry);
  job.expiry = setTimeout(() => {
    job.log.info('result not collected in time; deleted');
    removeStored(ctx, job);
    finishJob(ctx, job, 'abandoned');
  }, ctx.config.RESUME_TTL_SECONDS * 1000);
  job.expiry.unref();
}

/** A message on one of this gateway's reply queues: to the job's connection, or kept while it has none. */
function onReply(ctx: GatewayContext, msg: ConsumeMessage): void {
  let reply: JobReply;
  try {
    const parsed = jobReply.safeParse(JSON.parse(msg.content.toString('utf8')));
    if (!parsed.success) throw new Error(formatIssues(parsed.error));
    reply = parsed.data;
  } catch (err) {
    ctx.logger.warn({ err: (err as Error).message }, 'ignored an invalid reply');
    return;
  }
  const job = ctx.registry.get(reply.job_id);
  // Unknown or ended: a duplicate from a redelivered run, or a job whose result was already sent.
  if (!job) return;
  if (job.state === 'submitting') job.held.push(reply);
  else dispatch(ctx, job, reply);
}

/** A reply for a known job: to the connection holding it, or kept while nobody is connected. */
function dispatch(ctx: GatewayContext, job: TrackedJob, reply: JobReply): void {
  if (job.state === 'delivering' || job.state === 'finished') return;
  if (job.owner) job.owner.relay(job, reply);
  else if (reply.type === 'progress')
    job.progress = { percentage: Math.max(reply.percentage, job.progress?.percentage ?? 0), stage: reply.stage };
  else keepForResume(ctx, job, reply);
}

/** The job is published and its client told (or gone): replies that came early go through now. */
function releaseHeld(ctx: GatewayContext, job: TrackedJob): void {
  if (job.state !== 'submitting') return;
  job.state = 'submitted';
  for (const reply of job.held.splice(0)) dispatch(ctx, job, reply);
}

/**
 * One WebSocket client: parses its messages, submits its jobs, and relays
 * the workers' replies back to it. Nothing a client sends can throw out of here.
 */
export class ClientConnection implements JobOwner {
  /** The jobs this connection holds, by the client's job_id. */
  private readonly jobs = new Map<string, TrackedJob>();
  private route: (ReplyRoute & { ready: Promise<void> }) | null = null;
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
    this.sendError(
      null,
      errors.rateLimited(`more than ${perSecond} messages a second (WS_MAX_MESSAGES_PER_SECOND); messages are being dropped`),
    );
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
      case 'resume_job':
        this.resume(message);
        return;
      case 'start_job':
        void this.startJob(message);
        return;
    }
  }

  /**
   * A binary frame (already copied out of uWS's buffer): an upload. Returns
   * true for a chunk of an upload in progress, which the upload window (not
   * the message rate) limits.
   */
  onBinary(frame: Uint8Array): boolean {
    let decoded;
    try {
      decoded = decodeUploadFrame(frame);
    } catch (err) {
      this.sendError(null, err);
      return false;
    }
    const { header, payload } = decoded;
    const job = this.jobs.get(header.job_id);
    const uploads = job?.state === 'awaiting_upload' ? job.uploads : null;
    if (!job || !uploads) {
      this.sendError(
        header.job_id,
        errors.binaryError(`no job with job_id ${JSON.stringify(header.job_id)} is waiting for an upload on this connection`),
      );
      return false;
    }
    const name = header.filename;
    const chunk = header.offset === undefined ? null : { offset: header.offset, final: header.final === true };
    const inProgress = chunk !== null && uploads.chunked.has(name);
    const unexpected = inProgress
      ? false
      : uploads.expected === null
        ? uploads.staging.size + uploads.staged.size + uploads.chunked.size > 0 && 'this job takes one file and it has arrived'
        : !uploads.expected.includes(name)
          ? `expected one of input.filenames: ${uploads.expected.join(', ')}`
          : (uploads.staged.has(name) || uploads.staging.has(name) || uploads.chunked.has(name)) && 'this file has arrived already';
    if (unexpected) {
      this.sendError(job.clientId, errors.binaryError(`unexpected upload ${JSON.stringify(name)}: ${unexpected}`));
      return false;
    }
    const maxBytes = this.ctx.config.MAX_FILE_SIZE_MB * 1024 * 1024;
    uploads.bytes += payload.length;
    const declared = job.request.input.source === 'upload' ? job.request.input.size_bytes : undefined;
    const tooBig =
      uploads.bytes > maxBytes
        ? `upload is over ${maxBytes} bytes (MAX_FILE_SIZE_MB)`
        : declared !== undefined && uploads.bytes > declared && `upload is larger than the declared input.size_bytes (${declared})`;
    if (tooBig) {
      this.failJob(job, errors.binaryError(tooBig));
      return false;
    }
    if (chunk) return this.takeChunk(job, uploads, name, chunk, payload);
    if (payload.length === 0) {
      this.failJob(job, errors.jobFailed('Input is empty', `upload ${JSON.stringify(name)} has no bytes`));
      return false;
    }
    uploads.staging.add(name);
    this.stage(job, uploads, name, () => this.ctx.storage.put(storageKeys.input(job.internalId, name), payload), payload.length).catch(
      (err: unknown) => this.failJob(job, err),
    );
    return false;
  }

  /** One chunk of a chunked upload, streamed on into storage. */
  private takeChunk(
    job: TrackedJob,
    uploads: PendingUploads,
    name: string,
    chunk: { offset: number; final: boolean },
    payload: Uint8Array,
  ): boolean {
    let upload = uploads.chunked.get(name);
    if (!upload) {
      if (chunk.offset !== 0) {
        this.failJob(job, errors.binaryError(`first chunk of ${JSON.stringify(name)} must have offset 0, not ${chunk.offset}`));
        return false;
      }
      const { config } = this.ctx;
      upload = new ChunkedUpload(
        storageKeys.input(job.internalId, name),
        this.ctx.storage,
        { maxBytes: config.MAX_FILE_SIZE_MB * 1024 * 1024, windowBytes: config.UPLOAD_WINDOW_BYTES },
        (received) => this.send({ type: 'upload_ack', job_id: job.clientId, filename: name, received_bytes: received }),
      );
      uploads.chunked.set(name, upload);
    }
    try {
      if (!upload.push(chunk.offset, chunk.final, payload)) return true;
    } catch (err) {
      this.failJob(job, err);
      return false;
    }
    if (upload.received === 0) {
      upload.abort();
      this.failJob(job, errors.jobFailed('Input is empty', `upload ${JSON.stringify(name)} has no bytes`));
      return false;
    }
    const stored = upload;
    uploads.staging.add(name);
    this.stage(job, uploads, name, () => stored.stored, stored.received).catch((err: unknown) => this.failJob(job, err));
    return true;
  }

  /**
   * The socket closed. Jobs still waiting for uploads are dropped; submitted
   * ones run on, detached, for a later `resume_job`.
   */
  onClose(): void {
    for (const job of this.jobs.values()) {
      if (job.state === 'awaiting_upload') {
        removeStored(this.ctx, job);
        finishJob(this.ctx, job, 'abandoned');
      } else {
        job.owner = null;
        job.log.info('client disconnected; the job goes on');
      }
    }
    this.jobs.clear();
    const route = this.route;
    if (!route) return;
    route.closed = true;
    if (route.jobs.size === 0)
      route.ready.then(() => route.remove()).catch((err: unknown) => this.log.warn({ err }, 'could not delete reply queue'));
  }

  /** JobOwner: a reply for a job this connection holds. */
  relay(job: TrackedJob, reply: JobReply): void {
    switch (reply.type) {
      case 'progress': {
        // a redelivered run starts again from 0: the client only ever sees progress go forward
        if (job.progress && reply.percentage < job.progress.percentage) return;
        job.progress = { percentage: reply.percentage, stage: reply.stage };
        // to a congested client only the latest progress of a job is worth sending
        this.socket.sendJson({ ...reply, job_id: job.clientId }, `progress:${job.internalId}`);
        return;
      }
      case 'error':
        job.log.info({ code: reply.code }, 'job failed');
        this.drop(job);
        finishJob(this.ctx, job, reply.code === 'JOB_CANCELLED' ? 'cancelled' : 'failed');
        this.send({ ...reply, job_id: job.clientId });
        removeStored(this.ctx, job);
        return;
      case 'completed':
        job.state = 'delivering';
        releaseRoute(this.ctx, job);
        this.deliver(job, reply).then(
          (deleteNow) => {
            this.drop(job);
            finishJob(this.ctx, job, 'completed');
            if (deleteNow) removeStored(this.ctx, job);
            // download URLs stay valid for RESULT_URL_TTL_SECONDS; so do the files behind them
            else setTimeout(() => removeStored(this.ctx, job), this.ctx.config.RESULT_URL_TTL_SECONDS * 1000).unref();
          },
          (err: unknown) => {
            if (this.socket.closed) {
              // the client left mid-delivery: the result waits for it to resume
              job.log.info('client disconnected during delivery; keeping the result');
              keepForResume(this.ctx, job, reply);
              return;
            }
            job.log.warn({ err }, 'output not delivered');
            this.drop(job);
            this.sendError(job.clientId, err instanceof AppError ? err : errors.outputSendFailed((err as Error).message, err));
            finishJob(this.ctx, job, 'failed');
            removeStored(this.ctx, job);
          },
        );
        return;
    }
  }

  private async startJob(message: StartJobMessage): Promise<void> {
    const clientId = message.job_id ?? randomUUID();
    if (this.jobs.has(clientId)) {
      this.sendError(clientId, errors.validation(`job_id: ${clientId} is already in progress on this connection`));
      return;
    }
    const maxBytes = this.ctx.config.MAX_FILE_SIZE_MB * 1024 * 1024;
    if (message.input.source === 'upload' && (message.input.size_bytes ?? 0) > maxBytes) {
      this.sendError(
        clientId,
        errors.validation(`input.size_bytes: ${message.input.size_bytes} is over MAX_FILE_SIZE_MB (${maxBytes} bytes)`),
      );
      return;
    }
    const running = this.ctx.jobsPerClient.get(this.principal.id) ?? 0;
    if (running >= this.ctx.config.MAX_JOBS_PER_CLIENT) {
      this.sendError(
        clientId,
        errors.rateLimited(`${running} jobs in progress; MAX_JOBS_PER_CLIENT allows ${this.ctx.config.MAX_JOBS_PER_CLIENT} at once`),
      );
      return;
    }
    const trace = childTrace(this.parentTrace);
    const internalId = randomUUID();
    const resume = newResumeToken(internalId);
    const job: TrackedJob = {
      clientId,
      internalId,
      principalId: this.principal.id,
      request: message,
      state: message.input.source === 'upload' ? 'awaiting_upload' : 'submitting',
      owner: this,
      route: null,
      held: [],
      progress: null,
      final: null,
      receivedAt: Date.now(),
      traceparent: formatTraceparent(trace),
      resumeDigest: resume.digest,
      expiry: null,
      uploads:
        message.input.source === 'upload'
          ? { expected: message.input.filenames ?? null, staged: new Map(), staging: new Set(), chunked: new Map(), bytes: 0 }
          : null,
      log: this.log.child({ job_id: clientId, trace_id: trace.traceId }),
    };
    this.track(job);
    job.log.info({ operation: message.operation, source: message.input.source, internal_id: internalId }, 'job received');
    if (message.input.source === 'upload') {
      const what = message.input.filenames
        ? `${message.input.filenames.length} input files, one binary frame each`
        : 'the input file as a binary frame';
      this.send({ type: 'ack', job_id: clientId, message: `Job accepted; send ${what}`, resume_token: resume.token });
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
    if (this.ctx.registry.get(internalId) !== job) return; // cancelled meanwhile
    if (job.owner === this) this.send({ type: 'ack', job_id: clientId, message: 'Job accepted and queued', resume_token: resume.token });
    releaseHeld(this.ctx, job);
  }

  /** Waits for one uploaded file to be in storage; once every expected file is, submits the job. */
  private async stage(
    job: TrackedJob,
    uploads: PendingUploads,
    filename: string,
    store: () => Promise<void>,
    bytes: number,
  ): Promise<void> {
    const key = storageKeys.input(job.internalId, filename);
    try {
      await store();
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw errors.submitFailed(`could not stage the upload: ${(err as Error).message}`, err);
    }
    uploads.chunked.delete(filename);
    job.log.info({ bytes, key }, 'upload staged');
    this.ctx.metrics.bytesIn.inc(bytes);
    if (this.ctx.registry.get(job.internalId) !== job) {
      // the client went away or cancelled while we staged
      removeStored(this.ctx, job);
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
    if (this.ctx.registry.get(job.internalId) !== job) return; // cancelled meanwhile
    if (job.owner === this) this.send({ type: 'progress', job_id: job.clientId, percentage: 0, stage: 'queued' });
    releaseHeld(this.ctx, job);
  }

  /** This connection's reply queue, declared on its first job. */
  private openRoute(): ReplyRoute & { ready: Promise<void> } {
    if (this.route) return this.route;
    let remove: () => Promise<void> = async () => {};
    const ready = this.ctx.replyQueues
      .open(this.ctx.replyQueueName(this.socket.id), (msg) => onReply(this.ctx, msg))
      .then((r) => {
        remove = r;
      });
    const route = { jobs: new Set<string>(), closed: false, ready, remove: () => remove() };
    this.route = route;
    return route;
  }

  /** Publishes the job (creating this connection's reply queue on its first job). */
  private async submit(job: TrackedJob, inputs: JobMessage['inputs']): Promise<void> {
    const route = this.openRoute();
    try {
      await route.ready;
    } catch (err) {
      this.route = null;
      throw errors.submitFailed(`could not create the reply queue: ${(err as Error).message}`, err);
    }
    route.jobs.add(job.internalId);
    job.route = route;
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
      await this.ctx.publisher.publish(message, this.ctx.replyQueueName(this.socket.id), job.traceparent);
    } catch (err) {
      throw errors.submitFailed(`RabbitMQ did not accept the job: ${(err as Error).message}`, err);
    }
    this.ctx.metrics.jobsSubmitted.inc({ operation: request.operation });
    job.log.info('job published');
  }

  /**
   * `completed` first, then each output as binary frames (one per file up to
   * 16 MiB, chunks beyond); or, with `delivery_method: "url"`, download URLs in
   * `completed` and no frames. Resolves true when the files may be deleted now.
   */
  private async deliver(job: TrackedJob, reply: CompletedReply): Promise<boolean> {
    const { config, urls, storage } = this.ctx;
    const byUrl = job.request.delivery_method === 'url';
    const ttl = config.RESULT_URL_TTL_SECONDS;
    const outputs = await Promise.all(
      reply.outputs.map(async ({ filename, size_bytes, content_type, key }) => ({
        filename,
        size_bytes,
        content_type,
        ...(byUrl ? { url: await urls.urlFor(key, filename, ttl) } : {}),
      })),
    );
    this.send({
      type: 'completed',
      job_id: job.clientId,
      output_metadata: reply.output_metadata,
      outputs,
      delivery_method: job.request.delivery_method,
      message: 'Job completed successfully',
    });
    if (byUrl) {
      job.log.info({ outputs: outputs.length, ttl_seconds: ttl }, 'job delivered as URLs');
      return false;
    }
    for (const output of reply.outputs)
      this.ctx.metrics.bytesOut.inc(await sendOutput(this.socket, storage, job.clientId, output, config.DOWNLOAD_CHUNK_BYTES));
    job.log.info({ outputs: reply.outputs.length }, 'job delivered');
    return true;
  }

  /**
   * Takes over a job after a reconnect: the client must present the job's
   * resume token (and, with auth on, be the same client). It gets the job's
   * state now, then the rest of its progress and its result.
   */
  private resume(message: ResumeJobMessage): void {
    const job = this.ctx.registry.byToken(message.resume_token);
    const sameClient = job && (job.principalId.startsWith('conn:') || job.principalId === this.principal.id);
    if (!job || job.clientId !== message.job_id || !sameClient || job.state === 'awaiting_upload') {
      this.sendError(message.job_id, errors.resumeFailed('no job with this job_id and resume_token (it may have expired)'));
      return;
    }
    const mine = this.jobs.get(job.clientId);
    if (mine && mine !== job) {
      this.sendError(message.job_id, errors.resumeFailed('this connection already has another job with this job_id'));
      return;
    }
    if (job.owner && job.owner !== this) job.owner.drop(job);
    if (job.expiry) clearTimeout(job.expiry);
    job.expiry = null;
    job.owner = this;
    this.jobs.set(job.clientId, job);
    job.log.info({ conn_id: this.socket.id }, 'job resumed');
    if (job.final) {
      const final = job.final;
      job.state = 'submitted';
      this.relay(job, final);
      return;
    }
    const { percentage = 0, stage = 'queued' } = job.progress ?? {};
    this.send({ type: 'progress', job_id: job.clientId, percentage, stage: stage as 'queued' });
  }

  /**
   * Cancels one of this connection's jobs. Before submission it is simply
   * dropped; after, a marker in storage stops it from ever starting and a
   * broadcast stops it on whichever worker is running it.
   */
  private cancel(clientId: string): void {
    const job = this.jobs.get(clientId);
    if (!job || job.state === 'delivering' || job.state === 'finished') {
      const why = job ? 'the job has completed; its results are being sent' : 'no job with this job_id is in progress on this connection';
      this.sendError(clientId, errors.cancelFailed(why));
      return;
    }
    if (job.state === 'awaiting_upload') {
      this.drop(job);
      finishJob(this.ctx, job, 'cancelled');
      removeStored(this.ctx, job);
      this.sendError(clientId, errors.jobCancelled('cancelled before the job was submitted'));
      return;
    }
    this.cancelSubmitted(job).catch((err: unknown) => {
      job.log.warn({ err }, 'cancellation failed');
      if (this.jobs.get(clientId) === job)
        this.sendError(clientId, errors.cancelFailed(`could not reach the workers: ${(err as Error).message}`));
    });
  }

  private async cancelSubmitted(job: TrackedJob): Promise<void> {
    await this.ctx.storage.put(storageKeys.cancelled(job.internalId), new Uint8Array(0));
    await this.ctx.publisher.broadcast({ type: 'cancel', job_id: job.internalId });
    // The result may have arrived meanwhile: then the client already has it.
    if (this.jobs.get(job.clientId) !== job || job.state === 'delivering' || job.state === 'finished') return;
    this.drop(job);
    finishJob(this.ctx, job, 'cancelled');
    job.log.info('job cancelled');
    this.sendError(job.clientId, errors.jobCancelled());
  }

  private track(job: TrackedJob): void {
    this.jobs.set(job.clientId, job);
    this.ctx.registry.add(job);
    this.ctx.stats.activeJobs += 1;
    this.ctx.jobsPerClient.set(this.principal.id, (this.ctx.jobsPerClient.get(this.principal.id) ?? 0) + 1);
  }

  /** This connection stops holding the job (it ended, or another connection resumed it). */
  drop(job: TrackedJob): void {
    if (this.jobs.get(job.clientId) === job) this.jobs.delete(job.clientId);
    if (job.owner === this) job.owner = null;
  }

  /** Submission failed: the client hears why, unless it cancelled the job meanwhile. */
  private failJob(job: TrackedJob, err: unknown): void {
    const e = AppError.from(err);
    job.log.warn({ code: e.code, details: e.details, err: e.cause }, 'job not submitted');
    if (this.ctx.registry.get(job.internalId) !== job) return; // cancelled or ended meanwhile
    const connected = job.owner === this;
    this.drop(job);
    finishJob(this.ctx, job, 'failed');
    removeStored(this.ctx, job);
    if (connected) this.sendError(job.clientId, e);
  }

  private sendError(jobId: string | null, err: unknown): void {
    const e = AppError.from(err);
    this.send({ type: 'error', job_id: jobId, code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) });
  }

  private send(message: ServerMessage): void {
    this.socket.sendJson(message);
  }
}
