/**
 * Deletes by name, gathered across callers: every finished job used to cost
 * one DeleteObjects request of its own; keys asked for within `windowMs` of
 * each other now go out together (up to `maxKeys` a request). A key the
 * store refuses for a reason that passes (SlowDown, InternalError) goes
 * again after a pause of `windowMs`, up to `attempts` tries in all; so does
 * a whole request that failed transiently. Each caller hears when all of
 * its keys are gone, or why one is not.
 */
import { StorageError } from './storage.js';

/** A key the store did not delete, and why (classified). */
export interface KeyFailure {
  key: string;
  error: StorageError;
}

/** Deletes `keys` in one request: the keys it refused (none: all gone); rejects when the request itself failed. */
export type DeleteRequest = (keys: string[]) => Promise<KeyFailure[]>;

export interface DeleteBatcherOptions {
  /** How long keys gather before their request goes, ms; a key refused for a passing reason waits this long before its next try. */
  windowMs: number;
  /** Most keys in one request (S3: 1000). */
  maxKeys: number;
  /** Tries per key, the first included, before a transient refusal is final. */
  attempts: number;
}

/** One caller's wait: how many of its keys are still to go, and the first refusal among them. */
interface Waiter {
  left: number;
  error: StorageError | null;
  resolve(): void;
  reject(err: StorageError): void;
}

interface PendingKey {
  key: string;
  waiters: Waiter[];
  tries: number;
}

export class DeleteBatcher {
  /** Keys waiting for the next request, by key (two callers naming one key share its request). */
  private pending = new Map<string, PendingKey>();
  private timer: NodeJS.Timeout | null = null;
  /** Keys refused for a reason that passes, waiting out their pause before they join `pending`. */
  private pausing = new Map<string, PendingKey>();
  private pauseTimer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly request: DeleteRequest,
    private readonly options: DeleteBatcherOptions,
  ) {}

  /** Resolves once every key is deleted; rejects with the first key's failure once every key was tried. */
  delete(keys: readonly string[]): Promise<void> {
    const unique = [...new Set(keys)];
    if (unique.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { left: unique.length, error: null, resolve, reject };
      for (const key of unique) {
        const entry = this.pending.get(key) ?? this.pausing.get(key);
        if (entry) entry.waiters.push(waiter);
        else this.pending.set(key, { key, waiters: [waiter], tries: 0 });
      }
      this.schedule();
    });
  }

  /**
   * Sends everything gathered now, and waits for every request, retries
   * (after their pause) included: before the process exits. A delete asked
   * for after it returned waits for its window as usual.
   */
  async flush(): Promise<void> {
    while (this.pending.size > 0 || this.pausing.size > 0 || this.inFlight.size > 0) {
      this.sendPending();
      if (this.inFlight.size > 0) await Promise.all(this.inFlight);
      else await new Promise((resolve) => setTimeout(resolve, this.options.windowMs)); // a pause ends meanwhile
    }
  }

  private schedule(): void {
    if (this.pending.size >= this.options.maxKeys) this.sendPending();
    else if (this.pending.size > 0 && !this.timer) {
      this.timer = setTimeout(() => this.sendPending(), this.options.windowMs);
      this.timer.unref(); // a process that exits with deletes gathering leaves them to the storage sweeper
    }
  }

  private sendPending(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const entries = [...this.pending.values()];
    this.pending = new Map();
    for (let i = 0; i < entries.length; i += this.options.maxKeys) {
      const sent = this.send(entries.slice(i, i + this.options.maxKeys)).finally(() => this.inFlight.delete(sent));
      this.inFlight.add(sent);
    }
  }

  private async send(batch: PendingKey[]): Promise<void> {
    for (const entry of batch) entry.tries += 1;
    let refused: Map<string, StorageError>;
    try {
      const failures = await this.request(batch.map((e) => e.key));
      refused = new Map(failures.map((f) => [f.key, f.error]));
      // a refusal that names none of the keys sent could be any of them
      const unnamed = failures.find((f) => !batch.some((e) => e.key === f.key));
      if (unnamed) refused = new Map(batch.map((e) => [e.key, unnamed.error]));
    } catch (err) {
      const error = err instanceof StorageError ? err : new StorageError(String(err), { kind: 'internal', cause: err });
      refused = new Map(batch.map((e) => [e.key, error]));
    }
    for (const entry of batch) {
      const error = refused.get(entry.key);
      if (!error) this.settle(entry, null);
      else if (error.kind === 'transient' && entry.tries < this.options.attempts) this.pause(entry);
      else this.settle(entry, error);
    }
  }

  /** A key to try again once `windowMs` has passed (what SlowDown asks for), with whatever has gathered by then. */
  private pause(entry: PendingKey): void {
    // a key asked for again meanwhile already waits for a request: both callers hear of that one
    const waiting = this.pending.get(entry.key) ?? this.pausing.get(entry.key);
    if (waiting) {
      waiting.waiters.push(...entry.waiters);
      return;
    }
    this.pausing.set(entry.key, entry);
    if (this.pauseTimer) return;
    this.pauseTimer = setTimeout(() => {
      this.pauseTimer = null;
      for (const paused of this.pausing.values()) this.pending.set(paused.key, paused);
      this.pausing = new Map();
      this.sendPending();
    }, this.options.windowMs);
    this.pauseTimer.unref();
  }

  private settle(entry: PendingKey, error: StorageError | null): void {
    for (const waiter of entry.waiters) {
      waiter.error ??= error;
      waiter.left -= 1;
      if (waiter.left > 0) continue;
      if (waiter.error) waiter.reject(waiter.error);
      else waiter.resolve();
    }
  }
}
