import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errors, failureKind } from '@media-foundry/shared';
import { useTempDir } from '@media-foundry/test-support';
import { GrowingFile } from './growing-file.js';
import { BlockReader } from './range-source.js';

const dir = useTempDir('growing-file');
const body = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
const live = () => new AbortController().signal;

/** Writes `chunk` through the sink and waits until it is written. */
const put = (sink: NodeJS.WritableStream, chunk: Buffer) =>
  new Promise<void>((resolve, reject) => sink.write(chunk, (err) => (err ? reject(err) : resolve())));
/** Whether `promise` has settled after the pending I/O and callbacks have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setTimeout(resolve, 20));
  return done;
}

describe('GrowingFile', () => {
  it('answers a read once the download has written past its end, and not before', async () => {
    const file = await GrowingFile.create(join(dir(), 'a.bin'), body.length);
    const sink = file.sink();
    const read = file.read({ start: 1000, end: 2999 }, live());
    await put(sink, body.subarray(0, 2000));
    expect(file.arrived).toBe(2000);
    expect(await settled(read)).toBe(false);
    await put(sink, body.subarray(2000, 3000));
    expect(await read).toEqual(body.subarray(1000, 3000));
    // bytes already here are answered at once
    expect(await file.read({ start: 0, end: 9 }, live())).toEqual(body.subarray(0, 10));
    await put(sink, body.subarray(3000));
    sink.end();
    file.complete();
    expect(await file.read({ start: 9000, end: 9999 }, live())).toEqual(body.subarray(9000));
    await file.close();
  });

  it('shows the first chunk as soon as it is written (where an MP4 says its index is)', async () => {
    const file = await GrowingFile.create(join(dir(), 'first.bin'), body.length);
    const sink = file.sink();
    await put(sink, body.subarray(0, 100));
    expect(await file.first).toEqual(body.subarray(0, 100));
    sink.destroy();
    await file.close();
  });

  it('fails the reads waiting on it with the download failure, and every later read past what arrived', async () => {
    const file = await GrowingFile.create(join(dir(), 'b.bin'), body.length);
    const sink = file.sink();
    await put(sink, body.subarray(0, 500));
    const waiting = file.read({ start: 400, end: 1999 }, live());
    const cause = errors.transient('Could not download the input URL', 'ECONNRESET');
    file.fail(cause);
    await expect(waiting).rejects.toBe(cause);
    await expect(file.read({ start: 600, end: 700 }, live())).rejects.toBe(cause);
    // what arrived is still readable
    expect(await file.read({ start: 0, end: 499 }, live())).toEqual(body.subarray(0, 500));
    sink.destroy();
    await file.close();
  });

  it('counts a download that ended short of its declared size as cut short (transient), and fails one that sends more', async () => {
    const short = await GrowingFile.create(join(dir(), 'short.bin'), body.length);
    await pipeline(Readable.from([body.subarray(0, 4000)]), short.sink());
    const waiting = short.read({ start: 0, end: body.length - 1 }, live());
    short.complete();
    const err = await waiting.catch((e: unknown) => e);
    expect(err).toMatchObject({ message: 'Input read was cut short' });
    expect(failureKind(err)).toBe('transient');

    const long = await GrowingFile.create(join(dir(), 'long.bin'), 100);
    await expect(pipeline(Readable.from([body.subarray(0, 60), body.subarray(60, 160)]), long.sink())).rejects.toMatchObject({
      message: 'Input changed while being read',
    });
    expect(long.arrived).toBe(60);
    await long.close();
  });

  it('takes the rest of a cut download through another sink, from where the first one stopped', async () => {
    const path = join(dir(), 'resumed.bin');
    const file = await GrowingFile.create(path, body.length);
    const waiting = file.read({ start: 0, end: body.length - 1 }, live());
    const cut = new Error('ECONNRESET');
    await expect(
      pipeline(
        Readable.from(
          (async function* () {
            yield body.subarray(0, 3000);
            throw cut;
          })(),
        ),
        file.sink(),
      ),
    ).rejects.toBe(cut);
    const from = await file.settled();
    expect(from).toBe(3000);
    await pipeline(Readable.from([body.subarray(from)]), file.sink());
    file.complete();
    expect(await waiting).toEqual(body);
    await file.close();
    expect(await readFile(path)).toEqual(body);
  });

  it('gives up a wait when the job is cancelled', async () => {
    const file = await GrowingFile.create(join(dir(), 'c.bin'), body.length);
    const cancel = new AbortController();
    const waiting = file.read({ start: 0, end: 99 }, cancel.signal);
    cancel.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    file.sink().destroy();
    await file.close();
  });

  it('is read through a BlockReader without spending the job input budget again (the download counted it)', async () => {
    const path = join(dir(), 'd.bin');
    const file = await GrowingFile.create(path, body.length);
    let taken = 0;
    const budget = { take: (n: number) => ((taken += n), true), release: () => {}, exceeded: () => errors.jobFailed('x', 'y') };
    const reader = new BlockReader(file, { blockBytes: 1024, cacheBlocks: 2, budget, retrying: (_what, step) => step() });
    const block = reader.block(3, live());
    await pipeline(Readable.from([body]), file.sink());
    file.complete();
    expect(await block).toEqual(body.subarray(3072, 4096));
    expect(await reader.bytes(0, body.length, live())).toEqual(body);
    expect(taken).toBe(0);
    expect(await readFile(path)).toEqual(body);
    await file.close();
  });
});
