/**
 * describeGif against the real ffprobe: GIFs made here the way the `gif`
 * operation makes them, across its frame rates and durations, described
 * in-process equal the MediaInfo probe() builds from ffprobe, field by field.
 * What is left to ffprobe comes back null.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { useTempDir } from '@media-foundry/test-support';
import { describeGif, describeGifInput, GIF_MAX_DESCRIBED_BYTES, gifAverageFrameRate, readGifFrames } from './gif-info.js';
import { gifFilter } from './operations/gif.js';
import { probe } from './probe.js';

/** As the worker describes an output GIF: the whole file. */
async function describeGifFile(path: string) {
  return describeGif(await readFile(path));
}

/** A GIF89a of `width`×`height` whose frames wait `delays` hundredths each (one-pixel images, no colour tables). */
function gifBytes(delays: number[], { width = 4, height = 2 } = {}): Buffer {
  const screen = Buffer.alloc(13);
  screen.write('GIF89a', 0, 'latin1');
  screen.writeUInt16LE(width, 6);
  screen.writeUInt16LE(height, 8);
  const frames = delays.map((delay) => {
    const control = Buffer.from([0x21, 0xf9, 4, 0, 0, 0, 0, 0]);
    control.writeUInt16LE(delay, 4);
    const image = Buffer.from([0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x4c, 0x01, 0]);
    return Buffer.concat([control, image]);
  });
  // a comment extension, skipped like any other
  const comment = Buffer.from([0x21, 0xfe, 3, 0x61, 0x62, 0x63, 0]);
  return Buffer.concat([screen, comment, ...frames, Buffer.from([0x3b])]);
}

describe('readGifFrames', () => {
  it('reads the screen size and each frame delay, past other extensions', () => {
    expect(readGifFrames(gifBytes([7, 6, 7], { width: 320, height: 180 }))).toEqual({ width: 320, height: 180, delays: [7, 6, 7] });
  });

  it('refuses a graphic control without its image, whose delay libavformat would count with no frame for it', () => {
    const gif = gifBytes([10, 10]);
    const control = Buffer.from([0x21, 0xf9, 4, 0, 50, 0, 0, 0]);
    // one before the trailer, and two in a row
    expect(readGifFrames(Buffer.concat([gif.subarray(0, gif.length - 1), control, Buffer.from([0x3b])]))).toBeNull();
    expect(readGifFrames(Buffer.concat([gif.subarray(0, 20), control, gif.subarray(20)]))).toBeNull();
  });

  it('refuses what it cannot walk to the trailer: another format, a cut, an image without its graphic control', () => {
    const gif = gifBytes([10, 10]);
    expect(readGifFrames(Buffer.from('\x89PNG\r\n\x1a\n0000000000000', 'latin1'))).toBeNull();
    expect(readGifFrames(gif.subarray(0, gif.length - 1))).toBeNull();
    expect(readGifFrames(gif.subarray(0, 30))).toBeNull();
    const bare = Buffer.concat([gif.subarray(0, 13), Buffer.from([0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x4c, 0x01, 0, 0x3b])]);
    expect(readGifFrames(bare)).toBeNull();
    expect(readGifFrames(Buffer.concat([gif.subarray(0, 13), Buffer.from([0x99, 0x3b])]))).toBeNull();
  });
});

describe('gifAverageFrameRate (libavformat’s estimate)', () => {
  it('leaves the first two packets out, and rounds to a standard rate within 1 %', () => {
    // 15 fps as ffmpeg writes it: 7, 6, 7 hundredths; ffprobe says 179/12, not 15
    const fifteen = Array.from({ length: 35 }, (_, i) => [7, 6, 7][i % 3]!);
    fifteen[34] = 7;
    expect(gifAverageFrameRate(fifteen)).toBe('179/12');
    expect(gifAverageFrameRate(Array(20).fill(10))).toBe('10/1');
  });

  it('reads 50 packets at most, and stops adding once five seconds are counted', () => {
    // past packet 49 a different pace changes nothing
    expect(gifAverageFrameRate([...Array(50).fill(4), ...Array(50).fill(50)])).toBe('25/1');
    // 50 hundredths each: packets 2-11 make five seconds, the rest is not read
    expect(gifAverageFrameRate([...Array(12).fill(50), ...Array(20).fill(5)])).toBe('2/1');
    // one delay past the limit: a single packet counts, an exact fraction far from any standard rate
    expect(gifAverageFrameRate(Array(5).fill(700))).toBe('1/7');
  });

  it('has none below three frames, and none where libavformat would approximate', () => {
    expect(gifAverageFrameRate([10, 10])).toBeNull();
    expect(gifAverageFrameRate([10, 10, 40_000])).toBeNull();
  });
});

describe('describeGif', () => {
  const dir = useTempDir('gif-info-');

  /** The `gif` operation's run (palette or not), on a 25 fps or 29.97 fps clip. */
  async function makeGif(name: string, fps: number, seconds: number, { rate = '25', optimize = true } = {}): Promise<string> {
    const path = join(dir(), `${name}.gif`);
    const filter = gifFilter(0, fps, 64, optimize);
    await execa('ffmpeg', [
      ...['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=160x90:rate=${rate}:duration=40`],
      ...['-ss', '1.3', '-t', String(seconds)],
      ...(optimize ? ['-filter_complex', filter] : ['-vf', filter]),
      ...['-loop', '0', path],
    ]);
    return path;
  }

  // the option ranges (fps 1-30, up to 30 s) where the estimate's limits bite: 50 packets, five seconds
  const cases: [number, number, string][] = [
    [1, 12, '25'],
    [2, 7.5, '25'],
    [5, 6, '25'],
    [7, 3.7, '25'],
    [10, 5, '25'],
    [12, 2.3, '25'],
    [15, 2.3, '25'],
    [15, 4, '30000/1001'],
    [24, 2.3, '25'],
    [24, 3, '30000/1001'],
    [30, 1.1, '25'],
    [30, 30, '30000/1001'],
  ];
  it.each(cases)('matches ffprobe for %i fps over %d s of a %s fps clip', async (fps, seconds, rate) => {
    const path = await makeGif(`f${fps}-${seconds}-${rate.replace('/', '_')}`, fps, seconds, { rate });
    const described = await describeGifFile(path);
    expect(described).not.toBeNull();
    expect(described).toEqual(await probe('ffprobe', path));
  });

  it('matches ffprobe without a palette, and with uneven delays', async () => {
    const plain = await makeGif('plain', 10, 2, { optimize: false });
    expect(await describeGifFile(plain)).toEqual(await probe('ffprobe', plain));
    // delays of 1 (read as 10), 3 and a long pause
    const uneven = join(dir(), 'uneven.gif');
    await execa('ffmpeg', [
      ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=48x32:rate=25:duration=10', '-frames:v', '60'],
      ...['-vf', "setpts='(N*0.02+if(eq(N,5),3,0))/TB'", '-fps_mode', 'passthrough', '-loop', '0', uneven],
    ]);
    expect((await describeGifFile(uneven))?.video?.fps).toBe(4.333);
    expect(await describeGifFile(uneven)).toEqual(await probe('ffprobe', uneven));
  });

  it('leaves two-frame GIFs, files of 5 MB and more, and anything else to ffprobe', async () => {
    const two = await makeGif('two', 10, 0.2);
    expect(readGifFrames(await readFile(two))?.delays).toHaveLength(2);
    expect(await describeGifFile(two)).toBeNull();
    const frames = gifBytes(Array(20).fill(10));
    expect(describeGif(frames)).not.toBeNull();
    // trailing bytes past the trailer do not matter to the size check, which comes first
    expect(describeGif(Buffer.concat([frames, Buffer.alloc(GIF_MAX_DESCRIBED_BYTES - frames.length)]))).toBeNull();
    expect(describeGif(Buffer.from('not a gif at all'))).toBeNull();
  });
});

describe('describeGifInput', () => {
  /** A ReadBytes over `bytes` that records what was asked. */
  const reader = (bytes: Buffer) => {
    const asked: [number, number][] = [];
    const read = async (start: number, end: number) => {
      asked.push([start, end]);
      return bytes.subarray(start, end);
    };
    return { read, asked };
  };

  it('describes a GIF as describeGif does, and reads only six bytes of anything else', async () => {
    const gif = gifBytes(Array(20).fill(10), { width: 320, height: 180 });
    expect(await describeGifInput(reader(gif).read, gif.length)).toEqual(describeGif(gif));
    const mp4 = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypisom'), Buffer.alloc(100)]);
    const other = reader(mp4);
    expect(await describeGifInput(other.read, mp4.length)).toBeNull();
    expect(other.asked).toEqual([[0, 6]]);
  });

  it('reads nothing of an input of 5 MB or more', async () => {
    const big = reader(gifBytes([10, 10, 10]));
    expect(await describeGifInput(big.read, GIF_MAX_DESCRIBED_BYTES)).toBeNull();
    expect(big.asked).toEqual([]);
  });
});
