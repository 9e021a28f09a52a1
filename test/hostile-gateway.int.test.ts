/**
 * The gateway under a client that means harm with a valid key (issue 19, the
 * gateway's part): every resource a client can make it spend has a ceiling.
 * Real gateway processes on RabbitMQ; what they spend is read from /proc.
 * Bounds are generous (the machine is shared): they tell a ceiling from none,
 * not a fast machine from a slow one.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { encodeBinaryFrame, MiB } from '@media-foundry/shared';
import { renderLavfi } from './helpers/media.js';
import { cpuSeconds, rssBytes } from './helpers/proc.js';
import { startStack, type Stack } from './helpers/stack.js';
import { TestClient, uploadInChunks } from './helpers/ws-client.js';
import { useSuite } from './helpers/suite.js';

let stack: Stack | undefined;
const clients: TestClient[] = [];

async function connect(url = stack!.wsUrl, headers: Record<string, string> = {}): Promise<TestClient> {
  const client = await TestClient.connect(url, headers);
  clients.push(client);
  return client;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await stack?.stop();
  stack = undefined;
});

/** Starts an upload job and waits for its `ack`. */
async function uploadJob(client: TestClient, jobId: string): Promise<void> {
  client.send({ type: 'start_job', job_id: jobId, operation: 'probe', input: { source: 'upload' }, options: {} });
  await client.next((m) => m.type === 'ack' && m.job_id === jobId);
}

const chunk = (jobId: string, offset: number, final: boolean, bytes: Uint8Array) =>
  encodeBinaryFrame({ job_id: jobId, filename: 'in.bin', offset, final }, bytes);

/** Renders `seconds` of uncompressed 320x240 video (about 2.9 MB a second) at `path`. */
async function rawVideo(path: string, seconds: number): Promise<void> {
  await renderLavfi(path, `testsrc2=size=320x240:rate=25:duration=${seconds}`, ['-c:v', 'rawvideo', '-pix_fmt', 'yuv420p']);
}

/** Connects, starts a job on an upload, waits for its `ack` and uploads the file at `path` in chunks; returns the client. */
async function uploadFileJob(jobId: string, operation: string, options: Record<string, unknown>, path: string): Promise<TestClient> {
  const client = await connect();
  client.send({ type: 'start_job', job_id: jobId, operation, input: { source: 'upload' }, options });
  await client.next((m) => m.type === 'ack');
  await uploadInChunks(client, jobId, basename(path), await readFile(path));
  return client;
}

/** The payloads of a job's binary frames, in the order received, as one buffer. */
const receivedBytes = (client: TestClient, jobId: string) =>
  Buffer.concat(client.received.flatMap((r) => (r.kind === 'binary' && r.header.job_id === jobId ? [r.payload] : [])));

/** Waits for the socket to close and returns its close code. */
async function closedWith(client: TestClient, ms = 30_000): Promise<number> {
  const deadline = Date.now() + ms;
  while (client.closeCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return client.closeCode ?? -1;
}

describe('floods the rate limiter sees', () => {
  it('answers an empty chunk of an upload in progress with BINARY_ERROR and ends the upload', async () => {
    stack = await startStack({ workers: 0 });
    const client = await connect();
    await uploadJob(client, 'empty');
    client.sendRaw(chunk('empty', 0, false, Buffer.alloc(1000, 1)));
    await client.next((m) => m.type === 'upload_ack' && m.job_id === 'empty');
    client.sendRaw(chunk('empty', 1000, false, new Uint8Array(0)));
    const err = await client.next((m) => m.type === 'error' && m.job_id === 'empty');
    expect(err).toMatchObject({ code: 'BINARY_ERROR', details: expect.stringMatching(/empty/) });
    // the upload is over: its next chunk finds no job waiting
    client.sendRaw(chunk('empty', 1000, true, Buffer.alloc(10, 1)));
    await client.until(() => client.messages('empty').filter((m) => m.type === 'error').length === 2);
    expect(client.messages('empty').filter((m) => m.type === 'error')[1]).toMatchObject({
      code: 'BINARY_ERROR',
      details: expect.stringMatching(/no job/),
    });
  });

  it('closes a connection flooding empty chunks with 1008, at a bounded CPU cost', async () => {
    stack = await startStack({ workers: 0, env: { LOG_LEVEL: 'info' } });
    const client = await connect();
    await uploadJob(client, 'flood');
    client.sendRaw(chunk('flood', 0, false, Buffer.alloc(1000, 1)));
    await client.next((m) => m.type === 'upload_ack');
    const cpuBefore = await cpuSeconds(stack.gateway.pid);
    const frame = chunk('flood', 1000, false, new Uint8Array(0));
    // the 1.5 million frames in 11 s pinned a core; a tenth of that is plenty to be cut off
    for (let i = 0; i < 150_000 && client.closeCode === null; i++) client.sendRaw(frame);
    expect(await closedWith(client, 60_000)).toBe(1008);
    const cpu = (await cpuSeconds(stack.gateway.pid)) - cpuBefore;
    // measured ~0.2 s; before, such a flood never ended (the 1.5 million frames pinned a core for 11 s)
    expect(cpu).toBeLessThan(5);
    expect(client.messages('flood').find((m) => m.type === 'error')).toMatchObject({ code: 'BINARY_ERROR' });
    expect(client.messages().some((m) => m.type === 'error' && m.code === 'RATE_LIMITED')).toBe(true);
    // the gateway serves others meanwhile
    const other = await connect();
    other.send({ type: 'ping' });
    await other.next((m) => m.type === 'pong');
  });

  it('closes a connection flooding binary frames that are not chunks with 1008', async () => {
    stack = await startStack({ workers: 0, env: { LOG_LEVEL: 'info' } });
    const client = await connect();
    const frame = encodeBinaryFrame({ job_id: 'nobody', filename: 'x.bin' }, Buffer.alloc(10));
    for (let i = 0; i < 50_000 && client.closeCode === null; i++) client.sendRaw(frame);
    expect(await closedWith(client, 60_000)).toBe(1008);
    // only the frames within budget were answered: the rest were dropped unread
    expect(client.messages().filter((m) => m.type === 'error' && m.code === 'BINARY_ERROR').length).toBeLessThan(1000);
  });

  it('still takes an upload in many small chunks at full speed (a chunk costs a sixteenth of a message)', async () => {
    stack = await startStack({ workers: 0 });
    const client = await connect();
    await uploadJob(client, 'small');
    // 256 chunks of 64 KiB, sent as fast as the window allows: over 5 s worth of whole messages
    await uploadInChunks(client, 'small', 'in.bin', Buffer.alloc(16 * MiB, 3), 64 * 1024);
    await client.next((m) => m.job_id === 'small' && m.type === 'progress' && m.stage === 'queued', 60_000);
    expect(client.messages().filter((m) => m.type === 'error')).toEqual([]);
  });
});

describe('connections per key', () => {
  const KEY = 'hostile-key-0123456789abcdef';
  const OTHER = 'hostile-other-0123456789abcdef';
  const as = (key: string) => ({ authorization: `Bearer ${key}` });

  it("closes a key's connection over MAX_CONNECTIONS_PER_CLIENT with 1008 and a reason, and admits it again once one closes", async () => {
    stack = await startStack({ workers: 0, env: { API_KEYS: `${KEY},${OTHER}`, MAX_CONNECTIONS_PER_CLIENT: '3' } });
    const held = await Promise.all([1, 2, 3].map(() => connect(stack!.wsUrl, as(KEY))));
    const over = await connect(stack.wsUrl, as(KEY));
    const reason = new Promise<string>((resolve) => over.ws.once('close', (_code, why) => resolve(why.toString())));
    expect(await closedWith(over)).toBe(1008);
    expect(await reason).toMatch(/too many connections.*MAX_CONNECTIONS_PER_CLIENT/);
    // another key is not affected, and the held ones work
    const other = await connect(stack.wsUrl, as(OTHER));
    other.send({ type: 'ping' });
    await other.next((m) => m.type === 'pong');
    held[0]!.send({ type: 'ping' });
    await held[0]!.next((m) => m.type === 'pong');
    await held[1]!.close();
    const again = await connect(stack.wsUrl, as(KEY));
    again.send({ type: 'ping' });
    await again.next((m) => m.type === 'pong');
    expect(again.closeCode).toBeNull();
  });
});

describe('frames held in gateway memory', () => {
  /** Resolves with the close code and reason of `client`'s socket. */
  const closing = (client: TestClient) =>
    new Promise<{ code: number; reason: string }>((resolve) =>
      client.ws.once('close', (code, why) => resolve({ code, reason: why.toString() })),
    );

  it('answers a text message over WS_MAX_TEXT_SIZE with VALIDATION_ERROR, then closes with 1009', async () => {
    stack = await startStack({ workers: 0 });
    const client = await connect();
    const closed = closing(client);
    client.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(100 * 1024) }));
    expect(await client.next((m) => m.type === 'error')).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: expect.stringMatching(/WS_MAX_TEXT_SIZE/),
    });
    expect(await closed).toMatchObject({ code: 1009 });
  });

  it('keeps its memory bounded by WS_MAX_SIZE (64 MiB by default) when clients send huge text frames', async () => {
    stack = await startStack({ workers: 0, env: { LOG_LEVEL: 'info' } });
    const pid = stack.gateway.pid;
    const baseline = await rssBytes(pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      rssBytes(pid).then(
        (rss) => (peak = Math.max(peak, rss)),
        () => {},
      );
    }, 20);
    try {
      // the four 450 MB text frames took the gateway to 1.9 GB; four of 100 MB would have been held whole before
      const frame = Buffer.alloc(100 * MiB, 'x'.charCodeAt(0));
      const senders = await Promise.all([1, 2, 3, 4].map(() => connect()));
      const closes = senders.map(closing);
      for (const s of senders) s.ws.send(frame, { binary: false });
      const codes = (await Promise.all(closes)).map((c) => c.code);
      // uWebSockets.js drops a connection whose frame header declares more than maxPayloadLength (1006 measured)
      expect(codes.every((c) => c === 1006 || c === 1009)).toBe(true);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      clearInterval(sampler);
    }
    // measured: under 1 MiB over the baseline (~85 MiB); 4 × 64 MiB buffered would still pass, 4 × 100 MiB not
    expect(peak - baseline).toBeLessThan(300 * MiB);
    const other = await connect();
    other.send({ type: 'ping' });
    await other.next((m) => m.type === 'pong');
  });
});

describe('uploads that never come', () => {
  /** Input files (whole or partial) anywhere in the stack's storage. */
  const inputFiles = async () =>
    (await readdir(stack!.storageDir, { recursive: true, withFileTypes: true }).catch(() => []))
      .filter((e) => e.isFile() && e.parentPath.endsWith('/input'))
      .map((e) => e.name);

  it('fails a job after UPLOAD_IDLE_TIMEOUT_SECONDS without a byte, removing its staged part, while a slow but steady one goes on', async () => {
    stack = await startStack({ workers: 0, env: { UPLOAD_IDLE_TIMEOUT_SECONDS: '2', WS_PING_INTERVAL: '1' } });
    const client = await connect();
    await uploadJob(client, 'stalled');
    client.sendRaw(chunk('stalled', 0, false, Buffer.alloc(64 * 1024, 1)));
    await client.next((m) => m.type === 'upload_ack' && m.job_id === 'stalled');
    // acked once taken, written a moment later
    for (let i = 0; i < 100 && (await inputFiles()).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await inputFiles()).toEqual([expect.stringMatching(/^in\.bin\..*\.partial$/)]);
    await uploadJob(client, 'steady');
    const started = Date.now();
    // a chunk a second, each within the 2 s idle time, for longer than it
    for (let i = 0; i < 5; i++) {
      client.sendRaw(chunk('steady', i * 1000, i === 4, Buffer.alloc(1000, 2)));
      await new Promise((r) => setTimeout(r, 1000));
    }
    const err = await client.next((m) => m.type === 'error' && m.job_id === 'stalled', 20_000);
    expect(err).toMatchObject({
      code: 'JOB_FAILED',
      message: 'Upload timed out',
      details: expect.stringMatching(/UPLOAD_IDLE_TIMEOUT_SECONDS/),
    });
    // the socket stayed open and answered pings all along: only upload bytes count
    expect(client.closeCode).toBeNull();
    await client.next((m) => m.job_id === 'steady' && m.type === 'progress' && m.stage === 'queued', 20_000);
    expect(client.messages('steady').filter((m) => m.type === 'error')).toEqual([]);
    expect(Date.now() - started).toBeGreaterThan(4000);
    // the stalled job's part is gone; the steady job's file stays for its worker
    const deadline = Date.now() + 10_000;
    while ((await inputFiles()).length > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await inputFiles()).toEqual(['in.bin']);
  });
});

describe('upload names', () => {
  it('refuses names over 200 UTF-8 bytes up front (INVALID_BINARY for a frame, VALIDATION_ERROR in start_job) and stores one of exactly 200', async () => {
    stack = await startStack({ workers: 0 });
    const client = await connect();
    await uploadJob(client, 'named');
    // 101 characters, 202 bytes: passed a 255-character limit, then failed in the filesystem with a .partial suffix
    client.sendRaw(encodeBinaryFrame({ job_id: 'named', filename: 'é'.repeat(101), offset: 0, final: true }, Buffer.alloc(10, 1)));
    const refused = await client.next((m) => m.type === 'error');
    expect(refused).toMatchObject({ code: 'INVALID_BINARY', details: expect.stringMatching(/filename: .*200 bytes/) });
    client.startJob('listed', 'concat', { source: 'upload', filenames: ['a.mp4', '🎬'.repeat(51)] }, {});
    expect(await client.next((m) => m.type === 'error' && m.job_id === 'listed')).toMatchObject({ code: 'VALIDATION_ERROR' });
    // the job still waits, and takes a name of exactly 200 bytes, chunked
    await uploadInChunks(client, 'named', '文'.repeat(66) + '.b', Buffer.alloc(3000, 1), 1000);
    await client.next((m) => m.job_id === 'named' && m.type === 'progress' && m.stage === 'queued');
    expect(client.messages('named').filter((m) => m.type === 'error')).toEqual([]);
  });
});

describe('deliveries', () => {
  const { dir } = useSuite({ name: 'hostile', files: false, stack: false });

  it("resumes a paused client's delivery as soon as it reads again, not at the next ping", async () => {
    stack = await startStack({ workers: 1, env: { MAX_FILE_SIZE_MB: '100', LOG_LEVEL: 'info' } });
    // ~43 MB of uncompressed video: an output of ~40 one-MiB chunks, far more than the socket buffers hold
    const big = join(dir, 'big.mkv');
    await rawVideo(big, 15);
    const client = await uploadFileJob('slow', 'remove_audio', {}, big);
    const completed = await client.next((m) => m.type === 'completed', 120_000);
    const socket = (client.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    const size = (completed.outputs as { size_bytes: number }[])[0]!.size_bytes;
    const frames = () => client.received.filter((r) => r.kind === 'binary').length;
    await new Promise((r) => setTimeout(r, 15_000));
    const before = frames();
    const resumed = Date.now();
    socket.resume();
    const { final } = await client.result('slow', 60_000);
    const took = Date.now() - resumed;
    expect(final.type).toBe('completed');
    // the pause held most of the output back: the rest came after it
    expect(Math.ceil(size / MiB) - before).toBeGreaterThan(10);
    // measured ~0.5 s; a delivery woken only by the next ping (every 30 s) would take minutes
    expect(took).toBeLessThan(10_000);
    expect(receivedBytes(client, 'slow').length).toBe(size);
  });

  it("resumes a paused client's outputs, one message each, all at once when it reads again", async () => {
    stack = await startStack({ workers: 1, env: { LOG_LEVEL: 'info' } });
    // noise does not compress: twenty 1280x720 PNG thumbnails of it are ~1.3 MB each, single frames (under 16 MiB),
    // 25 MB in all: more than the socket buffers and the gateway's 1 MiB send high-water mark hold
    const noise = join(dir, 'noise.mkv');
    await renderLavfi(noise, "nullsrc=s=1280x720:r=10:d=4,geq=lum='random(1)*255':cb=128:cr=128", [
      '-c:v',
      'rawvideo',
      '-pix_fmt',
      'yuv420p',
    ]);
    const client = await uploadFileJob('thumbs', 'thumbnail', { count: 20 }, noise);
    const completed = await client.next((m) => m.type === 'completed', 120_000);
    const socket = (client.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    const outputs = completed.outputs as { size_bytes: number }[];
    await new Promise((r) => setTimeout(r, 15_000));
    const before = client.received.filter((r) => r.kind === 'binary').length;
    const resumed = Date.now();
    socket.resume();
    const { final, files, items } = await client.result('thumbs', 60_000);
    const took = Date.now() - resumed;
    expect(final.type).toBe('completed');
    expect(files.size).toBe(20);
    // each output (over DOWNLOAD_CHUNK_BYTES, so sent as 1 MiB WebSocket fragments) arrives as one message, whole
    const messages = items.filter((r) => r.kind === 'binary');
    expect(messages).toHaveLength(20);
    for (const [i, output] of (completed.outputs as { filename: string; size_bytes: number }[]).entries()) {
      expect(output.size_bytes).toBeGreaterThan(MiB);
      const file = files.get(output.filename)!;
      expect(file.length).toBe(output.size_bytes);
      expect(file.subarray(0, 8).toString('latin1')).toBe('\x89PNG\r\n\x1a\n');
      expect(messages[i]!.kind === 'binary' && messages[i]!.header).toEqual({ job_id: 'thumbs', filename: output.filename });
    }
    expect(outputs.length - before).toBeGreaterThan(3);
    // measured ~0.2 s; one output per ping interval (30 s) would be minutes
    expect(took).toBeLessThan(10_000);
  });
});

describe("the gateway's byte budget (GATEWAY_BUFFER_BUDGET_MB)", () => {
  /** The gateway's mf_gateway_buffered_bytes now. */
  const buffered = async () => {
    const text = await (await fetch(stack!.healthUrl.replace(/\/health$/, '/metrics'))).text();
    return Number(/^mf_gateway_buffered_bytes(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1] ?? NaN);
  };
  const queued = (client: TestClient, jobId: string) =>
    client.next((m) => m.job_id === jobId && m.type === 'progress' && m.stage === 'queued', 20_000);

  it("refuses a second client's upload with RATE_LIMITED while a first client's chunked upload holds the budget, and takes it after", async () => {
    stack = await startStack({ workers: 0, env: { GATEWAY_BUFFER_BUDGET_MB: '10' } });
    const first = await connect();
    const second = await connect();
    await uploadJob(first, 'first');
    first.sendRaw(chunk('first', 0, false, Buffer.alloc(MiB, 1)));
    await first.next((m) => m.type === 'upload_ack' && m.job_id === 'first');
    // the first upload holds its window (8 MiB) and stream buffer (1 MiB) of the 10 MiB
    expect(await buffered()).toBe(9 * MiB);
    await uploadJob(second, 'second');
    second.sendRaw(encodeBinaryFrame({ job_id: 'second', filename: 'in.bin' }, Buffer.alloc(2 * MiB, 2)));
    const refused = await second.next((m) => m.type === 'error' && m.job_id === 'second');
    expect(refused).toMatchObject({
      code: 'RATE_LIMITED',
      message: expect.stringMatching(/busy/i),
      details: expect.stringMatching(/GATEWAY_BUFFER_BUDGET_MB/),
    });
    expect(JSON.stringify(refused)).not.toMatch(/\/tmp|storage|jobs\//);
    // the first goes on undisturbed, and its end frees the budget
    first.sendRaw(chunk('first', MiB, true, Buffer.alloc(MiB, 1)));
    await queued(first, 'first');
    expect(first.messages('first').filter((m) => m.type === 'error')).toEqual([]);
    expect(await buffered()).toBe(0);
    await uploadJob(second, 'again');
    second.sendRaw(encodeBinaryFrame({ job_id: 'again', filename: 'in.bin' }, Buffer.alloc(2 * MiB, 2)));
    await queued(second, 'again');
    expect(second.messages('again').filter((m) => m.type === 'error')).toEqual([]);
    expect(await buffered()).toBe(0);
  });

  it("fails chunked uploads trickling under UPLOAD_MIN_BYTES_PER_SECOND, giving their budget back to another client's upload, while a slow but honest one goes on", async () => {
    const window = 2;
    stack = await startStack({
      workers: 0,
      env: { GATEWAY_BUFFER_BUDGET_MB: '50', UPLOAD_IDLE_TIMEOUT_SECONDS: '3', UPLOAD_MIN_RATE_WINDOW_SECONDS: String(window) },
    });
    // auth is off: each connection is a client of its own, and no share keeps them from the whole budget
    const tricklers = await Promise.all([0, 1, 2, 3].map(() => connect()));
    const honest = await connect();
    for (const c of [...tricklers, honest]) await uploadJob(c, 'hold');
    // four tricklers and the honest upload hold 5 × 9 MiB of the 50: no room for another
    for (const c of tricklers) c.sendRaw(chunk('hold', 0, false, Buffer.alloc(1, 1)));
    honest.sendRaw(chunk('hold', 0, false, Buffer.alloc(64 * 1024, 2)));
    await honest.next((m) => m.type === 'upload_ack');
    expect(await buffered()).toBe(45 * MiB);
    // a byte a second each (well within the 3 s idle timeout), the honest one 64 KiB a second (the minimum is 4 KiB)
    for (let i = 1; i <= 2 * window + 1; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      for (const c of tricklers) c.sendRaw(chunk('hold', i, false, Buffer.alloc(1, 1)));
      honest.sendRaw(chunk('hold', i * 64 * 1024, false, Buffer.alloc(64 * 1024, 2)));
    }
    for (const c of tricklers)
      expect(await c.next((m) => m.type === 'error' && m.job_id === 'hold', 5000)).toMatchObject({
        code: 'JOB_FAILED',
        message: 'Upload is too slow',
        details: expect.stringMatching(
          /^the upload sent \d+ bytes in 2 s; UPLOAD_MIN_BYTES_PER_SECOND asks for at least 4096 bytes a second/,
        ),
      });
    expect(await buffered()).toBe(9 * MiB);
    // the room they held takes another client's upload
    const other = await connect();
    await uploadJob(other, 'other');
    other.sendRaw(chunk('other', 0, false, Buffer.alloc(64 * 1024, 3)));
    await other.next((m) => (m.type === 'upload_ack' || m.type === 'error') && m.job_id === 'other');
    expect(other.messages('other').filter((m) => m.type === 'error')).toEqual([]);
    // the honest upload went on all along, and ends as a published job
    honest.sendRaw(chunk('hold', (2 * window + 2) * 64 * 1024, true, Buffer.alloc(1000, 2)));
    await queued(honest, 'hold');
    expect(honest.messages('hold').filter((m) => m.type === 'error')).toEqual([]);
  });

  it('delivers an output many times larger than the budget, whole, and holds nothing after', async () => {
    stack = await startStack({ workers: 1, env: { GATEWAY_BUFFER_BUDGET_MB: '1', MAX_FILE_SIZE_MB: '100', LOG_LEVEL: 'info' } });
    const dir = await mkdtemp(join(tmpdir(), 'hostile-budget-'));
    try {
      // ~23 MB of uncompressed video: a chunked output of ~22 one-MiB chunks through a 1 MiB budget
      const big = join(dir, 'big.mkv');
      await rawVideo(big, 8);
      // its 9 MiB window is more than the whole budget: it goes alone
      const client = await uploadFileJob('big', 'remove_audio', {}, big);
      const { final } = await client.result('big', 120_000);
      expect(final.type).toBe('completed');
      const size = (final.outputs as { size_bytes: number }[])[0]!.size_bytes;
      expect(size).toBeGreaterThan(16 * MiB);
      expect(receivedBytes(client, 'big').length).toBe(size);
      expect(await buffered()).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
