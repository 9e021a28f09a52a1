import type { Readable } from 'node:stream';
/**
 * The job lifecycle against fakes of everything around it — a recording
 * socket, publisher and reply router, a real JobStore on a temp directory —
 * for the races a real stack hits only by chance: a resume while the final
 * reply arrives, a cancel while resuming, two connections resuming one job,
 * another gateway claiming a job, a connection that leaves mid-submission.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CompletedReply,
  decodeUploadFrame,
  jobMessage,
  type JobRecord,
  type JobMessage,
  loadGatewayConfig,
  MiB,
  PROGRESS_INTERVAL_MS,
  type ReplyExchangeMessage,
  startJobMessage,
  type StartJobMessage,
  storageKeys,
  topology,
} from '@media-foundry/shared';
import { createLogger, createRegistry, FsStorage, JobStore, sha256Hex, tenantKey, waitFor } from '@media-foundry/shared/node';
import { outputMetadata, useTempDir } from '@media-foundry/test-support';
import { ByteBudget } from '../byte-budget.js';
import type { ClientSocket } from '../client-socket.js';
import { createDownloadUrls } from '../download-urls.js';
import { createGatewayMetrics } from '../metrics.js';
import { QueueMissingError } from '../publisher.js';
import type { JobHolder } from './job.js';
import { JobLifecycle } from './lifecycle.js';
import type { ReplyFollower } from './reply-router.js';
import { keptUntil } from '../storage-sweeper.js';
import { tokenJobId } from './resume-token.js';

const logger = createLogger('test', 'silent');

/** start_job as the gateway gets it: checked by the shared schema, its input normalised. */
function startJob(fields: Record<string, unknown>): StartJobMessage {
  return startJobMessage.parse({ type: 'start_job', options: {}, ...fields });
}
const t = topology('test');

/** A client socket that records what it is sent. */
class FakeSocket implements ClientSocket {
  closed = false;
  readonly json: (Record<string, unknown> & { type: string })[] = [];
  readonly files: { header: Record<string, unknown>; bytes: number }[] = [];
  constructor(readonly id: string) {}
  sendJson(message: object): void {
    if (!this.closed) this.json.push(message as Record<string, unknown> & { type: string });
  }
  sendBinary(frame: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error('closed'));
    const { header, payload } = decodeUploadFrame(frame);
    this.files.push({ header: header as unknown as Record<string, unknown>, bytes: payload.length });
    return Promise.resolve();
  }
  /** While true, what was sent stays in the send buffer: flushed() waits, and rejects when the socket closes. */
  holding = false;
  private flushWaiters: (() => void)[] = [];
  flushed(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('closed'));
    if (!this.holding) return Promise.resolve();
    return new Promise((resolve, reject) => this.flushWaiters.push(() => (this.closed ? reject(new Error('closed')) : resolve())));
  }
  /** The send buffer empties (holding = false), or the socket closes with it full (`close`). */
  release(): void {
    this.holding = false;
    for (const wake of this.flushWaiters.splice(0)) wake();
  }
  close(): void {
    this.closed = true;
    for (const wake of this.flushWaiters.splice(0)) wake();
  }
  async sendBinaryWhenWritable(make: () => Promise<Uint8Array>): Promise<void> {
    return this.sendBinary(await make());
  }
  async sendFragmentsWhenWritable(next: () => Promise<{ piece: Uint8Array; last: boolean }>): Promise<void> {
    const pieces: Uint8Array[] = [];
    for (let last = false; !last;) {
      const made = await next();
      pieces.push(made.piece);
      last = made.last;
    }
    return this.sendBinary(Buffer.concat(pieces));
  }
  of(jobId: string, type?: string) {
    return this.json.filter((m) => m.job_id === jobId && (type === undefined || m.type === type));
  }
}

function holder(id: string, principal = 'key:owner'): JobHolder & { socket: FakeSocket } {
  return { id, principal: { id: principal, kind: 'api_key' }, socket: new FakeSocket(id), log: logger };
}

/** A deferred promise the test settles. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

const tick = () => new Promise((r) => setTimeout(r, 10));
/** Waits until the store holds nothing under `prefix` (files are removed in the background). */
async function emptied(storage: FsStorage, prefix: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await storage.list(prefix)).length > 0) {
    if (Date.now() > deadline) throw new Error(`${prefix} still holds ${JSON.stringify(await storage.list(prefix))}`);
    await tick();
  }
}
/**
 * The files `files` lists once the background writes and removals have
 * settled: an aborted write may create its .partial file after a look that
 * found nothing, and removes it when it fails, so "nothing" must hold for a while.
 */
async function filesLeft<T>(files: () => Promise<T[]>, ms = 10_000): Promise<T[]> {
  const deadline = Date.now() + ms;
  let emptySince: number | null = null;
  while (Date.now() < deadline) {
    if ((await files()).length > 0) emptySince = null;
    else if (Date.now() - (emptySince ??= Date.now()) > 500) break;
    await tick();
  }
  return files();
}
const until = (check: () => boolean, ms = 10_000) => waitFor(check, ms, 'condition', 10);

describe('JobLifecycle', () => {
  const dir = useTempDir('lifecycle-test-', 'test');
  let store: JobStore;
  let storage: FsStorage;
  let published: { queue: string; job: JobMessage }[];
  let broadcasts: unknown[];
  let notices: { key: string; message: ReplyExchangeMessage }[];
  let followed: Map<string, number>;
  let followGate: Promise<void> | null;
  /** While set, publishes wait for it (and fail when it rejects). */
  let publishGate: Promise<void> | null;
  /** Publishes begun (waiting at the gate or done). */
  let publishCalls: number;
  let queueDepth: number;
  /** Publishes still to come back unroutable (their tenant queue gone), and the tenants declared lost and prepared since. */
  let missingQueues: number;
  let lost: string[];
  let prepares: number;
  let gatewayCount = 0;
  /** The last lifecycle's GATEWAY_BUFFER_BUDGET_MB. */
  let budget: ByteBudget;

  /** A lifecycle on `config`; `budgetBytes` replaces GATEWAY_BUFFER_BUDGET_MB with a budget finer than whole MiB. */
  function lifecycle(config = {}, budgetBytes?: number) {
    gatewayCount += 1;
    const parsed = loadGatewayConfig({ RESUME_TTL_SECONDS: '600', MAX_QUEUED_JOBS_PER_CLIENT: '3', ...config });
    budget = new ByteBudget(budgetBytes ?? parsed.gatewayBufferBudgetBytes);
    const router: ReplyFollower = {
      follow: async (key) => {
        followed.set(key, (followed.get(key) ?? 0) + 1);
        if (followGate) await followGate;
      },
      unfollow: (key) => {
        const n = (followed.get(key) ?? 0) - 1;
        if (n > 0) followed.set(key, n);
        else followed.delete(key);
      },
    };
    return new JobLifecycle({
      config: parsed,
      topology: t,
      gatewayId: `gw${gatewayCount}`,
      storage,
      store,
      tenants: {
        prepare: (tenant) => {
          prepares += 1;
          return Promise.resolve({ key: tenantKey(tenant), queue: t.tenantQueue(tenantKey(tenant)), depth: queueDepth });
        },
        lost: (key) => void lost.push(key),
      },
      publisher: {
        publish: async (queue, job) => {
          publishCalls += 1;
          if (publishGate) await publishGate;
          if (missingQueues > 0) {
            missingQueues -= 1;
            throw new QueueMissingError(queue);
          }
          published.push({ queue, job });
        },
        broadcast: (m) => {
          broadcasts.push(m);
          return Promise.resolve();
        },
        notify: (key, message) => {
          notices.push({ key, message });
          return Promise.resolve();
        },
      },
      router,
      urls: createDownloadUrls(storage, () => 'http://gw'),
      budget,
      metrics: createGatewayMetrics(createRegistry('gateway'), {
        connections: () => 0,
        activeJobs: () => 0,
        bufferedBytes: () => budget.used(),
        sweeperLease: () => false,
        queueDepth: () => Promise.resolve(0),
        brokerConnected: () => true,
        brokerReconnects: () => 0,
      }),
      logger,
    });
  }

  beforeEach(async () => {
    storage = new FsStorage(dir());
    store = new JobStore(storage);
    published = [];
    broadcasts = [];
    notices = [];
    followed = new Map();
    followGate = null;
    publishGate = null;
    publishCalls = 0;
    queueDepth = 0;
    missingQueues = 0;
    lost = [];
    prepares = 0;
  });

  /** Submits a URL job on `gw` and returns its internal id and resume token. */
  async function submitted(gw: JobLifecycle, h: ReturnType<typeof holder>, clientId: string) {
    gw.start(h, startJob({ job_id: clientId, operation: 'probe', input: { source: 'url', url: 'https://example.com/a.mp4' } }), null);
    await until(() => h.socket.of(clientId, 'ack').length === 1);
    const id = published.at(-1)!.job.job_id;
    return { id, token: String(h.socket.of(clientId, 'ack')[0]!.resume_token) };
  }

  /** Job `j1` submitted on a gateway of its own by client c1, which then went away: its id and resume token. */
  async function abandoned() {
    const gw = lifecycle();
    const a = holder('c1');
    const job = await submitted(gw, a, 'j1');
    gw.detach(a);
    return job;
  }

  /** c2 resumes `j1` on a new gateway, held before the job's reply binding is made until `release()`. */
  function heldResume(token: string) {
    const gw = lifecycle();
    const b = holder('c2');
    const bound = gate();
    followGate = bound.opened;
    gw.resume(b, { type: 'resume_job', job_id: 'j1', resume_token: token });
    const release = () => {
      followGate = null;
      bound.open();
    };
    return { gw, b, release };
  }

  /** Record writes storage holds until `refuse()`, which refuses the first with SlowDown (later ones: `later`, default held too). */
  function refusedRecord(later?: (record: JobRecord) => Promise<void>) {
    let refuse!: () => void;
    let writes = 0;
    store.writeRecord = (record) => {
      writes += 1;
      if (writes > 1 && later) return later(record);
      return new Promise((_, reject) => (refuse = () => reject(new Error('storage (S3) PutObject: SlowDown'))));
    };
    return { refuse: () => refuse(), writes: () => writes };
  }

  /** Cancel markers storage holds until `marked()`, which writes them. */
  function heldMarker() {
    let marked!: () => void;
    const mark = store.markCancelled.bind(store);
    store.markCancelled = (id) => new Promise((resolve) => (marked = () => resolve(mark(id))));
    return () => marked();
  }

  it('publishes job messages the workers parse with the shared schema: URL inputs as given, uploads as stored files', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    const urls = ['https://e.com/a.mp4', 'https://e.com/b.mp4'];
    gw.start(a, startJob({ job_id: 'urls', operation: 'concat', input: { source: 'url', urls } }), null);
    gw.start(a, startJob({ job_id: 'up', operation: 'probe', input: { source: 'upload' } }), null);
    gw.upload(a, { job_id: 'up', filename: 'any.mp4' }, Buffer.from('one'));
    await until(() => published.length === 2);
    const parsed = published.map(({ job }) => jobMessage.parse(JSON.parse(JSON.stringify(job))));
    const byOperation = new Map(parsed.map((m) => [m.operation, m]));
    expect(byOperation.get('concat')!.inputs).toEqual(urls.map((url) => ({ source: 'url', url })));
    expect(byOperation.get('probe')!.inputs).toEqual([
      { source: 'storage', key: expect.stringMatching(/\/input\/any\.mp4$/), filename: 'any.mp4' },
    ]);
  });

  /** What a worker leaves when it finishes: an output and the stored result. */
  async function finished(id: string): Promise<CompletedReply> {
    await storage.put(storageKeys.output(id, 'out.txt'), Buffer.from('result!'));
    const reply: CompletedReply = {
      type: 'completed',
      job_id: id,
      output_metadata: outputMetadata({ format: 'txt', size_bytes: 7 }),
      outputs: [{ filename: 'out.txt', size_bytes: 7, content_type: 'text/plain', key: storageKeys.output(id, 'out.txt') }],
    };
    await store.writeResult(reply);
    return reply;
  }

  it('publishes a URL job into its tenant queue, with a record any gateway can resume from', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    queueDepth = 2;
    const { id, token } = await submitted(gw, a, 'j1');
    expect(published[0]!.queue).toBe(t.tenantQueue(tenantKey('key:owner')));
    expect(published[0]!.job).toMatchObject({ job_id: id, tenant: 'key:owner', operation: 'probe' });
    const record = await store.readRecord(id);
    expect(record).toMatchObject({ job_id: id, client_job_id: 'j1', owner: 'key:owner', tenant: 'key:owner' });
    expect(record!.resume_digest).toBe(sha256Hex(token.slice(token.indexOf('.') + 1)));
    expect(followed.has(id)).toBe(true);
    // two of this client's jobs wait already: this one is third in line
    expect(a.socket.of('j1').map((m) => m.type)).toEqual(['ack', 'progress']);
    expect(a.socket.of('j1', 'progress')[0]).toMatchObject({ stage: 'queued', queue_position: 3 });
    expect(broadcasts).toContainEqual({ type: 'tenant_ready', tenant_key: tenantKey('key:owner') });
  });

  it.each([
    ['localhost', { url: 'http://localhost:8000/a.mp4' }, 'input.url: localhost is a loopback name'],
    ['a literal private IP', { url: 'http://10.1.2.3/a.mp4' }, 'input.url: 10.1.2.3 resolves to 10.1.2.3, a private or reserved address'],
    ['a literal loopback IPv6', { url: 'http://[::1]/a.mp4' }, 'input.url: [::1] resolves to ::1, a private or reserved address'],
    ['the second of several URLs', { urls: ['https://e.com/a', 'http://127.0.0.1/b'] }, 'input.urls[1]: 127.0.0.1 resolves to'],
  ])('refuses %s with VALIDATION_ERROR before ack, publishing nothing', async (_what, input, details) => {
    const gw = lifecycle();
    const a = holder('c1');
    gw.start(a, startJob({ job_id: 'j1', operation: 'url' in input ? 'probe' : 'concat', input: { source: 'url', ...input } }), null);
    await until(() => a.socket.of('j1').length > 0);
    expect(a.socket.of('j1')).toEqual([expect.objectContaining({ type: 'error', code: 'VALIDATION_ERROR' })]);
    expect(String(a.socket.of('j1')[0]!.details)).toContain(details);
    expect(published).toEqual([]);
    expect(gw.size).toBe(0);
  });

  it('accepts a private URL that URL_ALLOWLIST names (by host, address or network)', async () => {
    const gw = lifecycle({ URL_ALLOWLIST: 'localhost, 10.0.0.0/8' });
    const a = holder('c1');
    for (const [id, url] of [
      ['j1', 'http://localhost:8000/a.mp4'],
      ['j2', 'http://10.1.2.3/a.mp4'],
    ] as const) {
      gw.start(a, startJob({ job_id: id, operation: 'probe', input: { source: 'url', url } }), null);
      await until(() => a.socket.of(id, 'ack').length === 1);
    }
    expect(published).toHaveLength(2);
  });

  it('moves a waiting job up as jobs of its tenant leave the queue', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    queueDepth = 2;
    const { id } = await submitted(gw, a, 'j1');
    const key = tenantKey('key:owner');
    expect(followed.has(t.tenantEventsKey(key))).toBe(true);
    gw.onMessage({ type: 'dequeued', tenant_key: key, job_id: 'someone-elses' });
    gw.onMessage({ type: 'dequeued', tenant_key: key, job_id: 'another' });
    // told its place at most every PROGRESS_INTERVAL_MS: the latest one, at the latest once the interval has passed
    const places = () => a.socket.of('j1', 'progress').map((m) => m.queue_position as number);
    await until(() => places().at(-1) === 1);
    expect(places()[0]).toBe(3);
    expect(places()).toEqual([...new Set(places())].sort((x, y) => y - x));
    gw.onMessage({ type: 'dequeued', tenant_key: key, job_id: id });
    gw.onMessage({ type: 'progress', job_id: id, percentage: 0, stage: 'downloading' });
    expect(followed.has(t.tenantEventsKey(key))).toBe(false);
    expect(a.socket.of('j1', 'progress').at(-1)).toMatchObject({ stage: 'downloading' });
  });

  it('tells a job behind a burst that drains fast its place about four times a second, not once per job ahead', async () => {
    const gw = lifecycle({ MAX_QUEUED_JOBS_PER_CLIENT: '100' });
    const a = holder('c1');
    queueDepth = 40;
    const { id } = await submitted(gw, a, 'j1');
    const key = tenantKey('key:owner');
    const places = () => a.socket.of('j1', 'progress').map((m) => m.queue_position as number);
    const dequeued = (jobId: string) => gw.onMessage({ type: 'dequeued', tenant_key: key, job_id: jobId });
    const started = Date.now();
    for (let i = 0; i < 30; i++) dequeued(`ahead-${i}`);
    await until(() => places().at(-1) === 11);
    // quiet for longer than the interval: the next move is told at once, and the moves right after it are held
    await new Promise((r) => setTimeout(r, 4 * PROGRESS_INTERVAL_MS));
    const told = places().length;
    dequeued('ahead-30');
    expect(places().slice(told)).toEqual([10]);
    for (let i = 31; i < 39; i++) dequeued(`ahead-${i}`);
    expect(places().slice(told)).toEqual([10]);
    // the latest place once the interval has passed
    await until(() => places().at(-1) === 2);
    const elapsed = Date.now() - started;
    expect(places()[0]).toBe(41);
    expect(places()).toEqual([...places()].sort((x, y) => y - x));
    // 39 moves: one message each before; now the place at submit, then at most one per PROGRESS_INTERVAL_MS
    expect(places().length - 1).toBeLessThanOrEqual(Math.ceil(elapsed / PROGRESS_INTERVAL_MS) + 1);
    // a place pending when the job starts is never sent after its first step
    dequeued('ahead-last');
    dequeued(id);
    gw.onMessage({ type: 'progress', job_id: id, percentage: 0, stage: 'downloading' });
    await new Promise((r) => setTimeout(r, 2 * PROGRESS_INTERVAL_MS));
    expect(a.socket.of('j1', 'progress').at(-1)).toMatchObject({ stage: 'downloading' });
  });

  it('tells a job far back in line its place once it moved a tenth of the way, each of the last ten', async () => {
    const gw = lifecycle({ MAX_QUEUED_JOBS_PER_CLIENT: '200' });
    const a = holder('c1');
    queueDepth = 99;
    await submitted(gw, a, 'j1');
    const key = tenantKey('key:owner');
    const places = () => a.socket.of('j1', 'progress').map((m) => m.queue_position as number);
    let ahead = 0;
    const move = async (count: number) => {
      // after a quiet interval: only the tenth-of-the-way rule holds a place back
      await new Promise((r) => setTimeout(r, PROGRESS_INTERVAL_MS + 20));
      for (let i = 0; i < count; i++) gw.onMessage({ type: 'dequeued', tenant_key: key, job_id: `ahead-${ahead++}` });
    };
    await move(5); // 95
    await move(4); // 91
    expect(places()).toEqual([100]);
    await move(1); // 90: a tenth of the way, told at once
    expect(places()).toEqual([100, 90]);
    await move(75); // 81 told at once, then held: the latest, 15, once the interval has passed
    await until(() => places().at(-1) === 15);
    for (let i = 0; i < 14; i++) await move(1);
    await until(() => places().at(-1) === 1);
    expect(places()).toEqual([100, 90, 81, 15, 13, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('tells a connection that resumes a waiting job its place once, not again when a held one falls due', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    queueDepth = 2;
    const { token } = await submitted(gw, a, 'j1');
    const key = tenantKey('key:owner');
    // a move within the interval: held
    gw.onMessage({ type: 'dequeued', tenant_key: key, job_id: 'ahead' });
    const b = holder('c2');
    gw.resume(b, { type: 'resume_job', job_id: 'j1', resume_token: token });
    await until(() => b.socket.of('j1', 'progress').length > 0);
    await new Promise((r) => setTimeout(r, 2 * PROGRESS_INTERVAL_MS));
    expect(b.socket.of('j1', 'progress')).toEqual([expect.objectContaining({ stage: 'queued', queue_position: 2 })]);
  });

  it('refuses a job when its client already has MAX_QUEUED_JOBS_PER_CLIENT waiting, and leaves nothing behind', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    queueDepth = 3;
    gw.start(a, startJob({ job_id: 'j1', operation: 'probe', input: { source: 'url', url: 'https://e.com/a' } }), null);
    await until(() => a.socket.of('j1').length > 0);
    expect(a.socket.of('j1')).toEqual([expect.objectContaining({ type: 'error', code: 'RATE_LIMITED' })]);
    expect(published).toEqual([]);
    await until(() => gw.size === 0);
    await emptied(storage, 'jobs/');
    expect(followed.size).toBe(0);
  });

  it('declares the tenant queue again and publishes once more when the job came back because the queue was gone', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    missingQueues = 1;
    await submitted(gw, a, 'j1');
    expect(lost).toEqual([tenantKey('key:owner')]);
    expect(prepares).toBe(2);
    expect(published).toHaveLength(1);
    expect(a.socket.of('j1').map((m) => m.type)).toEqual(['ack', 'progress']);
  });

  it('fails with SUBMIT_FAILED a job that comes back twice (its queue gone again), and leaves nothing behind', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    missingQueues = 2;
    gw.start(a, startJob({ job_id: 'j1', operation: 'probe', input: { source: 'url', url: 'https://e.com/a' } }), null);
    await until(() => a.socket.of('j1').length > 0);
    expect(a.socket.of('j1')).toEqual([expect.objectContaining({ type: 'error', code: 'SUBMIT_FAILED' })]);
    expect(JSON.stringify(a.socket.of('j1')[0])).toContain('does not exist');
    await until(() => gw.size === 0);
    await emptied(storage, 'jobs/');
  });

  it('publishes a job while its record is being stored, and acks only once it is', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    let stored!: () => void;
    const write = store.writeRecord.bind(store);
    store.writeRecord = (record) => new Promise((resolve) => (stored = () => resolve(write(record))));
    gw.start(a, startJob({ job_id: 'j1', operation: 'probe', input: { source: 'url', url: 'https://e.com/a' } }), null);
    await until(() => published.length === 1);
    expect(broadcasts).toContainEqual({ type: 'tenant_ready', tenant_key: tenantKey('key:owner') });
    await tick();
    expect(a.socket.of('j1')).toEqual([]);
    stored();
    await until(() => a.socket.of('j1', 'ack').length === 1);
    expect(await store.readRecord(published[0]!.job.job_id)).not.toBeNull();
  });

  it('withdraws a job published while storage refused its record: SUBMIT_FAILED, no ack, a cancel marker and broadcast', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    const { refuse } = refusedRecord();
    gw.start(a, startJob({ job_id: 'j1', operation: 'probe', input: { source: 'url', url: 'https://e.com/a' } }), null);
    await until(() => published.length === 1);
    refuse();
    await until(() => a.socket.of('j1').length > 0);
    expect(a.socket.of('j1')).toEqual([expect.objectContaining({ type: 'error', code: 'SUBMIT_FAILED' })]);
    expect(JSON.stringify(a.socket.of('j1')[0])).toContain("could not store the job's record: storage (S3) PutObject: SlowDown");
    const id = published[0]!.job.job_id;
    // the worker that takes it skips it (and removes its files); one that runs it already stops
    expect(await store.isCancelled(id)).toBe(true);
    expect(broadcasts).toContainEqual({ type: 'cancel', job_id: id });
    await until(() => gw.size === 0);
    expect(await store.isCancelled(id)).toBe(true);
  });

  it('broadcasts the cancel of a withdrawn job at once, while its cancel marker is still being written', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    const { refuse } = refusedRecord();
    const marked = heldMarker();
    gw.start(a, startJob({ job_id: 'j1', operation: 'probe', input: { source: 'url', url: 'https://e.com/a' } }), null);
    await until(() => published.length === 1);
    refuse();
    const id = published[0]!.job.job_id;
    // a worker running it stops now, not once storage answers the marker's write
    await until(() => broadcasts.some((m) => JSON.stringify(m) === JSON.stringify({ type: 'cancel', job_id: id })));
    expect(a.socket.of('j1')).toEqual([]);
    const cancels = () => broadcasts.filter((m) => JSON.stringify(m) === JSON.stringify({ type: 'cancel', job_id: id })).length;
    await tick();
    expect(cancels()).toBe(1);
    marked();
    await until(() => a.socket.of('j1').length > 0);
    expect(a.socket.of('j1')).toEqual([expect.objectContaining({ type: 'error', code: 'SUBMIT_FAILED' })]);
    expect(await store.isCancelled(id)).toBe(true);
    // and once more after the marker: a worker that took the job in between found none
    expect(cancels()).toBe(2);
  });

  it('relays the result of a job that finished while it was being withdrawn, and stores its record after all', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    const write = store.writeRecord.bind(store);
    let stored!: () => void;
    // the write made once the job turned out to have ended is slow, but goes through
    const { refuse, writes } = refusedRecord((record) => new Promise((resolve) => (stored = () => resolve(write(record)))));
    const marked = heldMarker();
    gw.start(a, startJob({ job_id: 'j1', operation: 'probe', input: { source: 'url', url: 'https://e.com/a' } }), null);
    await until(() => published.length === 1);
    const id = published[0]!.job.job_id;
    refuse();
    await until(() => broadcasts.some((m) => JSON.stringify(m) === JSON.stringify({ type: 'cancel', job_id: id })));
    gw.onMessage(await finished(id)); // it ended before the withdrawal's cancel reached it
    marked();
    await until(() => a.socket.of('j1', 'completed').length === 1);
    expect(a.socket.of('j1', 'error')).toEqual([]);
    await until(() => gw.size === 0);
    expect(writes()).toBe(2);
    // the job's files go once that write has landed, not before it (it would outlive them)
    await tick();
    expect(await storage.exists(storageKeys.result(id))).toBe(true);
    stored();
    await emptied(storage, storageKeys.jobPrefix(id));
  });

  it('relays the result of a job that finished while storage refused its record, instead of withdrawing it', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    const { refuse } = refusedRecord();
    gw.start(a, startJob({ job_id: 'j1', operation: 'probe', input: { source: 'url', url: 'https://e.com/a' } }), null);
    await until(() => published.length === 1);
    const id = published[0]!.job.job_id;
    gw.onMessage(await finished(id)); // a short job, done while the record's write was retried
    refuse();
    await until(() => a.socket.of('j1', 'completed').length === 1);
    await until(() => gw.size === 0);
    expect(a.socket.of('j1', 'error')).toEqual([]);
    expect(a.socket.files).toHaveLength(1);
    expect(await store.isCancelled(id)).toBe(false);
    expect(broadcasts).not.toContainEqual({ type: 'cancel', job_id: id });
  });

  it('relays progress only forwards, then the result once, and removes the files after delivering them', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    const { id } = await submitted(gw, a, 'j1');
    gw.onMessage({ type: 'progress', job_id: id, percentage: 40, stage: 'processing' });
    gw.onMessage({ type: 'progress', job_id: id, percentage: 10, stage: 'processing' }); // a redelivered run
    gw.onMessage({ type: 'progress', job_id: id, percentage: 0, stage: 'retrying', message: 'storage is away' });
    const reply = await finished(id);
    gw.onMessage(reply);
    gw.onMessage(reply); // a duplicate from a second run
    await until(() => a.socket.files.length === 1);
    await until(() => gw.size === 0);
    const progress = a.socket.of('j1', 'progress').slice(1);
    expect(progress.map((m) => [m.stage, m.percentage])).toEqual([
      ['processing', 40],
      ['retrying', 40],
    ]);
    expect(a.socket.of('j1', 'completed')).toHaveLength(1);
    await until(() => followed.size === 0);
    await emptied(storage, storageKeys.jobPrefix(id));
  });

  /** Records how the lifecycle asks the store to remove job files: by name (removeKnown) or by listing the folder (remove). */
  function watchRemovals() {
    const removals: { how: 'known' | 'listed'; id: string; files?: readonly string[] }[] = [];
    const removeKnown = store.removeKnown.bind(store);
    store.removeKnown = (id, files) => {
      removals.push({ how: 'known', id, files });
      return removeKnown(id, files);
    };
    const remove = store.remove.bind(store);
    store.remove = (id) => {
      removals.push({ how: 'listed', id });
      return remove(id);
    };
    return removals;
  }

  /** Job `j1` of client c1, finished, its output handed to a socket that has not sent it on yet (FakeSocket.holding). */
  async function stalledDelivery() {
    const gw = lifecycle();
    const a = holder('c1');
    const removals = watchRemovals();
    const { id, token } = await submitted(gw, a, 'j1');
    a.socket.holding = true;
    gw.onMessage(await finished(id));
    await until(() => a.socket.files.length === 1);
    return { gw, a, removals, id, token };
  }

  it("removes a delivered job's files by name (the outputs its reply names), without listing its folder", async () => {
    const gw = lifecycle();
    const a = holder('c1');
    const removals = watchRemovals();
    const { id } = await submitted(gw, a, 'j1');
    await store.writeState(id, { stage: 'processing', percentage: 50 });
    gw.onMessage(await finished(id));
    await until(() => gw.size === 0);
    await emptied(storage, storageKeys.jobPrefix(id));
    expect(removals).toEqual([{ how: 'known', id, files: [storageKeys.output(id, 'out.txt')] }]);
  });

  it("keeps a delivered job's files for a resume when its connection drops before the output has left the send buffer", async () => {
    const { gw, a, removals, id } = await stalledDelivery();
    await new Promise((r) => setTimeout(r, 50));
    expect(gw.size).toBe(1); // not delivered while the output waits in the buffer
    a.socket.close();
    gw.detach(a);
    await until(() => gw.size === 0);
    expect(removals).toEqual([]);
    expect((await storage.list(storageKeys.jobPrefix(id))).length).toBeGreaterThan(0);
    // the output goes to the connection that resumes the job
    const b = holder('c2');
    gw.resume(b, { type: 'resume_job', job_id: 'j1', resume_token: String(a.socket.of('j1', 'ack')[0]!.resume_token) });
    await until(() => b.socket.files.length === 1);
    await until(() => gw.size === 0);
    await emptied(storage, storageKeys.jobPrefix(id));
  });

  it('delivers a job again on a connection that resumes it during its delivery elsewhere; the old delivery removes nothing', async () => {
    const { gw, a, removals, id, token } = await stalledDelivery();
    // the client gives the stalled connection up and resumes on a new one, before the gateway has noticed
    const b = holder('c2');
    b.socket.holding = true;
    gw.resume(b, { type: 'resume_job', job_id: 'j1', resume_token: token });
    await until(() => b.socket.files.length === 1);
    expect(b.socket.of('j1', 'completed')).toHaveLength(1);
    // the old connection's buffer empties after all, while the new delivery still runs: nothing happens
    a.socket.release();
    await new Promise((r) => setTimeout(r, 50));
    expect(gw.size).toBe(1);
    expect(removals).toEqual([]);
    expect(a.socket.of('j1', 'error')).toEqual([]);
    // this gateway's own claim for the new connection, echoed back by the exchange, changes nothing either
    gw.onMessage({ type: 'claimed', job_id: id, gateway_id: `gw${gatewayCount}`, connection_id: 'c2' });
    gw.onMessage({ type: 'claimed', job_id: id, gateway_id: `gw${gatewayCount}`, connection_id: 'c1' });
    expect(gw.size).toBe(1);
    b.socket.release();
    await until(() => gw.size === 0);
    await emptied(storage, storageKeys.jobPrefix(id));
    expect(removals).toEqual([{ how: 'listed', id }]); // the resumed delivery's
  });

  it('lets a delivery go, removing nothing, when another gateway resumes the job meanwhile', async () => {
    const { gw, a, removals, id } = await stalledDelivery();
    gw.onMessage({ type: 'claimed', job_id: id, gateway_id: 'elsewhere', connection_id: 'x' });
    expect(gw.size).toBe(0);
    a.socket.release();
    await tick();
    expect(removals).toEqual([]); // the other gateway's delivery removes them
    expect((await storage.list(storageKeys.jobPrefix(id))).length).toBeGreaterThan(0);
  });

  it("removes a delivered job's files once its output has left the send buffer", async () => {
    const { gw, a, removals, id } = await stalledDelivery();
    await new Promise((r) => setTimeout(r, 50));
    expect(removals).toEqual([]);
    a.socket.release();
    await until(() => gw.size === 0);
    await emptied(storage, storageKeys.jobPrefix(id));
    expect(removals).toHaveLength(1);
  });

  it("names an upload's staged inputs too when it removes its files", async () => {
    const gw = lifecycle();
    const a = holder('c1');
    const removals = watchRemovals();
    gw.start(a, startJob({ job_id: 'up', operation: 'probe', input: { source: 'upload' } }), null);
    gw.upload(a, { job_id: 'up', filename: 'clip.mp4' }, Buffer.from('bytes'));
    await until(() => published.length === 1);
    const id = published[0]!.job.job_id;
    gw.onMessage(await finished(id));
    await until(() => gw.size === 0);
    await emptied(storage, storageKeys.jobPrefix(id));
    expect(removals).toEqual([{ how: 'known', id, files: [storageKeys.input(id, 'clip.mp4'), storageKeys.output(id, 'out.txt')] }]);
  });

  it('lists the folder of a job it resumed to remove its files: it does not know its inputs', async () => {
    const { id, token } = await abandoned();
    await storage.put(storageKeys.input(id, 'clip.mp4'), Buffer.from('an upload'));
    await finished(id);
    const removals = watchRemovals();
    const gw = lifecycle();
    const b = holder('c2');
    gw.resume(b, { type: 'resume_job', job_id: 'j1', resume_token: token });
    await until(() => b.socket.of('j1', 'completed').length === 1);
    await until(() => gw.size === 0);
    await emptied(storage, storageKeys.jobPrefix(id));
    expect(removals).toEqual([{ how: 'listed', id }]);
  });

  it('resumes on a gateway that never saw the job: state first, then the rest, for the right token only', async () => {
    const gwA = lifecycle();
    const gwB = lifecycle();
    const a = holder('c1');
    const { id, token } = await submitted(gwA, a, 'j1');
    await store.writeState(id, { stage: 'processing', percentage: 55 });
    gwA.detach(a);
    expect(gwA.size).toBe(0);

    const b = holder('c2');
    gwB.resume(b, { type: 'resume_job', job_id: 'j1', resume_token: `${id}.wrong` });
    gwB.resume(b, { type: 'resume_job', job_id: 'other', resume_token: token });
    const stranger = holder('c3', 'key:stranger');
    gwB.resume(stranger, { type: 'resume_job', job_id: 'j1', resume_token: token });
    await until(() => b.socket.json.length === 2 && stranger.socket.json.length === 1);
    const refusals = [...b.socket.json, ...stranger.socket.json];
    expect(new Set(refusals.map((m) => `${m.code}|${m.message}|${m.details}`)).size).toBe(1);
    expect(refusals[0]).toMatchObject({ type: 'error', code: 'RESUME_FAILED' });
    // a refused resume takes the job from nobody
    expect(notices.filter((n) => n.message.type === 'claimed')).toEqual([]);

    b.socket.json.length = 0;
    gwB.resume(b, { type: 'resume_job', job_id: 'j1', resume_token: token });
    await until(() => b.socket.json.length === 1, 4000);
    expect(b.socket.json[0]).toMatchObject({ type: 'progress', job_id: 'j1', stage: 'processing', percentage: 55 });
    expect(notices).toContainEqual({
      key: id,
      message: { type: 'claimed', job_id: id, gateway_id: `gw${gatewayCount}`, connection_id: 'c2' },
    });
    gwB.onMessage(await finished(id));
    await until(() => b.socket.files.length === 1);
    expect(b.socket.of('j1', 'completed')).toHaveLength(1);
  });

  it('gives a job resumed late in RESUME_TTL_SECONDS download URLs that end when the sweeper removes its files', async () => {
    const config = { RESUME_TTL_SECONDS: '600', RESULT_URL_TTL_SECONDS: '60' };
    const gwA = lifecycle(config);
    const a = holder('c1');
    gwA.start(
      a,
      startJob({ job_id: 'u1', operation: 'probe', delivery_method: 'url', input: { source: 'url', url: 'https://example.com/a.mp4' } }),
      null,
    );
    await until(() => a.socket.of('u1', 'ack').length === 1);
    const id = published.at(-1)!.job.job_id;
    const token = String(a.socket.of('u1', 'ack')[0]!.resume_token);
    gwA.detach(a);
    await finished(id);
    // it finished 590 s ago: its files go 600 s after that (max of the two TTLs), not 60 s after the resume
    const finishedAt = Date.now() - 590_000;
    const stored = (await store.readResult(id))!;
    await storage.put(storageKeys.result(id), Buffer.from(JSON.stringify({ ...stored, finished_at: new Date(finishedAt).toISOString() })));
    const gwB = lifecycle(config);
    const b = holder('c2');
    gwB.resume(b, { type: 'resume_job', job_id: 'u1', resume_token: token });
    await until(() => b.socket.of('u1', 'completed').length === 1);
    const [output] = b.socket.of('u1', 'completed')[0]!.outputs as { url: string }[];
    const expires = Number(new URL(output!.url).searchParams.get('expires')) * 1000;
    expect(expires).toBeLessThanOrEqual(keptUntil(finishedAt, { resumeTtlMs: 600_000, urlTtlMs: 60_000 }));
    expect(expires).toBeGreaterThan(Date.now());
  });

  it('delivers exactly one result when the final reply arrives while a resume reads storage', async () => {
    const { id, token } = await abandoned();
    const reply = await finished(id);
    const { gw: gwB, b, release } = heldResume(token);
    await tick();
    gwB.onMessage(reply); // the worker's reply, through the new binding, before storage was read
    release();
    await until(() => b.socket.files.length >= 1);
    await until(() => gwB.size === 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(b.socket.of('j1', 'completed')).toHaveLength(1);
    expect(b.socket.files).toHaveLength(1);
    expect(b.socket.of('j1', 'error')).toEqual([]);
  });

  it('applies a cancel that comes while the job is being resumed, once it is', async () => {
    const { id, token } = await abandoned();
    const { gw: gwB, b, release } = heldResume(token);
    await tick();
    gwB.cancel(b, 'j1');
    expect(b.socket.json).toEqual([]); // nothing yet: the resume is not settled
    release();
    await until(() => b.socket.of('j1', 'error').length === 1);
    expect(b.socket.of('j1', 'error')[0]).toMatchObject({ code: 'JOB_CANCELLED' });
    expect(await store.isCancelled(id)).toBe(true);
    expect(broadcasts).toContainEqual({ type: 'cancel', job_id: id });
    await until(() => gwB.size === 0);
  });

  it('hands a job to the last of two connections that resume it, and tells the other nothing more', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    const { id, token } = await submitted(gw, a, 'j1');
    const b = holder('c2');
    const c = holder('c3');
    gw.resume(b, { type: 'resume_job', job_id: 'j1', resume_token: token });
    gw.resume(c, { type: 'resume_job', job_id: 'j1', resume_token: token });
    const before = { a: a.socket.json.length, b: b.socket.json.length };
    gw.onMessage({ type: 'progress', job_id: id, percentage: 50, stage: 'processing' });
    gw.onMessage(await finished(id));
    await until(() => c.socket.files.length === 1);
    expect(c.socket.of('j1', 'completed')).toHaveLength(1);
    expect(a.socket.json.length).toBe(before.a);
    expect(b.socket.json.length).toBe(before.b);
    expect(a.socket.files.length + b.socket.files.length).toBe(0);
  });

  it('stops following a job another gateway resumed', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    const { id } = await submitted(gw, a, 'j1');
    gw.onMessage({ type: 'claimed', job_id: id, gateway_id: 'elsewhere', connection_id: 'x' });
    expect(gw.size).toBe(0);
    expect(followed.has(id)).toBe(false);
    gw.onMessage(await finished(id));
    await tick();
    expect(a.socket.of('j1', 'completed')).toEqual([]);
    // its own claim (echoed back by the exchange) changes nothing
    const b = holder('c2');
    const again = await submitted(gw, b, 'j2');
    gw.onMessage({ type: 'claimed', job_id: again.id, gateway_id: `gw${gatewayCount}`, connection_id: 'c2' });
    expect(gw.size).toBe(1);
  });

  it('refuses a result that finished longer ago than RESUME_TTL_SECONDS', async () => {
    const { id, token } = await abandoned();
    const reply = await finished(id);
    await storage.put(
      storageKeys.result(id),
      Buffer.from(JSON.stringify({ reply, finished_at: new Date(Date.now() - 601_000).toISOString() })),
    );
    const gwB = lifecycle();
    const b = holder('c2');
    gwB.resume(b, { type: 'resume_job', job_id: 'j1', resume_token: token });
    await until(() => b.socket.json.length === 1);
    expect(b.socket.json[0]).toMatchObject({ type: 'error', code: 'RESUME_FAILED' });
    expect(b.socket.files).toEqual([]);
  });

  it('applies a cancel asked for while submitting or resuming when the connection then closes: marker and broadcast', async () => {
    // submitting: held before its reply binding is made
    const gw = lifecycle();
    const a = holder('c1');
    const bound = gate();
    followGate = bound.opened;
    gw.start(a, startJob({ job_id: 'j1', operation: 'probe', input: { source: 'url', url: 'https://example.com/a.mp4' } }), null);
    gw.cancel(a, 'j1');
    gw.detach(a);
    followGate = null;
    bound.open();
    await until(() => published.length === 1);
    const submitted = published[0]!.job.job_id;
    await until(() => broadcasts.some((b) => JSON.stringify(b) === JSON.stringify({ type: 'cancel', job_id: submitted })));
    expect(await store.isCancelled(submitted)).toBe(true);
    expect(gw.size).toBe(0);
    // resuming: once its token checks out
    const { id, token } = await abandoned();
    const { gw: gwB, b, release } = heldResume(token);
    gwB.cancel(b, 'j1');
    gwB.detach(b);
    release();
    await until(() => broadcasts.some((m) => JSON.stringify(m) === JSON.stringify({ type: 'cancel', job_id: id })));
    expect(await store.isCancelled(id)).toBe(true);
    await until(() => gwB.size === 0);
    // not with a wrong token
    const other = await abandoned();
    const wrong = heldResume(`${other.id}.wrong`);
    wrong.gw.cancel(wrong.b, 'j1');
    wrong.gw.detach(wrong.b);
    wrong.release();
    await until(() => wrong.gw.size === 0);
    expect(await store.isCancelled(other.id)).toBe(false);
  });

  describe('a resume or cancel while the job is being submitted', () => {
    /** j1 submitted by c1 with its publish held, then c1's connection gone: the gateway, the publish's gate, and j1's token. */
    function droppedMidSubmission() {
      const gw = lifecycle();
      const a = holder('c1');
      let refuse!: (err: Error) => void;
      let confirm!: () => void;
      publishGate = new Promise<void>((resolve, reject) => ((confirm = resolve), (refuse = reject)));
      gw.start(a, startJob({ job_id: 'up', operation: 'probe', input: { source: 'upload' } }), null);
      const token = String(a.socket.of('up', 'ack')[0]!.resume_token);
      gw.upload(a, { job_id: 'up', filename: 'in.mp4' }, Buffer.from('bytes'));
      return { gw, a, token, id: tokenJobId(token)!, confirm, refuse };
    }

    it('hands the job to a resume that came while it was being submitted, and applies a cancel_job sent meanwhile once published', async () => {
      const { gw, a, token, id, confirm } = droppedMidSubmission();
      await until(() => existsSync(join(dir(), storageKeys.record(id))));
      a.socket.close();
      gw.detach(a);
      const b = holder('c2');
      gw.resume(b, { type: 'resume_job', job_id: 'up', resume_token: token });
      gw.cancel(b, 'up');
      await tick();
      expect(b.socket.json).toEqual([]); // nothing yet: the submission is not settled
      confirm();
      await until(() => b.socket.of('up', 'error').length === 1);
      expect(b.socket.of('up', 'error')[0]).toMatchObject({ code: 'JOB_CANCELLED' });
      expect(b.socket.of('up').filter((m) => m.type === 'error' && m.code === 'RESUME_FAILED')).toEqual([]);
      expect(published).toHaveLength(1);
      expect(await store.isCancelled(id)).toBe(true);
      expect(broadcasts).toContainEqual({ type: 'cancel', job_id: id });
      await until(() => gw.size === 0);
    });

    it('answers a resume that waited for a submission that then failed with that failure, and its cancel_job with CANCEL_FAILED', async () => {
      const { gw, a, token, id, refuse } = droppedMidSubmission();
      await until(() => existsSync(join(dir(), storageKeys.record(id))));
      a.socket.close();
      gw.detach(a);
      const b = holder('c2');
      gw.resume(b, { type: 'resume_job', job_id: 'up', resume_token: token });
      gw.cancel(b, 'up');
      refuse(new Error('publish timed out'));
      await until(() => b.socket.of('up', 'error').length === 2);
      expect(b.socket.of('up', 'error')).toEqual([
        expect.objectContaining({ code: 'SUBMIT_FAILED' }),
        expect.objectContaining({ code: 'CANCEL_FAILED' }),
      ]);
      expect(gw.size).toBe(0);
    });

    it('answers a cancel_job sent while the submission was under way when it then fails: SUBMIT_FAILED, then CANCEL_FAILED', async () => {
      const { gw, a, refuse } = droppedMidSubmission();
      // at the publish (the upload staged, the record stored): a loaded machine takes a while to get there
      await until(() => publishCalls === 1);
      gw.cancel(a, 'up');
      refuse(new Error('publish timed out'));
      await until(() => a.socket.of('up', 'error').length === 2);
      expect(a.socket.of('up', 'error')).toEqual([
        expect.objectContaining({ code: 'SUBMIT_FAILED' }),
        expect.objectContaining({ code: 'CANCEL_FAILED' }),
      ]);
    });
  });

  it('answers every cancel_job: a second one while the first is under way, and one sent during a resume that is refused', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    await submitted(gw, a, 'j1');
    gw.cancel(a, 'j1');
    gw.cancel(a, 'j1');
    await until(() => a.socket.of('j1', 'error').length === 2);
    expect(a.socket.of('j1', 'error').map((m) => m.code)).toEqual(['CANCEL_FAILED', 'JOB_CANCELLED']);
    // a resume with a wrong token, refused once the record is read
    const other = await abandoned();
    const wrong = heldResume(`${other.id}.wrong`);
    wrong.gw.cancel(wrong.b, 'j1');
    wrong.release();
    await until(() => wrong.b.socket.of('j1', 'error').length === 2);
    expect(wrong.b.socket.of('j1', 'error').map((m) => m.code)).toEqual(['RESUME_FAILED', 'CANCEL_FAILED']);
  });

  it('tells the gateway that resumed a job during its submission when the publish then fails', async () => {
    const gw1 = lifecycle();
    const a = holder('c1');
    let refuse!: (err: Error) => void;
    publishGate = new Promise((_resolve, reject) => (refuse = reject));
    gw1.start(a, startJob({ job_id: 'up', operation: 'probe', input: { source: 'upload' } }), null);
    const token = String(a.socket.of('up', 'ack')[0]!.resume_token);
    gw1.upload(a, { job_id: 'up', filename: 'in.mp4' }, Buffer.from('bytes'));
    // its record is stored, the broker slow to confirm: the client reconnects to another gateway and resumes
    const id = tokenJobId(token)!;
    await until(() => existsSync(join(dir(), storageKeys.record(id))));
    const gw2 = lifecycle();
    const b = holder('c2');
    gw2.resume(b, { type: 'resume_job', job_id: 'up', resume_token: token });
    await until(() => notices.some((n) => n.message.type === 'claimed'));
    gw1.onMessage(notices.find((n) => n.message.type === 'claimed')!.message);
    await until(() => b.socket.of('up', 'progress').length === 1); // queued, as far as storage says
    refuse(new Error('publish timed out'));
    // gateway 1 stores the failure as the job's result and publishes it on the job's key, which gateway 2 follows
    await until(() => notices.some((n) => n.key === id && n.message.type === 'error'));
    gw2.onMessage(notices.find((n) => n.key === id && n.message.type === 'error')!.message);
    expect(b.socket.of('up', 'error')).toEqual([expect.objectContaining({ code: 'SUBMIT_FAILED' })]);
    expect((await store.readResult(id))?.reply).toMatchObject({ type: 'error', code: 'SUBMIT_FAILED' });
    expect(a.socket.of('up', 'error')).toEqual([]); // its connection no longer holds it
    expect([gw1.size, gw2.size]).toEqual([0, 0]);
  });

  it('lets a stopping gateway wait for a submission whose publish is under way, and keeps that job', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    const publishing = gate();
    publishGate = publishing.opened;
    gw.start(a, startJob({ job_id: 'late', operation: 'probe', input: { source: 'url', url: 'https://e.com/a' } }), null);
    await until(() => gw.size === 1);
    await tick();
    // SIGTERM: the sockets close while the broker has not confirmed the publish yet
    gw.shutdown();
    a.socket.closed = true;
    gw.detach(a);
    let settled = false;
    const waiting = gw.submissionsSettled().then(() => (settled = true));
    await tick();
    expect(settled).toBe(false); // the gateway's channels must stay open until the publish is confirmed
    publishing.open();
    await waiting;
    expect(published.map((p) => p.job.job_id)).toHaveLength(1);
    const id = published[0]!.job.job_id;
    expect(await store.readRecord(id)).not.toBeNull(); // a resume on another gateway finds it
    await until(() => gw.size === 0);
    expect(await gw.submissionsSettled()).toBeUndefined();
  });

  it('keeps a job that was being submitted when its connection closed: published, then no longer followed', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    const bound = gate();
    followGate = bound.opened;
    gw.start(a, startJob({ job_id: 'j1', operation: 'probe', input: { source: 'url', url: 'https://e.com/a' } }), null);
    await tick();
    a.socket.closed = true;
    gw.detach(a);
    followGate = null;
    bound.open();
    await until(() => published.length === 1);
    await until(() => gw.size === 0);
    expect(await store.readRecord(published[0]!.job.job_id)).not.toBeNull();
  });

  it('drops an upload whose connection closes, with its staged file, and publishes nothing', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    gw.start(a, startJob({ job_id: 'up', operation: 'concat', input: { source: 'upload', filenames: ['a.mp4', 'b.mp4'] } }), null);
    await until(() => a.socket.of('up', 'ack').length === 1);
    gw.upload(a, { job_id: 'up', filename: 'a.mp4' }, Buffer.from('one'));
    await tick();
    gw.detach(a);
    await until(() => gw.size === 0);
    expect(published).toEqual([]);
    await emptied(storage, 'jobs/');
  });

  it('removes a file whose store was still under way when its upload was cancelled or its connection closed', async () => {
    // a store that takes a while (S3: seconds for a large frame): the job's files are removed before it lands
    const put = storage.put.bind(storage);
    storage.put = async (...args: Parameters<FsStorage['put']>) => {
      await new Promise((r) => setTimeout(r, 200));
      return put(...args);
    };
    const gw = lifecycle();
    for (const [jobId, end] of [
      ['cancelled', (h: ReturnType<typeof holder>) => gw.cancel(h, 'cancelled')],
      ['gone', (h: ReturnType<typeof holder>) => gw.detach(h)],
    ] as const) {
      const a = holder(`c-${jobId}`);
      gw.start(a, startJob({ job_id: jobId, operation: 'probe', input: { source: 'upload' } }), null);
      gw.upload(a, { job_id: jobId, filename: 'in.mp4' }, Buffer.alloc(1024, 1));
      end(a);
      await until(() => gw.size === 0);
      await new Promise((r) => setTimeout(r, 300)); // the put has landed
      await emptied(storage, 'jobs/');
    }
    expect(published).toEqual([]);
  });

  it('refuses an empty chunk with BINARY_ERROR, ends the upload and removes what was staged', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    const start = (jobId: string) => gw.start(a, startJob({ job_id: jobId, operation: 'probe', input: { source: 'upload' } }), null);
    start('mid');
    const first = { job_id: 'mid', filename: 'a.mp4', offset: 0, final: false };
    expect(gw.chunkInProgress(a, first)).toBe(false); // the first chunk of a file costs a whole message
    gw.upload(a, first, Buffer.from('some bytes'));
    const next = { job_id: 'mid', filename: 'a.mp4', offset: 10, final: false };
    expect(gw.chunkInProgress(a, next)).toBe(true);
    gw.upload(a, next, Buffer.alloc(0));
    expect(a.socket.of('mid', 'error')).toEqual([
      expect.objectContaining({ code: 'BINARY_ERROR', details: expect.stringMatching(/empty/) }),
    ]);
    expect(gw.chunkInProgress(a, next)).toBe(false);
    start('first');
    gw.upload(a, { job_id: 'first', filename: 'a.mp4', offset: 0, final: true }, Buffer.alloc(0));
    expect(a.socket.of('first', 'error')).toEqual([expect.objectContaining({ code: 'BINARY_ERROR' })]);
    await until(() => gw.size === 0);
    expect(published).toEqual([]);
    // on disk, not only listed: the aborted chunked write's .partial file goes too
    const files = async () => (await readdir(dir(), { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    expect(await filesLeft(files)).toEqual([]);
  });

  it('fails a chunked upload as soon as storage fails it, with SUBMIT_FAILED, not a timeout a minute later', async () => {
    const gw = lifecycle(); // UPLOAD_IDLE_TIMEOUT_SECONDS: 60
    const a = holder('c1');
    const put = storage.put.bind(storage);
    // the disk fills up under the input: the store gives up without reading further
    storage.put = (key: string, body: Readable | Uint8Array) =>
      key.includes('/input/') ? Promise.reject(new Error('ENOSPC: no space left on device')) : put(key, body);
    gw.start(a, startJob({ job_id: 'full', operation: 'probe', input: { source: 'upload' } }), null);
    gw.upload(a, { job_id: 'full', filename: 'a.mp4', offset: 0, final: false }, Buffer.from('the first part'));
    await until(() => a.socket.of('full', 'error').length === 1, 3000);
    expect(a.socket.of('full', 'error')[0]).toMatchObject({ code: 'SUBMIT_FAILED', details: expect.stringMatching(/ENOSPC/) });
    expect(published).toEqual([]);
  });

  it('refuses a chunk after the final one with BINARY_ERROR: it neither stages the file twice nor removes it once published', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    gw.start(a, startJob({ job_id: 'extra', operation: 'probe', input: { source: 'upload' } }), null);
    gw.upload(a, { job_id: 'extra', filename: 'a.mp4', offset: 0, final: true }, Buffer.from('whole file'));
    gw.upload(a, { job_id: 'extra', filename: 'a.mp4', offset: 10, final: true }, Buffer.from('more'));
    expect(a.socket.of('extra', 'error')).toEqual([
      expect.objectContaining({ code: 'BINARY_ERROR', details: expect.stringMatching(/after the final one/) }),
    ]);
    await until(() => gw.size === 0);
    expect(published).toEqual([]);
  });

  it('fails a job whose upload sends nothing for UPLOAD_IDLE_TIMEOUT_SECONDS, and removes what was staged', async () => {
    const gw = lifecycle({ UPLOAD_IDLE_TIMEOUT_SECONDS: '1' });
    const a = holder('c1');
    const start = (jobId: string, input: { source: string; filenames?: string[] }) =>
      gw.start(a, startJob({ job_id: jobId, operation: input.filenames ? 'concat' : 'probe', input }), null);
    start('stalled', { source: 'upload' });
    gw.upload(a, { job_id: 'stalled', filename: 'a.mp4', offset: 0, final: false }, Buffer.from('half a file'));
    start('silent', { source: 'upload' });
    start('done', { source: 'upload', filenames: ['a.mp4', 'b.mp4'] });
    gw.upload(a, { job_id: 'done', filename: 'a.mp4' }, Buffer.from('one'));
    gw.upload(a, { job_id: 'done', filename: 'b.mp4' }, Buffer.from('two'));
    await until(() => published.length === 1);
    await until(() => a.socket.of('stalled', 'error').length === 1 && a.socket.of('silent', 'error').length === 1, 5000);
    for (const jobId of ['stalled', 'silent'])
      expect(a.socket.of(jobId, 'error')).toEqual([
        expect.objectContaining({
          code: 'JOB_FAILED',
          message: 'Upload timed out',
          details: expect.stringMatching(/UPLOAD_IDLE_TIMEOUT_SECONDS/),
        }),
      ]);
    // the job whose files all came is not touched by the timer
    await new Promise((r) => setTimeout(r, 300));
    expect(a.socket.of('done', 'error')).toEqual([]);
    expect(gw.size).toBe(1);
    const files = async () =>
      (await readdir(dir(), { recursive: true, withFileTypes: true })).filter(
        (e) => e.isFile() && !e.parentPath.includes(published[0]!.job.job_id),
      );
    expect(await filesLeft(files)).toEqual([]);
  });

  it('stores an upload whose name has the most UTF-8 bytes allowed, chunked (with the .partial suffix) or whole', async () => {
    const gw = lifecycle();
    const a = holder('c1');
    const names = ['é'.repeat(100), '🎬'.repeat(50)]; // 200 bytes each: MAX_FILE_NAME_BYTES
    gw.start(a, startJob({ job_id: 'long', operation: 'concat', input: { source: 'upload', filenames: names } }), null);
    gw.upload(a, { job_id: 'long', filename: names[0]!, offset: 0, final: true }, Buffer.from('chunked'));
    gw.upload(a, { job_id: 'long', filename: names[1]! }, Buffer.from('whole'));
    await until(() => published.length === 1);
    expect(a.socket.of('long', 'error')).toEqual([]);
    const inputs = published[0]!.job.inputs as { key: string }[];
    expect(await Promise.all(inputs.map((i) => storage.size(i.key)))).toEqual([7, 5]);
  });

  describe('GATEWAY_BUFFER_BUDGET_MB', () => {
    /** A 3 MiB budget and a 1 MiB window: a chunked upload holds 2 MiB (window and stream buffer) of it. */
    const small = () => lifecycle({ UPLOAD_WINDOW_BYTES: String(MiB) }, 3 * MiB);
    const startUpload = (
      gw: JobLifecycle,
      h: ReturnType<typeof holder>,
      jobId: string,
      input: { source: string; filenames?: string[] } = { source: 'upload' },
    ) => gw.start(h, startJob({ job_id: jobId, operation: input.filenames ? 'concat' : 'probe', input }), null);
    const busy = expect.objectContaining({
      type: 'error',
      code: 'RATE_LIMITED',
      message: expect.stringMatching(/busy/i),
      details: expect.stringMatching(/GATEWAY_BUFFER_BUDGET_MB/),
    });

    it('refuses a second upload with RATE_LIMITED while a first holds the budget, removes what it staged, and takes it once the first ends', async () => {
      const gw = small();
      const a = holder('c1');
      const b = holder('c2', 'key:other');
      startUpload(gw, a, 'first');
      gw.upload(a, { job_id: 'first', filename: 'a.mp4', offset: 0, final: false }, Buffer.from('half a file'));
      expect(budget.used()).toBe(2 * MiB);
      // a single frame that does not fit: refused, its job ended
      startUpload(gw, b, 'whole');
      expect(b.socket.of('whole', 'ack')).toHaveLength(1);
      gw.upload(b, { job_id: 'whole', filename: 'b.mp4' }, Buffer.alloc(1.5 * MiB, 1));
      expect(b.socket.of('whole', 'error')).toEqual([busy]);
      // a chunked one: its window does not fit
      startUpload(gw, b, 'chunked');
      gw.upload(b, { job_id: 'chunked', filename: 'b.mp4', offset: 0, final: false }, Buffer.from('x'));
      expect(b.socket.of('chunked', 'error')).toEqual([busy]);
      // a two-file job whose first file fits and is staged, and whose second does not: the first is removed
      startUpload(gw, b, 'two', { source: 'upload', filenames: ['1.mp4', '2.mp4'] });
      gw.upload(b, { job_id: 'two', filename: '1.mp4' }, Buffer.from('one'));
      await until(() => budget.used() === 2 * MiB); // staged, and let go
      gw.upload(b, { job_id: 'two', filename: '2.mp4' }, Buffer.alloc(1.5 * MiB, 2));
      expect(b.socket.of('two', 'error')).toEqual([busy]);
      await until(() => gw.size === 1);
      expect(budget.used()).toBe(2 * MiB);
      // a spent budget refuses start_job itself, before the client sends a byte
      const rest = budget.reserve(budget.limit - budget.used())!;
      startUpload(gw, b, 'early');
      expect(b.socket.of('early')).toEqual([busy]);
      expect(gw.size).toBe(1);
      rest();
      // the first ends (stored): the budget is free again, and the same upload is taken
      gw.upload(a, { job_id: 'first', filename: 'a.mp4', offset: 11, final: true }, Buffer.from(' and the rest'));
      await until(() => published.length === 1);
      expect(budget.used()).toBe(0);
      startUpload(gw, b, 'again');
      gw.upload(b, { job_id: 'again', filename: 'b.mp4' }, Buffer.alloc(1.5 * MiB, 1));
      await until(() => published.length === 2);
      expect(b.socket.of('again', 'error')).toEqual([]);
      expect(budget.used()).toBe(0);
      const staged = published.flatMap((p) => p.job.job_id);
      const files = async () =>
        (await readdir(dir(), { recursive: true, withFileTypes: true })).filter(
          (e) => e.isFile() && !staged.some((id) => e.parentPath.includes(id)),
        );
      expect(await filesLeft(files)).toEqual([]);
    });

    it("refuses a client's upload beyond its share of the budget, while another client's fits", async () => {
      const gw = lifecycle({ UPLOAD_WINDOW_BYTES: String(MiB) }, 16 * MiB);
      const a = holder('c1');
      const b = holder('c2', 'key:other');
      // 2 MiB each (window + stream buffer): the first two of one client fit its 4 MiB share, the third does not
      for (const id of ['a1', 'a2', 'a3']) {
        startUpload(gw, a, id);
        gw.upload(a, { job_id: id, filename: 'a.mp4', offset: 0, final: false }, Buffer.from('part'));
      }
      expect(a.socket.of('a3', 'error')).toEqual([
        expect.objectContaining({ code: 'RATE_LIMITED', details: expect.stringMatching(/its share \(25%\) of GATEWAY_BUFFER_BUDGET_MB/) }),
      ]);
      expect(a.socket.of('a1', 'error')).toEqual([]);
      startUpload(gw, b, 'b1');
      gw.upload(b, { job_id: 'b1', filename: 'b.mp4', offset: 0, final: false }, Buffer.from('part'));
      expect(b.socket.of('b1', 'error')).toEqual([]);
      expect(budget.heldBy('key:owner')).toBe(4 * MiB);
      gw.shutdown();
      await until(() => budget.used() === 0);
      // the aborted uploads' staged parts are removed after their bytes are given back: before the temp dir goes
      await emptied(storage, 'jobs/');
    });

    it("gives an upload's bytes back however it ends: stored, failed, cancelled, timed out, disconnected, shut down", async () => {
      const gw = lifecycle({ UPLOAD_WINDOW_BYTES: String(MiB), UPLOAD_IDLE_TIMEOUT_SECONDS: '1' }, 3 * MiB);
      const a = holder('c1');
      const holding = async (jobId: string, end: () => void) => {
        startUpload(gw, a, jobId);
        gw.upload(a, { job_id: jobId, filename: 'a.mp4', offset: 0, final: false }, Buffer.from('some bytes'));
        expect(budget.used()).toBe(2 * MiB);
        end();
        await until(() => budget.used() === 0, 5000);
      };
      await holding('stored', () => gw.upload(a, { job_id: 'stored', filename: 'a.mp4', offset: 10, final: true }, Buffer.from('!')));
      await holding('failed', () => gw.upload(a, { job_id: 'failed', filename: 'a.mp4', offset: 99, final: false }, Buffer.from('!')));
      await holding('cancelled', () => gw.cancel(a, 'cancelled'));
      await holding('idle', () => {});
      await holding('detached', () => gw.detach(a));
      await holding('shutdown', () => gw.shutdown());
      // and a single frame, once stored
      startUpload(gw, a, 'whole');
      gw.upload(a, { job_id: 'whole', filename: 'a.mp4' }, Buffer.alloc(MiB, 1));
      expect(budget.used()).toBe(MiB);
      await until(() => budget.used() === 0);
      expect(a.socket.of('failed', 'error')).toEqual([expect.objectContaining({ code: 'BINARY_ERROR' })]);
      expect(a.socket.of('idle', 'error')).toEqual([expect.objectContaining({ message: 'Upload timed out' })]);
      await until(() => published.length === 2);
    });

    it('makes a delivery wait for room, not fail, and sends an output larger than the whole budget alone', async () => {
      const gw = lifecycle({}, 4); // 4 bytes: less than the 7-byte output
      const a = holder('c1');
      const { id } = await submitted(gw, a, 'j1');
      const other = budget.reserve(1)!; // another client's bytes
      gw.onMessage(await finished(id));
      await until(() => a.socket.of('j1', 'completed').length === 1);
      await new Promise((r) => setTimeout(r, 100));
      expect(a.socket.files).toEqual([]);
      expect(budget.waiting()).toBe(1);
      other();
      await until(() => a.socket.files.length === 1);
      expect(a.socket.files[0]!.bytes).toBe(7);
      await until(() => gw.size === 0);
      expect(budget.used()).toBe(0);
      expect(a.socket.of('j1', 'error')).toEqual([]);
    });
  });
});
