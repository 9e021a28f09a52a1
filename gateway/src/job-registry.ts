/**
 * The gateway's submitted jobs, across connections. A job outlives the
 * connection that started it: when that connection drops, the job runs on,
 * its replies keep arriving (the connection's reply queue stays until its
 * jobs end), and a new connection may pick it up with `resume_job` and the
 * `resume_token` from its `ack`. A result nobody collects waits in storage for
 * RESUME_TTL_SECONDS, then is deleted.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { JobReply, StartJobMessage } from '@media-foundry/shared';
import type { Logger } from '@media-foundry/shared/node';
import type { ChunkedUpload } from './uploads.js';

export type JobState = 'awaiting_upload' | 'submitting' | 'submitted' | 'delivering' | 'finished';

/** Receives a job's replies: the connection that currently holds the job. */
export interface JobOwner {
  relay(job: TrackedJob, reply: JobReply): void;
  /** Stops holding the job (another connection resumed it). */
  drop(job: TrackedJob): void;
}

/** A connection's reply queue: deleted once the connection is gone and none of its jobs still reports there. */
export interface ReplyRoute {
  jobs: Set<string>;
  closed: boolean;
  remove(): Promise<void>;
}

/** The binary frames an upload job waits for. */
export interface PendingUploads {
  /** The names `input.filenames` listed (in job order), or null: one frame, any name. */
  expected: string[] | null;
  /** Staged so far: file name → storage key. */
  staged: Map<string, string>;
  /** Names whose frames arrived and are being written to storage. */
  staging: Set<string>;
  /** Files arriving in chunks, by name, until their final chunk is stored. */
  chunked: Map<string, ChunkedUpload>;
  /** Bytes received so far, all files (against MAX_FILE_SIZE_MB and the declared size). */
  bytes: number;
}

/** A job: the client's id outside, a unique internal id towards workers and storage. */
export interface TrackedJob {
  clientId: string;
  internalId: string;
  /** Who the job belongs to (API key, JWT subject, or `conn:<id>` with auth off). */
  principalId: string;
  request: StartJobMessage;
  state: JobState;
  /** The connection holding the job now; null while nobody is connected to it. */
  owner: JobOwner | null;
  route: ReplyRoute | null;
  /** Replies that arrived before the client was told the job was accepted; relayed right after. */
  held: JobReply[];
  /** The last progress relayed (a redelivered run's progress never sends the client backwards). */
  progress: { percentage: number; stage: string } | null;
  /** The final reply, kept for a client that resumes after the job ended. */
  final: JobReply | null;
  uploads: PendingUploads | null;
  receivedAt: number;
  /** W3C traceparent this job's AMQP message carries (its trace id is in every log line). */
  traceparent: string;
  /** SHA-256 of the secret half of the resume token. */
  resumeDigest: Buffer;
  expiry: NodeJS.Timeout | null;
  log: Logger;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** A resume token `<internal id>.<secret>` and the digest kept of it. */
export function newResumeToken(internalId: string): { token: string; digest: Buffer } {
  const secret = randomBytes(24).toString('base64url');
  return { token: `${internalId}.${secret}`, digest: sha256(secret) };
}

export class JobRegistry {
  private readonly jobs = new Map<string, TrackedJob>();

  add(job: TrackedJob): void {
    this.jobs.set(job.internalId, job);
  }

  get(internalId: string): TrackedJob | undefined {
    return this.jobs.get(internalId);
  }

  delete(job: TrackedJob): void {
    if (job.expiry) clearTimeout(job.expiry);
    job.expiry = null;
    if (this.jobs.get(job.internalId) === job) this.jobs.delete(job.internalId);
  }

  /** The job a resume token names, if the token is right (checked in constant time). */
  byToken(token: string): TrackedJob | null {
    const dot = token.indexOf('.');
    if (dot <= 0) return null;
    const job = this.jobs.get(token.slice(0, dot));
    if (!job) return null;
    return timingSafeEqual(sha256(token.slice(dot + 1)), job.resumeDigest) ? job : null;
  }

  get size(): number {
    return this.jobs.size;
  }
}
