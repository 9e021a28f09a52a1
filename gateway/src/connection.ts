/**
 * One WebSocket client: parses what it sends and hands each request to the
 * job lifecycle (jobs/lifecycle.ts), which owns everything a job is. Nothing
 * a client sends can throw out of here.
 */
import {
  CloseCode,
  type GatewayConfig,
  decodeUploadFrame,
  errorMessageFor,
  errors,
  parseClientMessage,
  type ServerMessage,
} from '@media-foundry/shared';
import type { Logger, Storage, TraceContext } from '@media-foundry/shared/node';
import type { Authenticator, Principal } from './auth.js';
import type { ClientSocket } from './client-socket.js';
import type { DownloadUrls } from './download-urls.js';
import type { JobHolder } from './jobs/job.js';
import type { JobLifecycle } from './jobs/lifecycle.js';
import { chunkCost, type RateDecision } from './rate-limiter.js';

/** What every connection shares: built once in main.ts. */
export interface GatewayContext {
  config: GatewayConfig;
  logger: Logger;
  storage: Storage;
  urls: DownloadUrls;
  authenticator: Authenticator;
  jobs: JobLifecycle;
}

export class ClientConnection implements JobHolder {
  private logger: Logger | null = null;

  constructor(
    readonly socket: ClientSocket,
    private readonly ctx: GatewayContext,
    readonly principal: Principal,
    /** The `traceparent` the client sent on the upgrade, if any: its jobs join that trace. */
    private readonly parentTrace: TraceContext | null = null,
  ) {}

  get id(): string {
    return this.socket.id;
  }

  /** The connection's logger, made when something is first logged for it (most pings and idle connections never are). */
  get log(): Logger {
    return (this.logger ??= this.ctx.logger.child({ conn_id: this.socket.id, client: this.principal.id }));
  }

  /** The message that was just dropped exceeded WS_MAX_MESSAGES_PER_SECOND. */
  sendRateLimited(perSecond: number): void {
    this.send(
      errorMessageFor(
        null,
        errors.rateLimited(`more than ${perSecond} messages a second (WS_MAX_MESSAGES_PER_SECOND); messages are being dropped`),
      ),
    );
  }

  /**
   * A text frame (its bytes are only valid during this call). One over
   * WS_MAX_TEXT_SIZE closes the connection (1009) after a VALIDATION_ERROR:
   * uWebSockets.js has one payload limit for all frames, so it was buffered
   * up to WS_MAX_SIZE before it got here, and a client sending such frames
   * is not speaking the protocol.
   */
  onText(bytes: Uint8Array): void {
    const max = this.ctx.config.wsMaxTextSizeBytes;
    if (bytes.length > max) {
      this.send(
        errorMessageFor(
          null,
          errors.validation(`text messages may be at most ${max} bytes (WS_MAX_TEXT_SIZE); this one has ${bytes.length}`),
        ),
      );
      this.log.warn({ bytes: bytes.length, limit: max }, 'closing a connection that sent a text message over WS_MAX_TEXT_SIZE');
      this.socket.close(CloseCode.MESSAGE_TOO_BIG, 'text message over WS_MAX_TEXT_SIZE');
      return;
    }
    const parsed = parseClientMessage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    if (!parsed.ok) {
      this.send(errorMessageFor(parsed.jobId, parsed.error));
      return;
    }
    const message = parsed.message;
    switch (message.type) {
      case 'ping':
        this.send({ type: 'pong' });
        return;
      case 'cancel_job':
        this.ctx.jobs.cancel(this, message.job_id);
        return;
      case 'resume_job':
        this.ctx.jobs.resume(this, message);
        return;
      case 'start_job':
        this.ctx.jobs.start(this, message, this.parentTrace);
        return;
    }
  }

  /**
   * A binary frame (its bytes are only valid during this call): an upload.
   * Every frame costs rate-limit budget before anything else is done with it;
   * `take` charges it and says whether it may go on. A non-empty chunk of an
   * upload in progress costs chunkCost (the upload window paces its bytes);
   * a frame refused here is dropped, and an upload that loses a chunk fails
   * at the next one (out of order).
   */
  onBinary(bytes: Uint8Array, take: (cost: number) => RateDecision): RateDecision {
    let decoded;
    try {
      decoded = decodeUploadFrame(bytes);
    } catch (err) {
      const decision = take(1);
      if (decision === 'ok') this.send(errorMessageFor(null, err));
      return decision;
    }
    const { header, payload } = decoded;
    const decision = take(payload.length > 0 && this.ctx.jobs.chunkInProgress(this, header) ? chunkCost(payload.length) : 1);
    // copied now: uWS reuses the frame's memory after the callback returns, and staging may keep the payload
    if (decision === 'ok') this.ctx.jobs.upload(this, header, Buffer.copyBytesFrom(payload));
    return decision;
  }

  /** The socket closed: uploads are dropped, submitted jobs run on for a later `resume_job`. */
  onClose(): void {
    this.ctx.jobs.detach(this);
  }

  private send(message: ServerMessage): void {
    this.socket.sendJson(message);
  }
}
