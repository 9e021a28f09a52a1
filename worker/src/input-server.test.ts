import { errors } from '@media-foundry/shared';
import { InputServer, isServedInputUrl } from './input-server.js';
import { BlockReader, type RangeSource } from './range-source.js';

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

let server: InputServer;
beforeAll(async () => {
  server = await InputServer.start();
});
afterAll(() => server.close());

const get = (url: string, range?: string) => fetch(url, { headers: range ? { range } : {} });

describe('InputServer', () => {
  it('serves exact bytes for a range, in a window that starts at one block and doubles while reads go on', async () => {
    const { source } = memorySource();
    const served = server.serve(reader(source), 'input.mp4', new AbortController().signal);
    expect(isServedInputUrl(served.url)).toBe(true);
    expect(served.url).toMatch(/\/input\.mp4$/);
    let res = await get(served.url, 'bytes=100-');
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 100-1123/${body.length}`);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(body.subarray(100, 1124));
    res = await get(served.url, 'bytes=1124-'); // goes on where the last answer ended: twice as long
    expect(res.headers.get('content-range')).toBe(`bytes 1124-3171/${body.length}`);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(body.subarray(1124, 3172));
    res = await get(served.url, 'bytes=8000-'); // a seek: one block again
    expect(res.headers.get('content-range')).toBe(`bytes 8000-9023/${body.length}`);
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
