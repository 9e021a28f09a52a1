/**
 * A job's durable facts in the shared storage, so that no gateway or worker
 * has to remember them: the gateway's record (owner, resume digest), the
 * worker's coarse state and final result, and the cancellation marker. Any
 * gateway answers `resume_job` from these. Layout: `storageKeys` in jobs.ts.
 */
import type { z } from 'zod';
import {
  type FinalReply,
  type JobRecord,
  jobRecord,
  type JobResult,
  jobResult,
  type JobState,
  jobState,
  type OutputsByKey,
  storageKeys,
  type TenantIndexEntry,
  tenantIndexEntry,
} from '../jobs.js';
import { retryTransient } from '../retry.js';
import { sha256Hex } from './hash.js';
import { readJson, type Storage, StorageError, writeJson } from './storage/storage.js';

/** A tenant's queue-name key: 16 hex digits of its SHA-256 (any string is a tenant; names stay short and safe). */
export function tenantKey(tenant: string): string {
  return sha256Hex(tenant).slice(0, 16);
}

async function readParsed<T>(storage: Storage, key: string, schema: z.ZodType<T>): Promise<T | null> {
  const raw = await readJson(storage, key);
  if (raw === null) return null;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new StorageError(`${key} does not hold what it should: ${parsed.error.message}`, { kind: 'internal' });
  return parsed.data;
}

/**
 * The record and result are retried on transient failures for the retry
 * budget (a gateway cannot accept a job, nor a worker end one, without
 * them); the state and the markers are best effort, one attempt.
 */
export class JobStore {
  constructor(
    readonly storage: Storage,
    /** TRANSIENT_RETRY_SECONDS, ms. */
    private readonly retryBudgetMs = 0,
  ) {}

  private patiently<T>(step: () => Promise<T>): Promise<T> {
    return retryTransient(step, { budgetMs: this.retryBudgetMs });
  }

  writeRecord(record: JobRecord): Promise<void> {
    return this.patiently(() => writeJson(this.storage, storageKeys.record(record.job_id), record));
  }

  readRecord(jobId: string): Promise<JobRecord | null> {
    return this.patiently(() => readParsed(this.storage, storageKeys.record(jobId), jobRecord));
  }

  /** Best effort (state is a courtesy for resuming clients). */
  writeState(jobId: string, state: Omit<JobState, 'updated_at'>): Promise<void> {
    return writeJson(this.storage, storageKeys.state(jobId), { ...state, updated_at: new Date().toISOString() });
  }

  readState(jobId: string): Promise<JobState | null> {
    return readParsed(this.storage, storageKeys.state(jobId), jobState);
  }

  /**
   * Stored before the final reply is published, so a gateway that missed the reply still finds it. `inline`:
   * outputs stored in the result itself (`jobResult`); `patient: false` for a caller that retries itself (one attempt).
   */
  writeResult(reply: FinalReply, inline?: OutputsByKey, { patient = true } = {}): Promise<void> {
    const result: JobResult = { reply, finished_at: new Date().toISOString(), ...(inline ? { inline } : {}) };
    const write = () => writeJson(this.storage, storageKeys.result(reply.job_id), result);
    return patient ? this.patiently(write) : write();
  }

  /** The stored result; `patient: false` for a look that must not hold anything up (one attempt). */
  readResult(jobId: string, { patient = true } = {}): Promise<JobResult | null> {
    const read = () => readParsed(this.storage, storageKeys.result(jobId), jobResult);
    return patient ? this.patiently(read) : read();
  }

  markCancelled(jobId: string): Promise<void> {
    return this.patiently(() => this.storage.put(storageKeys.cancelled(jobId), new Uint8Array(0)));
  }

  /** One attempt: a store that cannot answer counts as "not cancelled" for the caller to decide. */
  isCancelled(jobId: string): Promise<boolean> {
    return this.storage.exists(storageKeys.cancelled(jobId));
  }

  /** Removes everything of the job (inputs, outputs, record, result). */
  remove(jobId: string): Promise<void> {
    return this.storage.deletePrefix(storageKeys.jobPrefix(jobId));
  }

  /**
   * Removes the job's files named here (its inputs and outputs) and the
   * store's own (record, state, result, cancel marker) without listing the
   * job's folder where that costs (S3's priciest request); a key outside the
   * job's folder is ignored. On S3 a file it does not name stays for the
   * storage sweeper.
   */
  removeKnown(jobId: string, files: readonly string[]): Promise<void> {
    const own = [storageKeys.record(jobId), storageKeys.state(jobId), storageKeys.result(jobId), storageKeys.cancelled(jobId)];
    return this.storage.deleteFolder(storageKeys.jobPrefix(jobId), [...files, ...own]);
  }

  /** Records that a tenant's queue exists, for workers that start later. */
  registerTenant(entry: TenantIndexEntry): Promise<void> {
    return writeJson(this.storage, storageKeys.tenantIndex(entry.tenant_key), entry);
  }

  /** Every registered tenant queue (from the listing alone: names are read on demand), with when it was last registered. */
  async tenantIndex(): Promise<{ key: string; registeredAt: Date }[]> {
    const objects = await this.storage.list(storageKeys.tenantIndexPrefix);
    return objects.flatMap((o) => {
      const key = /([0-9a-f]{16})\.json$/.exec(o.key)?.[1];
      return key ? [{ key, registeredAt: o.lastModified }] : [];
    });
  }

  /** The tenant a registered key stands for; null when it is not registered. */
  async tenantName(key: string): Promise<string | null> {
    return (await readParsed(this.storage, storageKeys.tenantIndex(key), tenantIndexEntry))?.tenant ?? null;
  }

  forgetTenant(key: string): Promise<void> {
    return this.storage.delete(storageKeys.tenantIndex(key));
  }
}
