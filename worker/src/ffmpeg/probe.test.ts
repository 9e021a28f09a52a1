/** probe() against the real ffprobe: the pixel ceiling refuses a bomb from its header. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { MiB } from '@media-foundry/shared';
import { useTempDir } from '@media-foundry/test-support';
import { probe } from './probe.js';

describe('probe', () => {
  const dir = useTempDir('probe-');
  beforeAll(async () => {
    const svg = (w: number, h: number) =>
      `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="${w}" height="${h}"/></svg>`;
    await writeFile(join(dir(), 'big.svg'), svg(16000, 16000));
    await writeFile(join(dir(), 'small.svg'), svg(64, 48));
    // an MP3 whose cover art (a 1200x1200 JPEG) is over the ceilings below: cover art is not a video track
    await execa('ffmpeg', [
      ...['-v', 'error', '-f', 'lavfi', '-i', 'sine=duration=1', '-f', 'lavfi', '-i', 'color=c=red:s=1200x1200:d=1'],
      ...['-map', '0', '-map', '1', '-frames:v', '1', '-c:v', 'mjpeg', '-disposition:v', 'attached_pic', join(dir(), 'cover.mp3')],
    ]);
  });

  it('refuses a picture over maxPixels, naming the input and MAX_INPUT_PIXELS', async () => {
    await expect(
      probe('ffprobe', join(dir(), 'big.svg'), { maxPixels: 1_000_000, maxMemoryBytes: 1024 * MiB, which: 'input 2' }),
    ).rejects.toMatchObject({
      code: 'JOB_FAILED',
      message: 'Input resolution is too large',
      details: 'input 2 is 16000x16000; MAX_INPUT_PIXELS allows 1000000 pixels',
    });
  });

  it('reads a picture within maxPixels, under prlimit', async () => {
    const info = await probe('ffprobe', join(dir(), 'small.svg'), { maxPixels: 1_000_000, maxMemoryBytes: 1024 * MiB });
    expect(info.video).toMatchObject({ width: 64, height: 48 });
  });

  it('reads an audio file whose cover art is over maxPixels: only a video track is refused', async () => {
    const info = await probe('ffprobe', join(dir(), 'cover.mp3'), { maxPixels: 1_000_000, maxMemoryBytes: 1024 * MiB });
    expect(info.video).toBeNull();
    expect(info.audio).not.toBeNull();
  });

  it('is killed when the job is cancelled', async () => {
    await expect(probe('ffprobe', join(dir(), 'small.svg'), { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'JOB_CANCELLED',
    });
  });
});
