/**
 * Every job this gateway follows, and the one place each of them ends. A
 * job's phases are in job.ts; `end(job, outcome)` is the only way out of
 * them: it releases the job's place, its reply bindings and its upload, counts
 * it, tells the client when there is something to tell, and removes the
 * job's files when nobody will need them again.
 *
 * Nothing here is the job's only copy: the record, state and result are in
 * storage, the job in RabbitMQ. A gateway that stops (or dies) loses nothing
 * another gateway cannot read back when the client resumes there.
 */
import { randomUUID } from 'node:crypto';
import {
  AppError,
  type BinaryHeader,
  type GatewayConfig,
  errorMessageFor,
  errors,
  type RelayedCompletedReply,
  relayedResult,
  forwardPercentage,
  type JobMessage,
  PROGRESS_INTERVAL_MS,
  type JobRecord,
  type OperationRequest,
  type ReplyExchangeMessage,
  type ResumeJobMessage,
  retryTransient,
  type ServerMessage,
  type StartJobMessage,
  type Topology,
  type UrlInput,
} from '@media-foundry/shared';
import {
  childTrace,
  formatTraceparent,
  type JobStore,
  literalUrlProblem,
  type Logger,
  parseAllowlist,
  type Storage,
  tenantKey,
  type TenantQueues,
  type TraceContext,
  type UrlAllowlist,
  webhookProblem,
} from '@media-foundry/shared/node';
import type { ByteBudget } from '../byte-budget.js';
import type { DownloadUrls } from '../download-urls.js';
import type { GatewayMetrics } from '../metrics.js';
import { type JobPublisher, QueueMissingError } from '../publisher.js';
import { deliverResult } from './delivery.js';
import type { GatewayJob, JobHolder, Outcome } from './job.js';
import { PublishOrder } from './publish-order.js';
import type { ReplyFollower } from './reply-router.js';
import { newResumeToken, tokenJobId, tokenMatches } from './resume-token.js';
import { budgetRefusal, UploadStaging } from './upload-staging.js';

/** A nacked publish is tried again soon: the broker is one hop away and usually takes it the next time. */
const NACKED_PUBLISH_BACKOFF = { baseMs: 100, capMs: 2000 };

export interface LifecycleDeps {
  config: GatewayConfig;
  topology: Topology;
  gatewayId: string;
  storage: Storage;
  store: JobStore;
  tenants: Pick<TenantQueues, 'prepare' | 'lost'>;
  publisher: Pick<JobPublisher, 'publish' | 'broadcast' | 'notify'>;
  router: ReplyFollower;
  urls: DownloadUrls;
  /** GATEWAY_BUFFER_BUDGET_MB: uploads reserve in it or are refused, deliveries wait for room in it. */
  budget: ByteBudget;
  metrics: GatewayMetrics;
  logger: Logger;
}

/**
 * A waiting job is told each of its last EXACT_PLACES places; further back, a
 * new place once it has moved at least a tenth of the way since it was last
 * told (so a job 1,000th in line hears of about 50 moves, not 999).
 */
const EXACT_PLACES = 10;
const PLACE_STEP = 0.9;

/** How long a resume waits for a running job's live progress before it answers with the stored state. */
const LIVE_PROGRESS_WAIT_MS = 1000;

/** Why a cancel_job that was waiting for its answer failed, by how the job ended otherwise (none: nobody to tell). */
const CANCEL_TOO_LATE: Partial<Record<Outcome, string>> = {
  completed: 'the job completed before it could be cancelled',
  failed: 'the job failed before it could be cancelled',
  refused: 'no job with this job_id is in progress on this connection',
  taken: 'the job was resumed on another connection',
};

/** The same answer for every resume that fails, so that it tells nothing about which jobs exist. */
const RESUME_REFUSED = 'no job with this job_id and resume_token (it may have expired)';

type WaitingOrigin = 'submitted' | 'resumed';

/** What a job message takes from start_job as it is: the operation, its options, and the webhook. */
type JobRequest = OperationRequest & Pick<JobMessage, 'webhook'>;

/** Whether `holder` may take a job submitted by `owner` (with auth off, whoever has the token). */
function sameOwner(owner: string, holder: JobHolder): boolean {
  return owner.startsWith('conn:') || owner === holder.principal.id;
}

/** A job as this gateway starts following it: nothing relayed, held or requested yet. */
function newJob(
  id: string,
  clientId: string,
  holder: JobHolder,
  facts: Pick<
    GatewayJob,
    'phase' | 'owner' | 'tenant' | 'tenantKey' | 'operation' | 'deliveryMethod' | 'resumeDigest' | 'traceparent' | 'log'
  >,
): GatewayJob {
  return {
    id,
    clientId,
    holder,
    ...facts,
    progress: null,
    queuePosition: null,
    positionSentAt: -Infinity,
    positionTold: null,
    positionTimer: null,
    held: [],
    cancelRequested: false,
    submission: null,
    submitFailure: null,
    detached: false,
    claimedElsewhere: false,
    staging: null,
    inputKeys: null,
    pendingWrite: null,
    startedAt: Date.now(),
    finishedAt: null,
  };
}

/** Whether a worker's final reply for the job came while it was being submitted (JOB_CANCELLED: our own withdrawal's). */
function endedByWorker(job: GatewayJob): boolean {
  return job.held.some((reply) => reply.type === 'completed' || (reply.type === 'error' && reply.code !== 'JOB_CANCELLED'));
}

/** The first URL input refused on its face (see literalUrlProblem), as a VALIDATION_ERROR detail, or null. */
function urlInputProblem(inputs: readonly UrlInput[], allow: ReturnType<typeof parseAllowlist>): string | null {
  for (const [i, { url }] of inputs.entries()) {
    const problem = literalUrlProblem(url, allow);
    if (problem) return `input.${inputs.length > 1 ? `urls[${i}]` : 'url'}: ${problem} (URL_ALLOWLIST may allow it)`;
  }
  return null;
}

export class JobLifecycle {
  /** By internal id. */
  private readonly jobs = new Map<string, GatewayJob>();
  /** Submissions under way (record, queue, publish), for a shutdown to wait for. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Each tenant's publishes from this gateway, in the order the jobs were submitted. */
  private readonly publishOrder = new PublishOrder();
  /** By connection, then by the client's job id. */
  private readonly byHolder = new Map<string, Map<string, GatewayJob>>();
  /** Resumes waiting for their job's submission to settle, by connection, then client job id: whether a cancel_job came meanwhile. */
  private readonly resumesAfterSubmission = new Map<string, Map<string, { cancelRequested: boolean }>>();
  /** Jobs waiting with a queue position, by tenant key (each `dequeued` notice moves them up). */
  private readonly waitingByTenant = new Map<string, Set<GatewayJob>>();
  /** WEBHOOK_ALLOWLIST: a webhook URL refused on its face is a VALIDATION_ERROR at submit. */
  private readonly webhookAllowlist: UrlAllowlist;
  /** URL_ALLOWLIST, parsed once: URLs forbidden on their face are refused at submit. */
  private readonly allowlist: UrlAllowlist;

  constructor(private readonly deps: LifecycleDeps) {
    this.webhookAllowlist = parseAllowlist(deps.config.webhookAllowlist);
    this.allowlist = parseAllowlist(deps.config.urlAllowlist);
  }

  /** Jobs this gateway follows now. */
  get size(): number {
    return this.jobs.size;
  }

  // ---- what clients ask -----------------------------------------------------

  /** `start_job`: accepts the job; publishes it now (URL inputs) or once its files are staged (uploads). */
  start(holder: JobHolder, message: StartJobMessage, parentTrace: TraceContext | null): void {
    const { config } = this.deps;
    const clientId = message.job_id ?? randomUUID();
    const mine = this.byHolder.get(holder.id);
    if (mine?.has(clientId)) {
      this.send(holder, errorMessageFor(clientId, errors.validation(`job_id: ${clientId} is already in progress on this connection`)));
      return;
    }
    const maxBytes = config.maxFileSizeBytes;
    const input = message.input;
    if (input.source === 'upload' && (input.size_bytes ?? 0) > maxBytes) {
      this.send(
        holder,
        errorMessageFor(clientId, errors.validation(`input.size_bytes: ${input.size_bytes} is over MAX_FILE_SIZE_MB (${maxBytes} bytes)`)),
      );
      return;
    }
    // localhost or a literal private IP fails here, before `ack`; a name that only resolves to one is the worker's to refuse
    const urlProblem = input.source === 'url' ? urlInputProblem(input.files, this.allowlist) : null;
    if (urlProblem) {
      this.send(holder, errorMessageFor(clientId, errors.validation(urlProblem)));
      return;
    }
    const webhookRefusal = webhookProblem(message.webhook, Boolean(config.webhookSecret), this.webhookAllowlist);
    if (webhookRefusal) {
      this.send(holder, errorMessageFor(clientId, webhookRefusal));
      return;
    }
    const uploading = [...(mine?.values() ?? [])].filter((j) => j.phase === 'uploading').length;
    if (input.source === 'upload' && uploading >= config.maxJobsPerClient) {
      this.send(
        holder,
        errorMessageFor(
          clientId,
          errors.rateLimited(`${uploading} uploads in progress on this connection; MAX_JOBS_PER_CLIENT allows ${config.maxJobsPerClient}`),
        ),
      );
      return;
    }
    // nothing could be taken now: say so before the client sends a byte (an upload is checked again as it comes)
    if (input.source === 'upload' && this.deps.budget.full()) {
      this.send(holder, errorMessageFor(clientId, budgetRefusal(this.deps.budget)));
      return;
    }
    const trace = childTrace(parentTrace);
    const id = randomUUID();
    const resume = newResumeToken(id);
    const tenant = holder.principal.id;
    const job = newJob(id, clientId, holder, {
      phase: input.source === 'upload' ? 'uploading' : 'submitting',
      owner: holder.principal.id,
      tenant,
      tenantKey: tenantKey(tenant),
      operation: message.operation,
      deliveryMethod: message.delivery_method,
      resumeDigest: resume.digest,
      traceparent: formatTraceparent(trace),
      log: holder.log.child({ job_id: clientId, internal_id: id, trace_id: trace.traceId }),
    });
    this.track(job);
    job.log.info({ operation: message.operation, source: input.source }, 'job received');
    // what is left of start_job once its own fields are taken: the operation and its options
    const { type: _type, job_id: _clientId, input: _input, delivery_method: _delivery, webhook, ...operation } = message;
    const request: JobRequest = {
      ...operation,
      // the worker posts the job under the id this client knows it by
      ...(webhook ? { webhook: { ...webhook, job_id: clientId } } : {}),
    };
    if (input.source === 'url') {
      void this.submitting(job, request, input.files, resume.token);
      return;
    }
    job.staging = new UploadStaging(
      id,
      input.files,
      input.size_bytes,
      this.deps.storage,
      this.deps.budget,
      tenant,
      {
        maxBytes,
        windowBytes: config.uploadWindowBytes,
        retryBudgetMs: config.transientRetryMs,
        idleMs: config.uploadIdleTimeoutMs,
        minBytesPerSecond: config.uploadMinBytesPerSecond,
        rateWindowMs: config.uploadMinRateWindowMs,
      },
      {
        complete: (inputs) => void this.submitting(job, request, inputs, null),
        fail: (err) => this.fail(job, err),
        ack: (filename, received) => this.send(job.holder, { type: 'upload_ack', job_id: clientId, filename, received_bytes: received }),
        stored: (bytes) => this.deps.metrics.bytesIn.inc(bytes),
      },
      job.log,
    );
    const named = input.files.every((f) => f.filename !== null);
    const what = named ? `${input.files.length} input files, one binary frame each` : 'the input file as a binary frame';
    this.send(holder, { type: 'ack', job_id: clientId, message: `Job accepted; send ${what}`, resume_token: resume.token });
  }

  /** Whether `header` continues a chunked upload of one of `holder`'s jobs (its first chunk has come): such chunks are cheap. */
  chunkInProgress(holder: JobHolder, header: BinaryHeader): boolean {
    const job = this.byHolder.get(holder.id)?.get(header.job_id);
    return (
      header.offset !== undefined && job?.phase === 'uploading' && job.staging !== null && job.staging.chunkInProgress(header.filename)
    );
  }

  /** A binary frame (header already decoded): a file, or a chunk of one, of an upload job. */
  upload(holder: JobHolder, header: BinaryHeader, payload: Uint8Array): void {
    const job = this.byHolder.get(holder.id)?.get(header.job_id);
    if (!job?.staging || job.phase !== 'uploading') {
      this.send(
        holder,
        errorMessageFor(
          header.job_id,
          errors.binaryError(`no job with job_id ${JSON.stringify(header.job_id)} is waiting for an upload on this connection`),
        ),
      );
      return;
    }
    const { rejected } = job.staging.take(header, payload);
    if (rejected) this.send(holder, errorMessageFor(job.clientId, rejected));
  }

  /**
   * `resume_job`: takes the job over on this connection — from another
   * connection here, or from storage when this gateway never saw it. The
   * client gets the job's state, the rest of its progress, and its result.
   */
  resume(holder: JobHolder, message: ResumeJobMessage): void {
    const refuse = () => this.send(holder, errorMessageFor(message.job_id, errors.resumeFailed(RESUME_REFUSED)));
    const id = tokenJobId(message.resume_token);
    if (!id) return refuse();
    const mine = this.byHolder.get(holder.id)?.get(message.job_id);
    const local = this.jobs.get(id);
    if (local) {
      const allowed =
        tokenMatches(message.resume_token, local.resumeDigest) && local.clientId === message.job_id && sameOwner(local.owner, holder);
      if (!allowed || local.phase === 'uploading') return refuse();
      // its connection dropped (or the client moved) while it was being published: the job will run, so the
      // resume waits for the submission to settle rather than being refused (and the work submitted twice)
      if (local.phase === 'submitting' && local.holder !== holder) return void this.resumeAfterSubmission(holder, message, local);
      if (local.phase === 'submitting') return refuse();
      if (local.holder === holder) return local.phase === 'delivering' ? refuse() : this.sendState(local);
      if (mine)
        return this.send(
          holder,
          errorMessageFor(message.job_id, errors.resumeFailed('this connection already has another job with this job_id')),
        );
      if (local.phase === 'delivering') {
        // a job whose record is not stored (yet) cannot be resumed from storage: it stays with its connection
        if (local.pendingWrite !== null) return refuse();
        // The client resumes on a new connection while the output still goes out on the old one, which may be
        // dead but not yet noticed (WS_PING_INTERVAL + WS_PING_TIMEOUT): that delivery is let go (it stops before
        // its next message, and removes nothing) and the job is delivered again, from storage, here.
        local.log.info({ conn_id: holder.id }, 'job resumed on another connection during its delivery; delivering it there');
        this.end(local, 'taken');
        return this.resume(holder, message);
      }
      const previous = this.byHolder.get(local.holder.id);
      previous?.delete(local.clientId);
      if (previous?.size === 0) this.byHolder.delete(local.holder.id);
      local.holder = holder;
      this.holderJobs(holder).set(local.clientId, local);
      local.log.info({ conn_id: holder.id }, 'job resumed on another connection');
      this.claim(local);
      if (local.phase === 'waiting') this.sendState(local);
      return;
    }
    if (mine)
      return this.send(
        holder,
        errorMessageFor(message.job_id, errors.resumeFailed('this connection already has another job with this job_id')),
      );
    // the rest comes from the job's record, once the token checks out
    const job = newJob(id, message.job_id, holder, {
      phase: 'resuming',
      owner: '',
      tenant: '',
      tenantKey: '',
      operation: 'unknown',
      deliveryMethod: 'binary',
      resumeDigest: '',
      traceparent: '',
      log: holder.log.child({ job_id: message.job_id, internal_id: id }),
    });
    this.track(job);
    void this.resumeFromStorage(job, message.resume_token);
  }

  /**
   * A resume of a job whose submission is under way: waits (bounded) for it to settle, then takes the job
   * over (or, the submission failed, answers with that failure), applying a cancel_job that came meanwhile.
   */
  private async resumeAfterSubmission(holder: JobHolder, message: ResumeJobMessage, job: GatewayJob): Promise<void> {
    const { config } = this.deps;
    let pending = this.resumesAfterSubmission.get(holder.id);
    if (!pending) this.resumesAfterSubmission.set(holder.id, (pending = new Map()));
    const state = { cancelRequested: false };
    pending.set(message.job_id, state);
    // a submission waits for the broker's confirm at most PUBLISH_TIMEOUT_SECONDS, and for its record's write
    // (retried) at most TRANSIENT_RETRY_SECONDS
    const bound = config.publishTimeoutMs + config.transientRetryMs;
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      (job.submission ?? Promise.resolve()).then(() => true),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), bound))),
    ]);
    clearTimeout(timer);
    if (pending.get(message.job_id) === state) pending.delete(message.job_id);
    if (pending.size === 0) this.resumesAfterSubmission.delete(holder.id);
    const cancelFailed = (why: string) =>
      state.cancelRequested && this.send(holder, errorMessageFor(message.job_id, errors.cancelFailed(why)));
    if (holder.socket.closed) {
      // nobody to answer; a cancel it asked for still applies to a job that was published
      if (state.cancelRequested && settled && !job.submitFailure) this.cancelDetached(job);
      return;
    }
    if (!settled) {
      this.send(holder, errorMessageFor(message.job_id, errors.resumeFailed('the job is still being submitted; try again shortly')));
      cancelFailed('the job is still being submitted; try again shortly');
      return;
    }
    if (job.submitFailure) {
      this.send(holder, errorMessageFor(message.job_id, job.submitFailure));
      cancelFailed('the job was not submitted; there is nothing to cancel');
      return;
    }
    this.resume(holder, message);
    if (state.cancelRequested) this.cancel(holder, message.job_id);
  }

  /** `cancel_job`: drops an upload, or stops the job wherever it is queued or running. */
  cancel(holder: JobHolder, clientId: string): void {
    const job = this.byHolder.get(holder.id)?.get(clientId);
    const resuming = job ? undefined : this.resumesAfterSubmission.get(holder.id)?.get(clientId);
    if (resuming && !resuming.cancelRequested) {
      resuming.cancelRequested = true; // applied once the submission settles and the resume takes the job
      return;
    }
    if (job?.cancelRequested || resuming) {
      this.send(
        holder,
        errorMessageFor(clientId, errors.cancelFailed('a cancel_job for this job is under way already; its answer follows')),
      );
      return;
    }
    if (!job || job.phase === 'delivering' || job.phase === 'ended') {
      const why = job ? 'the job has completed; its results are being sent' : 'no job with this job_id is in progress on this connection';
      this.send(holder, errorMessageFor(clientId, errors.cancelFailed(why)));
      return;
    }
    job.cancelRequested = true;
    if (job.phase === 'uploading') {
      this.end(job, 'cancelled', {
        notice: errorMessageFor(clientId, errors.jobCancelled('cancelled before the job was submitted')),
        removeFiles: true,
      });
      return;
    }
    // applied as soon as the job is published or resumed
    if (job.phase === 'submitting' || job.phase === 'resuming') return;
    void this.cancelWaiting(job);
  }

  /** The connection closed: uploads are dropped; every other job runs on without this gateway, for a later `resume_job`. */
  detach(holder: JobHolder): void {
    const mine = this.byHolder.get(holder.id);
    if (!mine) return;
    for (const job of [...mine.values()]) {
      if (job.phase === 'uploading') this.end(job, 'abandoned', { removeFiles: true });
      else if (job.phase === 'submitting') job.detached = true;
      // a cancel asked for while resuming is applied once the resume's token checks out (resumeFromStorage)
      else if (job.phase === 'resuming' && job.cancelRequested) job.detached = true;
      else if (job.phase !== 'delivering') this.end(job, 'detached');
      // a delivery in progress fails on the closed socket and ends there, keeping the result
    }
  }

  /** The gateway is stopping: uploads in flight are aborted and their staged files removed; nothing else is touched. */
  shutdown(): void {
    for (const job of [...this.jobs.values()]) if (job.phase === 'uploading') this.end(job, 'abandoned', { removeFiles: true });
  }

  /**
   * Resolves once no submission is in flight: a stopping gateway waits for it
   * before it closes its channels, since a publish cut off unconfirmed fails
   * the job, removing its record and inputs, while the broker may hold it.
   */
  async submissionsSettled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** submit(), counted in `inFlight` until it settles. */
  private submitting(...args: Parameters<JobLifecycle['submit']>): Promise<void> {
    const run = this.submit(...args);
    args[0].submission = run;
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
    return run;
  }

  // ---- what the reply exchange brings --------------------------------------

  onMessage(message: ReplyExchangeMessage): void {
    if (message.type === 'dequeued') return this.moveUp(message.tenant_key, message.job_id);
    const job = this.jobs.get(message.job_id);
    if (!job) return; // not followed here (any more): a duplicate, or a job whose result was sent
    if (message.type === 'claimed') {
      // this gateway's own (echoed back by the exchange): a connection here that takes a job does so at once, in resume()
      if (message.gateway_id === this.deps.gatewayId) return;
      if (job.phase === 'submitting') {
        // its record is stored, its publish not yet confirmed: the submission goes on, and ends here either way
        // (a failure is told to whoever resumed it)
        job.detached = true;
        job.claimedElsewhere = true;
        return;
      }
      // During a delivery too (this connection may be dead, not yet noticed): it stops before its next message
      // and removes nothing; the gateway that took the job delivers it from storage and removes its files.
      job.log.info({ by_gateway: message.gateway_id, phase: job.phase }, 'job resumed elsewhere; no longer followed here');
      this.end(job, 'taken');
      return;
    }
    if (job.phase === 'submitting' || job.phase === 'resuming') job.held.push(message);
    else if (job.phase === 'waiting') this.relay(job, message);
  }

  /** The reply bindings are back after a broker reconnect: finals published meanwhile are in storage. */
  onResubscribed(): void {
    for (const job of this.jobs.values()) {
      if (job.phase !== 'waiting') continue;
      this.deps.store.readResult(job.id).then(
        (result) => {
          if (result && this.jobs.get(job.id) === job && job.phase === 'waiting') this.relay(job, relayedResult(result));
        },
        (err: unknown) => job.log.warn({ err }, 'could not look up the result after a reconnect'),
      );
    }
  }

  // ---- phases ---------------------------------------------------------------

  /** Record, tenant queue, publish; then the client hears `ack` (URL inputs) and where the job waits. */
  private async submit(job: GatewayJob, request: JobRequest, inputs: JobMessage['inputs'], ackToken: string | null): Promise<void> {
    const { config, store, tenants, publisher, router, metrics } = this.deps;
    job.phase = 'submitting';
    const turn = this.publishOrder.enter(job.tenantKey);
    let depth: number;
    let recorded: Promise<AppError | null> = Promise.resolve(null);
    const record: JobRecord = {
      version: 1,
      job_id: job.id,
      client_job_id: job.clientId,
      owner: job.owner,
      tenant: job.tenant,
      resume_digest: job.resumeDigest,
      operation: job.operation,
      delivery_method: job.deliveryMethod,
      created_at: new Date(job.startedAt).toISOString(),
    };
    try {
      // The reply binding (a reply can come the moment the job is published) and the queue before the
      // publish; the record alongside both and the publish: a worker needs none of it, only the client's
      // `ack` waits for it (a resume must find the job). Storage's round trip is off the job's path.
      // The record's write settles before a failure is acted on: the clean-up must not race it.
      recorded = store.writeRecord(record).then(
        () => null,
        (err: unknown) => errors.submitFailed(`could not store the job's record: ${(err as Error).message}`, err),
      );
      const prepare = () =>
        tenants.prepare(job.tenant).catch((err: unknown) => {
          throw errors.submitFailed(`could not reach RabbitMQ: ${(err as Error).message}`, err);
        });
      const [followed, prepared] = await Promise.allSettled([router.follow(job.id), prepare()]);
      if (followed.status === 'rejected') throw followed.reason;
      if (prepared.status === 'rejected') throw prepared.reason;
      let { queue } = prepared.value;
      depth = prepared.value.depth;
      if (depth >= config.maxQueuedJobsPerClient)
        throw errors.rateLimited(
          `${depth} of this client's jobs are waiting; MAX_QUEUED_JOBS_PER_CLIENT allows ${config.maxQueuedJobsPerClient}`,
        );
      const message: JobMessage = {
        ...request,
        job_id: job.id,
        tenant: job.tenant,
        inputs,
        delivery_method: job.deliveryMethod,
        submitted_at: new Date().toISOString(),
      };
      // a nack is tried again while TRANSIENT_RETRY_SECONDS last, sooner than storage's retries: the broker is near
      const publish = () =>
        retryTransient((attempt) => publisher.publish(queue, message, job.traceparent, { retry: attempt > 0 }), {
          budgetMs: config.transientRetryMs,
          policy: NACKED_PUBLISH_BACKOFF,
          onRetry: (err, retry, delayMs) =>
            job.log.warn({ err, retry, delay_ms: delayMs }, 'RabbitMQ refused the job; publishing it again'),
        }).catch((err: unknown) => {
          if (err instanceof QueueMissingError) throw err;
          throw errors.submitFailed(`RabbitMQ did not accept the job: ${(err as Error).message}`, err);
        });
      await turn.ready;
      // the publish is on the channel, in line, once called: the next job's may go after it without waiting
      // for this one's confirm (a broker away would otherwise cost each job in line a publish timeout in turn)
      const published = publish();
      turn.leave();
      await published.catch(async (err: unknown) => {
        if (!(err instanceof QueueMissingError)) throw err;
        // the queue expired since it was declared or checked, and the job came back: declared again, then once more
        job.log.info({ queue }, 'tenant queue was gone; declaring it again');
        tenants.lost(job.tenantKey);
        ({ queue, depth } = await prepare());
        await publish().catch((again: unknown) => {
          throw again instanceof QueueMissingError
            ? errors.submitFailed(`RabbitMQ did not accept the job: ${again.message}`, again)
            : again;
        });
      });
    } catch (err) {
      turn.leave();
      await recorded;
      this.fail(job, err);
      return;
    }
    publisher
      .broadcast({ type: 'tenant_ready', tenant_key: job.tenantKey })
      .catch((err: unknown) => job.log.debug({ err }, 'tenant announcement not sent'));
    const unrecorded = await recorded;
    if (unrecorded) {
      // The write retries for a while, and so does the withdrawal's marker: a short job may end meanwhile.
      // Its own final reply is then the answer (withdrawing it would call a done job failed), and the record
      // is tried once more in the background, for a resume.
      if (!endedByWorker(job)) await this.withdraw(job);
      if (!endedByWorker(job)) {
        this.fail(job, unrecorded, { removeFiles: false });
        return;
      }
      job.log.warn({ err: unrecorded.cause ?? unrecorded }, "job's record not stored, but the job ended meanwhile: its reply is relayed");
      job.pendingWrite = store
        .writeRecord(record)
        .catch((err: unknown) => job.log.warn({ err }, "job's record not stored; a resume of it will be refused"));
    }
    metrics.jobsSubmitted.inc({ operation: job.operation });
    job.inputKeys = inputs.flatMap((input) => (input.source === 'storage' ? [input.key] : []));
    job.log.info({ queued_ahead: depth }, 'job published');
    if (this.jobs.get(job.id) !== job) return; // ended meanwhile (the connection closed and it was an upload)
    if (job.detached) {
      if (job.cancelRequested) this.cancelDetached(job);
      this.end(job, 'detached');
      return;
    }
    if (ackToken) this.send(job.holder, { type: 'ack', job_id: job.clientId, message: 'Job accepted and queued', resume_token: ackToken });
    job.queuePosition = depth + 1;
    let waiting = this.waitingByTenant.get(job.tenantKey);
    if (!waiting) this.waitingByTenant.set(job.tenantKey, (waiting = new Set()));
    waiting.add(job);
    router.follow(this.deps.topology.tenantEventsKey(job.tenantKey)).catch((err: unknown) => job.log.debug({ err }, 'no queue positions'));
    this.enterWaiting(job, 'submitted');
  }

  /** A resume this gateway knows nothing of: bind, then read the record, the result and the state. */
  private async resumeFromStorage(job: GatewayJob, token: string): Promise<void> {
    const { store, router, config } = this.deps;
    const refuse = () => this.end(job, 'refused', { notice: errorMessageFor(job.clientId, errors.resumeFailed(RESUME_REFUSED)) });
    // after every wait: the connection may have closed, or another one taken the job, meanwhile
    const abandoned = () => this.jobs.get(job.id) !== job || job.phase !== 'resuming';
    try {
      // bound before reading: a final published from now on arrives here, one published before is in storage
      await router.follow(job.id);
      if (abandoned()) return;
      const record = await store.readRecord(job.id);
      if (abandoned()) return;
      if (
        !record ||
        !tokenMatches(token, record.resume_digest) ||
        record.client_job_id !== job.clientId ||
        !sameOwner(record.owner, job.holder)
      ) {
        job.log.info('resume refused');
        return refuse();
      }
      // only a rightful resume takes the job from the connection that had it
      this.claim(job);
      Object.assign(job, {
        owner: record.owner,
        tenant: record.tenant,
        tenantKey: tenantKey(record.tenant),
        operation: record.operation,
        deliveryMethod: record.delivery_method,
        resumeDigest: record.resume_digest,
      });
      const result = await store.readResult(job.id);
      if (abandoned()) return;
      if (job.detached) {
        // the connection closed after it asked to cancel (detach): a job that has not finished is cancelled
        if (!result) this.cancelDetached(job);
        this.end(job, 'detached');
        return;
      }
      if (result) {
        if (Date.parse(result.finished_at) + config.resumeTtlMs < Date.now()) return refuse();
        job.held = []; // the stored result is the final word; replies held meanwhile are copies of it or older
        job.phase = 'waiting';
        job.finishedAt = Date.parse(result.finished_at);
        job.log.info('job resumed after it finished');
        this.relay(job, relayedResult(result));
        return;
      }
      const cancelled = await store.isCancelled(job.id);
      if (abandoned()) return;
      if (cancelled) {
        this.end(job, 'cancelled', { notice: errorMessageFor(job.clientId, errors.jobCancelled()) });
        return;
      }
      const state = await store.readState(job.id);
      if (abandoned()) return;
      job.progress = state ? { percentage: state.percentage, stage: state.stage } : null;
      // the stored state is coarse (written every few seconds): a running job's next live progress is moments away
      if (state && state.stage !== 'queued') await this.liveProgress(job, LIVE_PROGRESS_WAIT_MS);
      job.log.info({ state: job.progress?.stage ?? 'queued' }, 'job resumed');
    } catch (err) {
      job.log.warn({ err }, 'could not resume from storage');
      if (this.jobs.get(job.id) === job)
        this.end(job, 'refused', {
          notice: errorMessageFor(job.clientId, errors.resumeFailed(`the job's state could not be read (storage unavailable); try again`)),
        });
      return;
    }
    if (abandoned()) return;
    this.sendState(job);
    this.enterWaiting(job, 'resumed');
  }

  /** Waits up to `ms` for a live progress reply of a resuming job, and takes it as its state if it is further. */
  private async liveProgress(job: GatewayJob, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && this.jobs.get(job.id) === job && job.held.length === 0) {
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const m of job.held)
      if (m.type === 'progress' && m.percentage >= (job.progress?.percentage ?? 0))
        job.progress = { percentage: m.percentage, stage: m.stage };
  }

  /** Submitted or resumed: relay what came meanwhile, then apply a cancel that came meanwhile. */
  private enterWaiting(job: GatewayJob, origin: WaitingOrigin): void {
    job.phase = 'waiting';
    if (origin === 'submitted') this.sendQueued(job);
    for (const reply of job.held.splice(0)) if (job.phase === 'waiting') this.relay(job, reply);
    if (job.cancelRequested && job.phase === 'waiting') void this.cancelWaiting(job);
  }

  /** A reply for a job that waits: progress on, a final one ends it. */
  private relay(job: GatewayJob, reply: ReplyExchangeMessage): void {
    switch (reply.type) {
      case 'progress': {
        const previous = job.progress?.percentage ?? 0;
        // a redelivered run starts again from 0: the client only ever sees progress go forward
        if (reply.percentage < previous && reply.stage !== 'retrying') return;
        job.progress = { percentage: forwardPercentage(previous, reply.percentage), stage: reply.stage };
        if (reply.stage !== 'queued') this.started(job);
        job.holder.socket.sendJson({ ...reply, job_id: job.clientId, percentage: job.progress.percentage }, `progress:${job.id}`);
        return;
      }
      case 'error': {
        // a worker's JOB_CANCELLED can end the job before our own cancel broadcast returns: log it as a cancel either way
        const cancelled = reply.code === 'JOB_CANCELLED';
        job.log.info({ code: reply.code }, cancelled ? 'job cancelled' : 'job failed');
        this.end(job, cancelled ? 'cancelled' : 'failed', {
          notice: { ...reply, job_id: job.clientId },
          removeFiles: true,
        });
        return;
      }
      case 'completed':
        void this.deliver(job, reply);
        return;
      default:
        return;
    }
  }

  private async deliver(job: GatewayJob, reply: RelayedCompletedReply): Promise<void> {
    const { config, storage, urls, budget, metrics } = this.deps;
    job.phase = 'delivering';
    this.started(job);
    try {
      const how = await deliverResult(
        job.holder.socket,
        job.clientId,
        job.deliveryMethod,
        reply,
        {
          config,
          storage,
          urls,
          budget,
          finishedAt: job.finishedAt ?? Date.now(),
          onBytes: (n) => metrics.bytesOut.inc(n),
          wanted: () => this.jobs.get(job.id) === job,
        },
        job.log,
      );
      // download URLs stay valid for RESULT_URL_TTL_SECONDS; so do the files behind them (the sweeper removes them)
      this.end(job, 'completed', { removeFiles: how === 'sent', delivered: reply });
    } catch (err) {
      if (this.jobs.get(job.id) !== job) {
        job.log.info({ err }, 'delivery let go: the job was resumed on another connection');
        return;
      }
      if (job.holder.socket.closed) {
        job.log.info('client disconnected during delivery; the result waits in storage for a resume');
        this.end(job, 'detached');
        return;
      }
      job.log.warn({ err }, 'output not delivered');
      this.end(job, 'failed', {
        notice: errorMessageFor(job.clientId, err instanceof AppError ? err : errors.outputSendFailed((err as Error).message, err)),
        removeFiles: true,
      });
    }
  }

  /** A cancel its connection asked for, then closed before it could be applied: the marker and the broadcast, nobody to tell. */
  private cancelDetached(job: GatewayJob): void {
    this.deps.store
      .markCancelled(job.id)
      .then(() => this.deps.publisher.broadcast({ type: 'cancel', job_id: job.id }))
      .then(
        () => job.log.info('job cancelled after its connection closed'),
        (err: unknown) => job.log.warn({ err }, 'cancellation failed'),
      );
  }

  private async cancelWaiting(job: GatewayJob): Promise<void> {
    try {
      await this.deps.store.markCancelled(job.id);
      await this.deps.publisher.broadcast({ type: 'cancel', job_id: job.id });
    } catch (err) {
      job.log.warn({ err }, 'cancellation failed');
      // a job that ended meanwhile had its cancel answered by end()
      if (this.jobs.get(job.id) === job && job.cancelRequested) {
        job.cancelRequested = false;
        this.send(job.holder, errorMessageFor(job.clientId, errors.cancelFailed(`could not reach the workers: ${(err as Error).message}`)));
      }
      return;
    }
    // the result may have come meanwhile: then the client has it already
    if (this.jobs.get(job.id) !== job || job.phase !== 'waiting') return;
    job.log.info('job cancelled');
    // the marker stays: a worker that takes the queued job later skips it, then removes the job's files
    this.end(job, 'cancelled', { notice: errorMessageFor(job.clientId, errors.jobCancelled()) });
  }

  /**
   * Submission failed: the client hears why, unless it cancelled or left
   * meanwhile. Its files go, unless it was published (withdrawn): then the
   * cancel marker stays for the worker that takes it (it removes them).
   */
  private fail(job: GatewayJob, err: unknown, { removeFiles = true } = {}): void {
    const e = AppError.from(err, 'SUBMIT_FAILED');
    job.submitFailure = e;
    job.log.warn({ code: e.code, details: e.details, err: e.cause }, 'job not submitted');
    if (this.jobs.get(job.id) !== job) return;
    if (job.claimedElsewhere) {
      // a connection on another gateway resumed it and waits for its end: the failure is its result, stored for a
      // later resume and published on the job's key, which that gateway follows (its files stay for the sweeper)
      const reply = { ...errorMessageFor(job.id, e), job_id: job.id };
      this.deps.store
        .writeResult(reply)
        .then(() => this.deps.publisher.notify(job.id, reply))
        .catch((err: unknown) => job.log.warn({ err }, 'could not tell the gateway that resumed it that the job was not submitted'));
      this.end(job, 'failed');
      return;
    }
    this.end(job, 'failed', { notice: job.detached ? undefined : errorMessageFor(job.clientId, e), removeFiles });
  }

  /**
   * Takes back a job published without its record (storage refused it): a
   * cancel marker for the worker that takes it from the queue, a broadcast
   * for one that runs it already. Best effort: with storage down the marker
   * may fail too, and then the job runs for nobody; the storage sweeper
   * removes its files (STORAGE_TTL_SECONDS).
   */
  private async withdraw(job: GatewayJob): Promise<void> {
    const broadcast = () =>
      this.deps.publisher
        .broadcast({ type: 'cancel', job_id: job.id })
        .catch((err: unknown) => job.log.warn({ err }, 'could not broadcast the cancel of a job published without its record'));
    // The broadcast at once (the marker's write retries while storage is away; a running job must not wait
    // for it), and again once the marker is written: a worker that took the job in between found no marker.
    await Promise.all([
      this.deps.store
        .markCancelled(job.id)
        .catch((err: unknown) =>
          job.log.warn({ err }, 'could not mark a job published without its record as cancelled; it may run for nobody'),
        ),
      broadcast(),
    ]);
    await broadcast();
  }

  // ---- the one way out -----------------------------------------------------

  /**
   * Ends this gateway's part in the job: forgets it, stops its reply routes,
   * aborts its upload, counts it, tells the client `notice`, and removes its
   * files when `removeFiles` (the result was delivered, or the job never got
   * to run). Ending twice is a no-op.
   */
  private end(
    job: GatewayJob,
    outcome: Outcome,
    options: { notice?: ServerMessage | undefined; removeFiles?: boolean; delivered?: RelayedCompletedReply } = {},
  ): void {
    if (this.jobs.get(job.id) !== job) return;
    const phase = job.phase;
    job.phase = 'ended';
    this.jobs.delete(job.id);
    const mine = this.byHolder.get(job.holder.id);
    if (mine?.get(job.clientId) === job) mine.delete(job.clientId);
    if (mine?.size === 0) this.byHolder.delete(job.holder.id);
    if (phase !== 'uploading') this.deps.router.unfollow(job.id);
    this.started(job);
    job.staging?.abort();
    if (outcome === 'completed' || outcome === 'failed' || outcome === 'cancelled') {
      const { metrics } = this.deps;
      metrics.jobsFinished.inc({ operation: job.operation, outcome });
      metrics.jobSeconds.observe({ operation: job.operation }, (Date.now() - job.startedAt) / 1000);
    }
    if (options.notice) this.send(job.holder, options.notice);
    // every cancel_job gets an answer: a job that ended otherwise than cancelled failed it
    const tooLate = outcome === 'cancelled' || job.detached ? undefined : CANCEL_TOO_LATE[outcome];
    if (job.cancelRequested && tooLate)
      this.send(
        job.holder,
        errorMessageFor(
          job.clientId,
          errors.cancelFailed(phase === 'submitting' ? 'the job was not submitted; there is nothing to cancel' : tooLate),
        ),
      );
    if (options.removeFiles) {
      // A delivered job's files are the ones it names (no listing on every job's path); others are found by listing.
      const { delivered } = options;
      const { inputKeys } = job;
      const remove = () =>
        delivered && inputKeys
          ? this.deps.store.removeKnown(job.id, [...inputKeys, ...delivered.outputs.map((o) => o.key)])
          : this.deps.store.remove(job.id);
      // after a write of the job's own that is still in flight, which would otherwise land after the removal
      (job.pendingWrite ?? Promise.resolve()).then(remove).catch((err: unknown) => job.log.warn({ err }, 'could not delete the job files'));
    }
    job.log.debug({ outcome }, 'job no longer followed');
  }

  // ---- queue positions -----------------------------------------------------

  /** One of the tenant's jobs left its queue: every job of it waiting behind moves up. */
  private moveUp(tenant: string, startedJobId: string): void {
    for (const job of [...(this.waitingByTenant.get(tenant) ?? [])]) {
      if (job.queuePosition === null) continue;
      if (job.id === startedJobId) this.started(job);
      else if (job.queuePosition > 1) {
        job.queuePosition -= 1;
        if (job.phase === 'waiting') this.positionMoved(job);
      }
    }
  }

  /**
   * A waiting job moved up: told at once, or, when it was told less than
   * PROGRESS_INTERVAL_MS ago, once the interval has passed (the latest
   * place then); far back in line, only once it moved a tenth of the way
   * (EXACT_PLACES). A client's jobs behind one that starts all move up, so
   * telling every move costs about N²/2 messages for a queue of N, however
   * slowly it drains.
   */
  private positionMoved(job: GatewayJob): void {
    if (job.positionTimer) return; // pending: it sends the latest place
    const place = job.queuePosition;
    if (place !== null && place > EXACT_PLACES && job.positionTold !== null && place > job.positionTold * PLACE_STEP) return;
    // at most the interval: a wall clock stepped back must not hold the place
    const wait = Math.min(job.positionSentAt + PROGRESS_INTERVAL_MS - Date.now(), PROGRESS_INTERVAL_MS);
    if (wait <= 0) {
      this.sendQueued(job);
      return;
    }
    job.positionTimer = setTimeout(() => {
      job.positionTimer = null;
      if (this.jobs.get(job.id) === job && job.phase === 'waiting' && job.queuePosition !== null) this.sendQueued(job);
    }, wait);
    job.positionTimer.unref();
  }

  /** The job left its queue: no more positions for it. */
  private started(job: GatewayJob): void {
    job.queuePosition = null;
    if (job.positionTimer) clearTimeout(job.positionTimer);
    job.positionTimer = null;
    // only a job in the tenant's waiting set follows the tenant's queue events
    const waiting = this.waitingByTenant.get(job.tenantKey);
    if (!waiting?.delete(job)) return;
    if (waiting.size === 0) this.waitingByTenant.delete(job.tenantKey);
    this.deps.router.unfollow(this.deps.topology.tenantEventsKey(job.tenantKey));
  }

  private sendQueued(job: GatewayJob): void {
    const position = job.queuePosition;
    // the place sent now is the latest (a resume tells it at once): a pending one would repeat it
    if (job.positionTimer) clearTimeout(job.positionTimer);
    job.positionTimer = null;
    job.positionSentAt = Date.now();
    job.positionTold = position;
    job.holder.socket.sendJson(
      {
        type: 'progress',
        job_id: job.clientId,
        percentage: job.progress?.percentage ?? 0,
        stage: 'queued',
        ...(position !== null
          ? {
              queue_position: position,
              message: position === 1 ? 'next of your jobs to start' : `${position - 1} of your jobs will start before this one`,
            }
          : {}),
      },
      `progress:${job.id}`,
    );
  }

  /** The job's state now, for a connection that (re)took it. */
  private sendState(job: GatewayJob): void {
    if (!job.progress || job.progress.stage === 'queued') {
      this.sendQueued(job);
      return;
    }
    job.holder.socket.sendJson({ type: 'progress', job_id: job.clientId, ...job.progress }, `progress:${job.id}`);
  }

  /** Tells every gateway following the job that this connection holds it now. */
  private claim(job: GatewayJob): void {
    this.deps.publisher
      .notify(job.id, { type: 'claimed', job_id: job.id, gateway_id: this.deps.gatewayId, connection_id: job.holder.id })
      .catch((err: unknown) => job.log.debug({ err }, 'claim notice not sent'));
  }

  // ---- bookkeeping ---------------------------------------------------------

  private track(job: GatewayJob): void {
    this.jobs.set(job.id, job);
    this.holderJobs(job.holder).set(job.clientId, job);
  }

  private holderJobs(holder: JobHolder): Map<string, GatewayJob> {
    let mine = this.byHolder.get(holder.id);
    if (!mine) {
      mine = new Map();
      this.byHolder.set(holder.id, mine);
    }
    return mine;
  }

  private send(holder: JobHolder, message: ServerMessage): void {
    holder.socket.sendJson(message);
  }
}
