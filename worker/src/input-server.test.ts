import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { errors } from '@media-foundry/shared';
import { useTempDir } from '@media-foundry/test-support';
import { probe } from './ffmpeg/probe.js';
import { runFfmpeg } from './ffmpeg/run.js';
import { InputServer, isServedInputUrl } from './input-server.js';
import { ArrivingBlock, BlockReader, type RangeSource } from './range-source.js';

const BLOCK = 1024;
const body = Buffer.from(Array.from({ length: 10 * BLOCK + 100 }, (_, i) => i % 251));

/** A source over `body` that records the ranges read, and fails from `failAt` on. */
function memorySource(failAt = Infinity) {
  const reads: string[] = [];
  const source: RangeSource = {
    size: body.length,
    async read(range) {
      reads.push(`${range.start}-${range.end}`);
      if (range.start >= failAt) throw errors.jobFailed('Input changed while being read', 'the origin lied');
      return body.subarray(range.start, range.end + 1);
    },
  };
  return { source, reads };
}

const budget = (max = Infinity) => {
  let used = 0;
  return { take: (n: number) => (used += n) <= max, release: () => {}, exceeded: () => errors.jobFailed('Inputs are too large', 'budget') };
};
const direct = <T>(_what: string, step: () => Promise<T>) => step();
const reader = (source: RangeSource, max?: number) =>
  new BlockReader(source, { blockBytes: BLOCK, cacheBlocks: 4, budget: budget(max), retrying: direct });
/** A reader whose budget takes everything and counts what it took. */
function countingReader(source: RangeSource) {
  let taken = 0;
  const counting = { ...budget(), take: (n: number) => ((taken += n), true) };
  return { blocks: new BlockReader(source, { blockBytes: BLOCK, cacheBlocks: 4, budget: counting, retrying: direct }), taken: () => taken };
}

let server: InputServer;
beforeAll(async () => {
  server = await InputServer.start();
});
afterAll(() => server.close());

const get = (url: string, range?: string) => fetch(url, { headers: range ? { range } : {} });

describe('InputServer', () => {
  it('serves exact bytes for a range, in a window that starts at one block, doubles while reads go on and ends where a block ends', async () => {
    const { source, reads } = memorySource();
    const served = server.serve(reader(source), 'input.mp4', new AbortController().signal);
    expect(isServedInputUrl(served.url)).toBe(true);
    expect(served.url).toMatch(/\/input\.mp4$/);
    let res = await get(served.url, 'bytes=100-');
    expect(res.status).toBe(206);
    // not 100-1123: those 100 bytes more would fetch the whole second block
    expect(res.headers.get('content-range')).toBe(`bytes 100-1023/${body.length}`);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(body.subarray(100, 1024));
    expect(reads).toEqual(['0-1023']);
    res = await get(served.url, 'bytes=1024-'); // goes on where the last answer ended: twice as long
    expect(res.headers.get('content-range')).toBe(`bytes 1024-3071/${body.length}`);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(body.subarray(1024, 3072));
    res = await get(served.url, 'bytes=3072-'); // and on: twice again
    expect(res.headers.get('content-range')).toBe(`bytes 3072-7167/${body.length}`);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(body.subarray(3072, 7168));
    res = await get(served.url, 'bytes=8000-'); // a seek: to the end of the block it lands in
    expect(res.headers.get('content-range')).toBe(`bytes 8000-8191/${body.length}`);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(body.subarray(8000, 8192));
    res = await get(served.url, `bytes=${body.length - 10}-`); // never past the end
    expect(Buffer.from(await res.arrayBuffer())).toEqual(body.subarray(body.length - 10));
    expect((await get(served.url, `bytes=${body.length}-`)).status).toBe(416);
    served.close();
  });

  it('reads each block from the source once while it is cached', async () => {
    const { source, reads } = memorySource();
    const r = reader(source);
    const served = server.serve(r, 'input.mp4', new AbortController().signal);
    await (await get(served.url, 'bytes=0-1023')).arrayBuffer();
    await (await get(served.url, 'bytes=0-1023')).arrayBuffer();
    expect(reads).toEqual(['0-1023']);
    expect(r.fetchedBytes).toBe(BLOCK);
    served.close();
  });

  it("serves a block's tail read on its own (an MP4's moov, read ahead) without fetching the whole block", async () => {
    const { source, reads } = memorySource();
    const r = reader(source);
    const start = 10 * BLOCK + 40; // in the last block, as a moov at the end of a file is
    expect(r.seedTail(start, new ArrivingBlock(() => Promise.resolve(body.subarray(start))))).toBe(true);
    const served = server.serve(r, 'input.mp4', new AbortController().signal);
    const res = await get(served.url, `bytes=${start}-`);
    expect(res.headers.get('content-range')).toBe(`bytes ${start}-${body.length - 1}/${body.length}`);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(body.subarray(start));
    expect(reads).toEqual([]);
    // from before the tail: the whole block, read as any block is
    const earlier = await get(served.url, `bytes=${10 * BLOCK}-`);
    expect(Buffer.from(await earlier.arrayBuffer())).toEqual(body.subarray(10 * BLOCK));
    expect(reads).toEqual([`${10 * BLOCK}-${body.length - 1}`]);
    served.close();
  });

  it('records why a read failed, answers 502 from then on, and forgets the input once closed', async () => {
    const { source } = memorySource(2 * BLOCK);
    const served = server.serve(reader(source), 'input.mp4', new AbortController().signal);
    expect((await get(served.url, 'bytes=0-')).status).toBe(206);
    expect((await get(served.url, `bytes=${2 * BLOCK}-`)).status).toBe(502);
    expect(served.failure()).toMatchObject({ code: 'JOB_FAILED', details: 'the origin lied' });
    expect((await get(served.url, 'bytes=0-')).status).toBe(502);
    served.close();
    expect((await get(served.url, 'bytes=0-')).status).toBe(404);
  });

  it("counts every byte against the job's input budget", async () => {
    const { source } = memorySource();
    const served = server.serve(reader(source, BLOCK + 512), 'input.mp4', new AbortController().signal);
    expect((await get(served.url, 'bytes=0-')).status).toBe(206);
    expect((await get(served.url, `bytes=${4 * BLOCK}-`)).status).toBe(502);
    expect(served.failure()?.message).toBe('Inputs are too large');
    served.close();
  });

  it('stops serving when the job ends, and answers no other path', async () => {
    const job = new AbortController();
    const served = server.serve(reader(memorySource().source), 'input.mp4', job.signal);
    job.abort();
    expect((await get(served.url)).status).toBe(404);
    expect((await get(served.url.replace(/\/[0-9a-f]{32}\//, `/${'0'.repeat(32)}/`))).status).toBe(404);
    expect(server.serving).toBe(0);
  });
});

describe('BlockReader.bytes', () => {
  it('returns exact bytes across blocks, clamped to the size, through the cache', async () => {
    const { source, reads } = memorySource();
    const blocks = reader(source);
    const signal = new AbortController().signal;
    expect(await blocks.bytes(100, 200, signal)).toEqual(body.subarray(100, 200));
    expect(await blocks.bytes(BLOCK - 10, 2 * BLOCK + 10, signal)).toEqual(body.subarray(BLOCK - 10, 2 * BLOCK + 10));
    expect(await blocks.bytes(body.length - 50, body.length + 50, signal)).toEqual(body.subarray(body.length - 50));
    expect(await blocks.bytes(body.length, body.length + 8, signal)).toHaveLength(0);
    expect(reads).toEqual([
      `0-${BLOCK - 1}`,
      `${BLOCK}-${2 * BLOCK - 1}`,
      `${2 * BLOCK}-${3 * BLOCK - 1}`,
      `${10 * BLOCK}-${body.length - 1}`,
    ]);
  });
});

describe('BlockReader.adopt', () => {
  it('serves a block whose read began elsewhere without reading it again, counting it against the budget', async () => {
    const { source, reads } = memorySource();
    const { blocks, taken } = countingReader(source);
    const signal = new AbortController().signal;
    expect(blocks.adopt(10, Promise.resolve(body.subarray(10 * BLOCK)))).toBe(true);
    expect(await blocks.bytes(10 * BLOCK + 5, 10 * BLOCK + 50, signal)).toEqual(body.subarray(10 * BLOCK + 5, 10 * BLOCK + 50));
    expect(reads).toEqual([]);
    expect(taken()).toBe(100);
    expect(blocks.fetchedBytes).toBe(100);
  });

  it('reads a block again, as any block is read, when the read it took over failed: for a waiter, and when asked later', async () => {
    const { source, reads } = memorySource();
    const blocks = reader(source);
    const signal = new AbortController().signal;
    let fail!: (err: Error) => void;
    expect(blocks.adopt(3, new Promise<Buffer>((_, reject) => (fail = reject)))).toBe(true);
    const waiting = blocks.block(3, signal);
    fail(errors.transient('Input read was cut short', 'connection reset'));
    expect(await waiting).toEqual(body.subarray(3 * BLOCK, 4 * BLOCK));
    expect(reads).toEqual([`${3 * BLOCK}-${4 * BLOCK - 1}`]);
    // a failed read no one waited for costs nothing until the block is asked for
    expect(blocks.adopt(5, Promise.reject(errors.transient('Input read was cut short', 'connection reset')))).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(reads).toHaveLength(1);
    expect(await blocks.block(5, signal)).toEqual(body.subarray(5 * BLOCK, 6 * BLOCK));
  });

  it('takes over nothing past the budget: the block then fails when asked for, as any block over budget does', async () => {
    const { source } = memorySource();
    const blocks = reader(source, BLOCK / 2);
    const signal = new AbortController().signal;
    expect(blocks.adopt(2, Promise.resolve(body.subarray(2 * BLOCK, 3 * BLOCK)))).toBe(false);
    await expect(blocks.block(2, signal)).rejects.toMatchObject({ message: 'Inputs are too large' });
  });
});

describe('BlockReader.seedArriving', () => {
  /** A block read whose chunks the test sends one by one, as an origin would. */
  function arriving(index: number) {
    let onChunk!: (chunk: Buffer) => void;
    let end!: (bytes: Buffer) => void;
    let fail!: (err: Error) => void;
    const block = new ArrivingBlock((see) => {
      onChunk = see;
      return new Promise<Buffer>((resolve, reject) => ((end = resolve), (fail = reject)));
    });
    const bytes = body.subarray(index * BLOCK, (index + 1) * BLOCK);
    return { block, send: (from: number, to: number) => onChunk(bytes.subarray(from, to)), end: () => end(bytes), fail };
  }

  it("serves a block's first bytes while the rest still arrives, then the whole block, reading nothing again", async () => {
    const { source, reads } = memorySource();
    const blocks = reader(source);
    const signal = new AbortController().signal;
    const first = arriving(0);
    blocks.seedArriving(0, first.block);
    first.send(0, 100);
    expect(await blocks.bytes(10, 60, signal)).toEqual(body.subarray(10, 60));
    let past: Buffer | null = null;
    const waiting = blocks.bytes(90, 300, signal).then((b) => (past = b));
    await new Promise((r) => setImmediate(r));
    expect(past).toBeNull(); // bytes 100-299 are not here yet
    first.send(100, 400);
    expect(await waiting).toEqual(body.subarray(90, 300));
    first.send(400, BLOCK);
    first.end();
    // across the block's end: the rest of it, then the next block, read from the source
    expect(await blocks.bytes(BLOCK - 10, BLOCK + 10, signal)).toEqual(body.subarray(BLOCK - 10, BLOCK + 10));
    expect(reads).toEqual([`${BLOCK}-${2 * BLOCK - 1}`]);
    expect(blocks.fetchedBytes).toBe(2 * BLOCK);
  });

  it('answers with the failure of a read that a retry would not mend, without reading the block again', async () => {
    const { source, reads } = memorySource();
    const blocks = reader(source);
    const signal = new AbortController().signal;
    const first = arriving(0);
    blocks.seedArriving(0, first.block);
    first.send(0, 100);
    const waiting = blocks.bytes(50, 500, signal);
    first.fail(errors.jobFailed('Input download is too slow', 'the input URL did not send 524288 bytes within 40s'));
    await expect(waiting).rejects.toMatchObject({ message: 'Input download is too slow' });
    await expect(blocks.block(0, signal)).rejects.toMatchObject({ message: 'Input download is too slow' });
    expect(reads).toEqual([]);
  });

  it('reads the block again when its read fails: for a header read waiting on bytes not yet here, and for ffmpeg', async () => {
    const { source, reads } = memorySource();
    const blocks = reader(source);
    const signal = new AbortController().signal;
    const first = arriving(0);
    blocks.seedArriving(0, first.block);
    first.send(0, 100);
    const waiting = blocks.bytes(50, 500, signal);
    first.fail(errors.transient('Input read was cut short', 'connection reset'));
    expect(await waiting).toEqual(body.subarray(50, 500));
    expect(await blocks.block(0, signal)).toEqual(body.subarray(0, BLOCK));
    expect(reads).toEqual([`0-${BLOCK - 1}`]);
  });
});

describe('BlockReader.seedTail', () => {
  it("serves bytes from a block's tail read on its own, before and without the whole block; counted against the budget", async () => {
    const { source, reads } = memorySource();
    const { blocks, taken } = countingReader(source);
    const signal = new AbortController().signal;
    const start = 6 * BLOCK + 1000;
    expect(blocks.seedTail(start, new ArrivingBlock(() => Promise.resolve(body.subarray(start, 7 * BLOCK))))).toBe(true);
    expect(taken()).toBe(BLOCK - 1000);
    await new Promise((r) => setImmediate(r)); // read after the tail's read ended (it showed no chunk on the way)
    expect(await blocks.bytes(start + 4, start + 20, signal)).toEqual(body.subarray(start + 4, start + 20));
    expect(reads).toEqual([]);
    // bytes before the tail are the whole block's, read as any block is
    expect(await blocks.bytes(start - 10, start + 10, signal)).toEqual(body.subarray(start - 10, start + 10));
    expect(reads).toEqual([`${6 * BLOCK}-${7 * BLOCK - 1}`]);
    expect(blocks.fetchedBytes).toBe(BLOCK - 1000 + BLOCK);
  });

  it('reads the whole block when the tail read fails, and takes no tail of a block it has or past the budget', async () => {
    const { source, reads } = memorySource();
    const blocks = reader(source, 2 * BLOCK);
    const signal = new AbortController().signal;
    const start = 2 * BLOCK + 10;
    const failed = new ArrivingBlock(() => Promise.reject(errors.transient('Input read was cut short', 'connection reset')));
    expect(blocks.seedTail(start, failed)).toBe(true);
    expect(await blocks.bytes(start, start + 10, signal)).toEqual(body.subarray(start, start + 10));
    expect(reads).toEqual([`${2 * BLOCK}-${3 * BLOCK - 1}`]);
    expect(blocks.seedTail(start, new ArrivingBlock(() => Promise.resolve(body.subarray(start, 3 * BLOCK))))).toBe(false);
    expect(blocks.seedTail(5 * BLOCK + 10, new ArrivingBlock(() => Promise.resolve(body.subarray(5 * BLOCK + 10, 6 * BLOCK))))).toBe(false);
  });
});

describe('ffmpeg and ffprobe reading a served input', () => {
  const tempDir = useTempDir('input-server-test-');
  let clip: Buffer;
  beforeAll(async () => {
    // noise, losslessly, index first: a few MB that ffmpeg reads window after window
    const path = join(tempDir(), 'in.mp4');
    await execa('ffmpeg', [
      ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=2,noise=alls=20:allf=t'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-movflags', '+faststart', path],
    ]);
    clip = await readFile(path);
  });

  /** The clip served by 64 KiB blocks, failing from byte `failAt` on. */
  function serveClip(failAt = Infinity) {
    const source: RangeSource = {
      size: clip.length,
      async read(range) {
        if (range.start >= failAt) throw errors.jobFailed('Input changed while being read', 'the origin lied');
        return clip.subarray(range.start, range.end + 1);
      },
    };
    const r = new BlockReader(source, { blockBytes: 64 * 1024, cacheBlocks: 4, budget: budget(), retrying: direct });
    return server.serve(r, 'input.mp4', new AbortController().signal);
  }

  it('gives up at once when a read failed: no reconnect back-off holding the job for minutes', async () => {
    const served = serveClip(clip.length / 2);
    const started = Date.now();
    await runFfmpeg(['-i', served.url, '-f', 'null', '-'], { ffmpegPath: 'ffmpeg', timeoutMs: 110_000 }).catch(() => {});
    // ffmpeg retried a failed reconnect after 1, 3, 7, … s: 2 minutes in all
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(served.failure()).toMatchObject({ details: 'the origin lied' });
    served.close();
  });

  it('reads the whole input across many windows', async () => {
    const served = serveClip();
    const { stdout } = await execa('ffmpeg', [
      ...['-v', 'error', '-protocol_whitelist', 'http,tcp', '-reconnect', '1', '-reconnect_delay_max', '0'],
      ...['-i', served.url, '-map', '0:v', '-f', 'framemd5', '-'],
    ]);
    expect(stdout.split('\n').filter((l) => l.startsWith('0,'))).toHaveLength(50);
    served.close();
  });

  it("is not sent through a proxy the worker's environment names (it would get the secret URL)", async () => {
    const seen: string[] = [];
    const proxy = createServer((socket) => socket.on('data', (d) => (seen.push(d.toString('latin1')), socket.destroy())));
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const before = process.env.http_proxy;
    process.env.http_proxy = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const served = serveClip();
      const info = await probe('ffprobe', served.url);
      expect(info.video).not.toBeNull();
      expect(seen).toEqual([]);
      served.close();
    } finally {
      if (before === undefined) delete process.env.http_proxy;
      else process.env.http_proxy = before;
      await new Promise((r) => proxy.close(r));
    }
  });
});
