import { copyFile, readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { AppError, type OutputsByKey, type WorkerConfig } from '@media-foundry/shared';
import { type JobStore, type Logger, parseAllowlist, type Storage } from '@media-foundry/shared/node';
import { thumbnailResult, useTempDir } from '@media-foundry/test-support';
import { InputServer } from './input-server.js';
import { type HandlerDeps, JobHandler, parseJob } from './job-handler.js';
import type { Delivery } from './scheduler/job-puller.js';
import { ClusterView } from './scheduler/cluster-view.js';

const body = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');
const job = (url: string) => ({ job_id: 'j1', operation: 'probe', options: {}, inputs: [{ source: 'url', url }] });

describe('parseJob', () => {
  it('answers a body that is not JSON with INVALID_JSON', () => {
    const e = parseJob(Buffer.from('{"job_id":'));
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('INVALID_JSON');
  });

  it('answers a message missing a required field with VALIDATION_ERROR naming it', () => {
    const e = parseJob(body({ job_id: 'j1', operation: 'probe', options: {} })) as AppError;
    expect(e.code).toBe('VALIDATION_ERROR');
    expect(e.details).toMatch(/inputs/);
  });

  it.each([
    ['localhost', 'http://localhost/a.mp4', 'localhost is a loopback name'],
    ['a literal loopback address', 'http://127.0.0.1:9/a.mp4', 'private or reserved address'],
    ['a literal link-local address (cloud metadata)', 'http://169.254.169.254/latest', 'private or reserved address'],
  ])('refuses a URL input naming %s with VALIDATION_ERROR before anything is fetched', (_what, url, why) => {
    const e = parseJob(body(job(url))) as AppError;
    expect(e.code).toBe('VALIDATION_ERROR');
    expect(e.details).toMatch(/^inputs\[0\]\.url: /);
    expect(e.details).toContain(why);
  });

  it('accepts such a URL when URL_ALLOWLIST names it, and a public one always', () => {
    expect(parseJob(body(job('http://127.0.0.1:9/a.mp4')), parseAllowlist(['127.0.0.1']))).not.toBeInstanceOf(AppError);
    expect(parseJob(body(job('https://media.example.com/a.mp4')))).not.toBeInstanceOf(AppError);
  });
});

describe('JobHandler, an invalid job message', () => {
  it('is handed back, not acked unanswered, when its error reply cannot be published', async () => {
    const logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, child: () => logger } as unknown as Logger;
    let tries = 0;
    let broker = 'down';
    const handler = new JobHandler({
      config: { urlAllowlist: [], transientRetryMs: 300, jobDeliveryLimit: 3 },
      replies: {
        send: () => (tries++, broker === 'down' ? Promise.reject(new Error('channel closed')) : Promise.resolve()),
      },
      logger,
      webhookAllowlist: parseAllowlist([]),
    } as unknown as HandlerDeps);
    const settle = async () => {
      const settled: string[] = [];
      await handler.handle({
        message: { content: Buffer.from('{"job_id":'), properties: { correlationId: 'bad', headers: {} } },
        ack: () => void settled.push('ack'),
        requeue: () => void settled.push('requeue'),
      } as unknown as Delivery);
      return settled;
    };
    expect(await settle()).toEqual(['requeue']);
    expect(tries).toBe(1);
    broker = 'up';
    expect(await settle()).toEqual(['ack']);
  });
});

describe('JobHandler, a job that finished before this delivery', () => {
  const tempDir = useTempDir('job-handler-test-');

  /** Delivers a copy of job j1, whose result storage holds, with these message headers: what is published, stored and acked. */
  async function deliverFinished(headers: Record<string, unknown> = {}) {
    const { reply, inline } = thumbnailResult('j1');
    const sent: { reply: unknown; inline: OutputsByKey | undefined }[] = [];
    const writes: unknown[] = [];
    const logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, child: () => logger } as unknown as Logger;
    const handler = new JobHandler({
      config: { urlAllowlist: [], transientRetryMs: 100, jobDeliveryLimit: 3 } as unknown as WorkerConfig,
      storage: {} as Storage,
      store: {
        readResult: () => Promise.resolve({ reply, finished_at: new Date().toISOString(), inline }),
        isCancelled: () => Promise.resolve(false),
        writeResult: (r: unknown) => (writes.push(r), Promise.resolve()),
        writeState: () => Promise.resolve(),
      } as unknown as JobStore,
      replies: { send: (_route: unknown, r: unknown, i?: OutputsByKey) => (sent.push({ reply: r, inline: i }), Promise.resolve()) },
      view: { heldEarlierElsewhere: () => false, finished: () => false, whenTold: () => Promise.resolve() },
      onFinished: () => {},
      metrics: {},
      logger,
      runner: { config: { tempDir: tempDir() }, storage: {} as Storage, allowlist: parseAllowlist([]) },
      webhooks: { finished: () => Promise.resolve(), stageChanged: () => {} },
      webhookAllowlist: parseAllowlist([]),
    } as unknown as HandlerDeps);
    let acked = 0;
    await handler.handle({
      message: { content: body(job('https://media.example.com/in.mp4')), properties: { headers } },
      tenantKey: '0123456789abcdef',
      deliveryCount: 1,
      ack: () => void (acked += 1),
      requeue: () => {},
      live: true,
    } as unknown as Delivery);
    return { reply, inline, sent, writes, acked };
  }

  it('publishes its stored result again, with the output the result holds riding along, and acks', async () => {
    const { reply, inline, sent, writes, acked } = await deliverFinished();
    expect(sent).toEqual([{ reply, inline }]);
    expect(writes).toEqual([]); // the stored result stays as it is
    expect(acked).toBe(1);
  });

  it('takes a job whose traceparent header is not a string (a table) like any other', async () => {
    const { reply, inline, sent, acked } = await deliverFinished({ traceparent: { toString: 'x' } });
    expect(sent).toEqual([{ reply, inline }]);
    expect(acked).toBe(1);
  });
});

describe('JobHandler, a job stopped in its last steps or after them', () => {
  const tempDir = useTempDir('job-handler-run-');
  const logger = {
    error: () => {},
    warn: () => {},
    info: () => {},
    debug: () => {},
    trace: () => {},
    child: () => logger,
  } as unknown as Logger;
  const metrics = new Proxy({}, { get: () => ({ inc() {}, observe() {} }) });
  const runConfig = (dir: string, transientRetryMs: number) => ({
    urlAllowlist: ['127.0.0.1'],
    transientRetryMs,
    jobDeliveryLimit: 3,
    tempDir: dir,
    ffmpegPath: 'ffmpeg',
    ffprobePath: 'ffprobe',
    inputProbe: 'auto',
    ffmpegThreads: 1,
    ffmpegTimeoutMs: 60_000,
    ffmpegMaxMemoryBytes: 0,
    ffmpegStallMs: 30_000,
    maxFileSizeBytes: 1e9,
    urlFetchTimeoutMs: 10_000,
    urlConnectTimeoutMs: 10_000,
    urlMinBytesPerSecond: 0,
    urlMinRateWindowMs: 10_000,
    maxJobInputBytes: 1e9,
    maxInputDurationSeconds: 10_000,
    maxInputPixels: 1e8,
    watermarkFontFile: '',
  });
  let clip: string;
  beforeAll(async () => {
    // noise, losslessly: a file of several 512 KiB blocks, the second of which the worker reads ahead
    clip = join(tempDir(), 'in.mp4');
    await execa('ffmpeg', [
      ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=2,noise=alls=20:allf=t'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-movflags', '+faststart', clip],
    ]);
  });

  class Transient extends Error {
    kind = 'transient';
  }

  /** A handler whose storage stores outputs by `putFile`; what it publishes, stores and removes, in order. */
  function handlerWith(putFile: () => Promise<void>, transientRetryMs = 20_000, extra: Partial<HandlerDeps> = {}) {
    const events: unknown[][] = [];
    const config = runConfig(tempDir(), transientRetryMs);
    const storage = { size: async () => (await stat(clip)).size, getFile: (_k: string, path: string) => copyFile(clip, path), putFile };
    const handler: JobHandler = new JobHandler({
      config,
      storage,
      store: {
        readResult: () => Promise.resolve(null),
        isCancelled: () => Promise.resolve(false),
        writeResult: (r: { type: string; code?: string }) => (events.push(['stored', r.code ?? r.type]), Promise.resolve()),
        writeState: () => Promise.resolve(),
        remove: () => (events.push(['removed']), Promise.resolve()),
      },
      replies: {
        send: (_route: unknown, r: { type: string; code?: string; stage?: string; message?: string }) => {
          events.push([r.type, r.code ?? r.stage, r.message]);
          return Promise.resolve();
        },
      },
      view: { heldEarlierElsewhere: () => false, finished: () => false, whenTold: () => Promise.resolve() },
      onFinished: () => {},
      metrics,
      logger,
      runner: { config, storage, allowlist: parseAllowlist(['127.0.0.1']) },
      webhooks: { finished: () => Promise.resolve(), stageChanged: () => {} },
      webhookAllowlist: parseAllowlist([]),
      ...extra,
    } as unknown as HandlerDeps);
    return { handler, events };
  }

  /** Handles `message`; `channel.open` false: its channel closed meanwhile (settling it does nothing, the broker requeued it). */
  async function run(handler: JobHandler, message: object, channel = { open: true }): Promise<string[]> {
    const settled: string[] = [];
    await handler.handle({
      message: { content: body(message), properties: { headers: {} } },
      tenantKey: '0123456789abcdef',
      deliveryCount: 0,
      ack: () => void (channel.open && settled.push('ack')),
      requeue: () => void (channel.open && settled.push('requeue')),
      get live() {
        return channel.open;
      },
    } as unknown as Delivery);
    return settled;
  }

  const stored = {
    job_id: 'j1',
    operation: 'thumbnail',
    options: {},
    delivery_method: 'url',
    inputs: [{ source: 'storage', key: 'jobs/j1/input/in.mp4', filename: 'in.mp4' }],
  };

  it('answers JOB_CANCELLED, removing its files, when the cancel comes while its output is being stored', async () => {
    const { handler, events } = handlerWith(async () => {
      handler.cancel('j1'); // the put itself takes no signal and completes
      await new Promise((r) => setTimeout(r, 20));
    });
    expect(await run(handler, stored)).toEqual(['ack']);
    const finals = events.filter((e) => e[0] === 'completed' || e[0] === 'error');
    expect(finals).toEqual([['error', 'JOB_CANCELLED', expect.any(String)]]);
    expect(events.at(-1)).toEqual(['removed']);
  });

  it('keeps the cancel marker of a cancelled job whose channel closed before its ack: the copy back in its queue finds it', async () => {
    const channel = { open: true };
    const { handler, events } = handlerWith(async () => {
      channel.open = false; // the connection is lost while the job runs: the broker has the job back
      handler.cancel('j1');
    });
    expect(await run(handler, stored, channel)).toEqual([]);
    expect(events.filter((e) => e[0] === 'error').map((e) => e[1])).toEqual(['JOB_CANCELLED']);
    expect(events.filter((e) => e[0] === 'removed')).toEqual([]);
  });

  it('answers JOB_CANCELLED, not a hand-back, when the cancel comes while a failed store waits for its retry', async () => {
    const { handler, events } = handlerWith(() => Promise.reject(new Transient('503 SlowDown')));
    const cancelOnRetry = handler as unknown as { deps: { replies: { send: (route: unknown, r: { stage?: string }) => Promise<void> } } };
    const send = cancelOnRetry.deps.replies.send;
    cancelOnRetry.deps.replies.send = (route, r) => {
      if (r.stage === 'retrying') setTimeout(() => handler.cancel('j1'), 20);
      return send(route, r);
    };
    expect(await run(handler, stored)).toEqual(['ack']); // not requeued
    const finals = events.filter((e) => e[0] === 'completed' || e[0] === 'error');
    expect(finals).toEqual([['error', 'JOB_CANCELLED', expect.any(String)]]);
    expect(events.at(-1)).toEqual(['removed']);
  });

  it('does not run a copy of a job, waiting behind its run here, once that run was cancelled', async () => {
    // the first run is held in its store step until the cancel has come
    let storing!: () => void;
    const stored$ = new Promise<void>((resolve) => (storing = resolve));
    let putting!: () => void;
    const putStarted = new Promise<void>((resolve) => (putting = resolve));
    const { handler, events } = handlerWith(() => (putting(), stored$));
    const first = run(handler, stored);
    await putStarted;
    const second = run(handler, stored); // the broker gave the job back after a channel loss
    await new Promise((r) => setTimeout(r, 50));
    handler.cancel('j1'); // the gateway's broadcast (its marker goes with the first run's files)
    storing();
    expect(await Promise.all([first, second])).toEqual([['ack'], ['ack']]);
    const finals = events.filter((e) => e[0] === 'completed' || e[0] === 'error');
    expect(finals.map((e) => e[1])).toEqual(['JOB_CANCELLED', 'JOB_CANCELLED']);
    expect(events.filter((e) => e[0] === 'stored')).toEqual([]);
  });

  it('stands a running copy down once another worker turns out to have taken the job first, and answers with the result of that run', async () => {
    let earlierElsewhere = false;
    const view = { heldEarlierElsewhere: () => earlierElsewhere, finished: () => false, whenTold: () => Promise.resolve() };
    const { handler, events } = handlerWith(() => Promise.resolve(), 20_000, { view });
    const deps = (handler as unknown as { deps: HandlerDeps }).deps;
    // the peer's report comes while this run fetches its input: it took the job first
    const storage = deps.runner.storage as unknown as { getFile: (key: string, path: string) => Promise<void> };
    const getFile = storage.getFile;
    storage.getFile = async (key, path) => {
      if (!earlierElsewhere) {
        earlierElsewhere = true;
        handler.standDownCopies();
        // the earlier run ends a moment later, its result stored
        setTimeout(() => {
          const { reply } = thumbnailResult('j1');
          (deps.store as unknown as { readResult: () => Promise<unknown> }).readResult = () =>
            Promise.resolve({ reply, finished_at: new Date().toISOString() });
          earlierElsewhere = false;
        }, 100);
      }
      return getFile(key, path);
    };
    // settled once, by the stored result: not handed back to its queue (a delivery counted) and not run to its end
    expect(await run(handler, stored)).toEqual(['ack']);
    expect(events.filter((e) => e[0] === 'stored')).toEqual([]);
    expect(events.filter((e) => e[0] === 'completed' || e[0] === 'error').map((e) => e[0])).toEqual(['completed']);
    expect(handler.activeJobs).toBe(0);
  });

  it('leaves alone a copy that waits for the earlier run elsewhere, and then answers it', async () => {
    let earlierElsewhere = true;
    const view = { heldEarlierElsewhere: () => earlierElsewhere, finished: () => false, whenTold: () => Promise.resolve() };
    const { handler, events } = handlerWith(() => Promise.resolve(), 20_000, { view });
    const handled = run(handler, stored);
    await new Promise((r) => setTimeout(r, 50));
    handler.standDownCopies(); // a peer's report while this copy waits: it is not running, nothing to stand down
    earlierElsewhere = false; // the earlier run ended (its worker's report no longer names the job)
    expect(await handled).toEqual(['ack']);
    expect(events.filter((e) => e[0] === 'completed').length).toBe(1);
  });

  it('settles a copy of a job whose answer went out without running it again, once storage no longer has its result', async () => {
    // storage here never has a result: as after the gateway delivered it and removed the job's files
    const view = new ClusterView('w1', 15_000);
    let putting!: () => void;
    const putStarted = new Promise<void>((resolve) => (putting = resolve));
    let storing!: () => void;
    const stored$ = new Promise<void>((resolve) => (storing = resolve));
    const { handler, events } = handlerWith(() => (putting(), stored$), 20_000, { view, onFinished: (id) => view.noteFinished(id) });
    const first = run(handler, stored);
    await putStarted;
    const waiting = run(handler, stored); // handed back after a channel loss: waits behind the run here
    storing();
    expect(await Promise.all([first, waiting])).toEqual([['ack'], ['ack']]);
    const later = await run(handler, stored); // its ack was lost: delivered once more, later
    expect(later).toEqual(['ack']);
    expect(events.filter((e) => e[0] === 'completed' || e[0] === 'error').map((e) => e[0])).toEqual(['completed']);
    expect(view.finished('j1')).toBe(true);
  });

  it('fails a trim that starts within the last frame: an MP4 with no stream in it is no result, though ffmpeg exits 0', async () => {
    const { handler, events } = handlerWith(() => Promise.resolve());
    // the clip: 2 s of video alone at 25 fps, its last frame from 1.96 s
    const settled = await run(handler, { ...stored, operation: 'trim', options: { start_time: 1.99 } });
    expect(settled).toEqual(['ack']);
    expect(events.filter((e) => e[0] === 'completed' || e[0] === 'error')).toEqual([['error', 'JOB_FAILED', 'FFmpeg produced no output']]);
  });

  it('reports nothing, and reads its input no further, once it has its final reply', async () => {
    // the origin answers the first block, then, after a while, 503 to every later one: the worker's read-ahead of
    // the second, which the thumbnail does not need, retried for TRANSIENT_RETRY_SECONDS after the job's end, and
    // reported each retry after its `completed`
    const file = await readFile(clip);
    const requests: number[] = [];
    const origin = createServer((req, res) => {
      requests.push(Date.now());
      const [, from, to] = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '') ?? [];
      if (from === undefined || Number(from) >= 512 * 1024) return void setTimeout(() => res.writeHead(503).end(), 300);
      const end = Math.min(Number(to), file.length - 1);
      res
        .writeHead(206, { 'content-length': end - Number(from) + 1, 'content-range': `bytes ${from}-${end}/${file.length}` })
        .end(file.subarray(Number(from), end + 1));
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    const inputServer = await InputServer.start();
    try {
      const { handler, events } = handlerWith(() => Promise.resolve(), 10_000);
      (handler as unknown as { deps: { runner: { inputServer: InputServer } } }).deps.runner.inputServer = inputServer;
      const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/in.mp4`;
      const settled = await run(handler, { ...stored, options: { timestamp: 0 }, inputs: [{ source: 'url', url }] });
      const ended = Date.now();
      expect(settled).toEqual(['ack']);
      await new Promise((r) => setTimeout(r, 1500));
      const completed = events.findIndex((e) => e[0] === 'completed');
      expect(completed).toBeGreaterThanOrEqual(0);
      expect(events.slice(completed + 1)).toEqual([]);
      expect(requests.filter((at) => at > ended + 100)).toEqual([]);
    } finally {
      await inputServer.close();
      origin.closeAllConnections();
      await new Promise((resolve) => origin.close(resolve));
    }
  });
});
