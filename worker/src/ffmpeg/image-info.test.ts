import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@media-foundry/test-support';
import { stillImageInfo } from './image-info.js';

describe('stillImageInfo', () => {
  const dir = useTempDir('mf-image-info-');

  /** An image as the thumbnail operation makes it: ffmpeg, one frame of a test pattern. */
  const still = async (name: string, size: string, extra: string[] = []) => {
    const path = join(dir(), name);
    await execa('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:duration=1`, '-frames:v', '1', ...extra, '-y', path]);
    return readFile(path);
  };

  it.each([
    ['a.png', '640x360', [], { codec: 'png', width: 640, height: 360 }],
    ['a.jpg', '320x180', [], { codec: 'mjpeg', width: 320, height: 180 }],
    ['q.jpg', '1920x1080', ['-q:v', '2'], { codec: 'mjpeg', width: 1920, height: 1080 }],
  ] as const)('reads %s as ffmpeg writes it', async (name, size, extra, expected) => {
    expect(stillImageInfo(await still(name, size, [...extra]))).toEqual(expected);
  });

  it('says nothing of what it cannot read there', async () => {
    expect(stillImageInfo(Buffer.from('GIF89a....'))).toBeNull();
    expect(stillImageInfo(Buffer.alloc(0))).toBeNull();
    const jpeg = await still('b.jpg', '64x64');
    expect(stillImageInfo(jpeg.subarray(0, 20))).toBeNull(); // cut before the frame header
    const png = await still('b.png', '64x64');
    expect(stillImageInfo(png.subarray(0, 16))).toBeNull();
  });
});
