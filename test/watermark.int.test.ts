/**
 * `watermark` end to end: an image (a PNG with alpha, by URL and by upload)
 * and a text at each position, checked by sampling a frame's pixels against
 * the unwatermarked input — the marked region changes, the opposite corner
 * does not — and a text full of filter-graph and drawtext syntax drawn
 * literally. Small flat-grey inputs keep it cheap.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { ffprobe, grayFrame, makeGreyVideo, renderLavfi } from './helpers/media.js';
import { useSuite } from './helpers/suite.js';

const W = 320;
const H = 240;

/** The input's frame at 1 s, unwatermarked. */
let plain: Buffer;

const { dir, files, client } = useSuite({
  name: 'watermark',
  fixtures: async (dir) => {
    // a flat dark-grey video with a tone: any mark shows as a change of many pixels, and nothing else changes
    await makeGreyVideo(join(dir, 'grey.mp4'), { seconds: 2, width: W, height: H });
    // a white disc on a transparent square: alpha must survive (the square's corners stay unmarked)
    await renderLavfi(
      join(dir, 'logo.png'),
      "color=c=white:size=64x64,format=rgba,geq=r=255:g=255:b=255:a='if(lt(hypot(X-32,Y-32),28),255,0)'",
      ['-frames:v', '1'],
    );
    plain = await grayFrame(join(dir, 'grey.mp4'), 1);
  },
  // a scratch dir with filter-graph metacharacters in its name: the text file's path in the graph is escaped
  stack: ({ dir }) => ({ workerEnv: { TEMP_DIR: join(dir, "scratch we:ird'[x],y;z") } }),
  timeoutMs: 120_000,
});

type Position = 'top_left' | 'top_right' | 'bottom_left' | 'bottom_right' | 'center';
interface Region {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Pixels of `region` that differ by more than 40 grey levels between two frames of W×H. */
function changed(a: Buffer, b: Buffer, r: Region): number {
  let n = 0;
  for (let y = r.y0; y < r.y1; y++) for (let x = r.x0; x < r.x1; x++) if (Math.abs(a[y * W + x]! - b[y * W + x]!) > 40) n++;
  return n;
}

const QUARTERS: Record<Exclude<Position, 'center'>, Region> = {
  top_left: { x0: 0, y0: 0, x1: W / 2, y1: H / 2 },
  top_right: { x0: W / 2, y0: 0, x1: W, y1: H / 2 },
  bottom_left: { x0: 0, y0: H / 2, x1: W / 2, y1: H },
  bottom_right: { x0: W / 2, y0: H / 2, x1: W, y1: H },
};
const OPPOSITE: Record<Exclude<Position, 'center'>, Exclude<Position, 'center'>> = {
  top_left: 'bottom_right',
  top_right: 'bottom_left',
  bottom_left: 'top_right',
  bottom_right: 'top_left',
};
/** The middle and, for `center`, the four corner squares that must stay as they were. */
const MIDDLE: Region = { x0: W / 2 - 40, y0: H / 2 - 20, x1: W / 2 + 40, y1: H / 2 + 20 };
const CORNERS: Region[] = [
  { x0: 0, y0: 0, x1: 60, y1: 60 },
  { x0: W - 60, y0: 0, x1: W, y1: 60 },
  { x0: 0, y0: H - 60, x1: 60, y1: H },
  { x0: W - 60, y0: H - 60, x1: W, y1: H },
];

/** Runs a watermark job and returns the output's frame at 1 s, the output checked on the way. */
async function watermarked(jobId: string, options: Record<string, unknown>, input: Record<string, unknown>): Promise<Buffer> {
  client.send({ type: 'start_job', job_id: jobId, operation: 'watermark', input, options });
  const { final, files: out } = await client.result(jobId, 120_000);
  expect(final).toMatchObject({ type: 'completed', output_metadata: { format: 'mp4', video_codec: 'h264', width: W, height: H } });
  const path = join(dir, `${jobId}.mp4`);
  await writeFile(path, out.get('output.mp4')!);
  const probed = await ffprobe(path);
  // the audio is copied, not re-encoded: the same codec and the same packets' worth of time
  expect(probed.audio).toMatchObject({ codec_name: 'aac' });
  expect(Math.abs(probed.duration - 2)).toBeLessThan(0.2);
  return grayFrame(path, 1);
}

function expectMarkedAt(frame: Buffer, position: Position): void {
  if (position === 'center') {
    expect(changed(frame, plain, MIDDLE)).toBeGreaterThan(100);
    for (const corner of CORNERS) expect(changed(frame, plain, corner)).toBe(0);
    return;
  }
  expect(changed(frame, plain, QUARTERS[position])).toBeGreaterThan(100);
  expect(changed(frame, plain, QUARTERS[OPPOSITE[position]])).toBe(0);
}

const POSITIONS: Position[] = ['top_left', 'top_right', 'bottom_left', 'bottom_right', 'center'];

describe('watermark image', () => {
  it.each(POSITIONS)('overlays a PNG with alpha at %s', async (position) => {
    const frame = await watermarked(
      `img-${position}`,
      { type: 'image', position, margin: 8, scale: 0.25 },
      { source: 'url', urls: [files.url('grey.mp4'), files.url('logo.png')] },
    );
    expectMarkedAt(frame, position);
    if (position === 'top_left') {
      // 80 px wide at margin 8: the disc's centre is white, the square's transparent corner still grey
      expect(frame[(8 + 40) * W + 8 + 40]!).toBeGreaterThan(200);
      expect(Math.abs(frame[(8 + 2) * W + 8 + 2]! - plain[(8 + 2) * W + 8 + 2]!)).toBeLessThan(10);
    }
  });

  it('takes the image as an upload, and applies opacity', async () => {
    client.startJob(
      'img-upload',
      'watermark',
      { source: 'upload', filenames: ['video.mp4', 'logo.png'] },
      { type: 'image', position: 'top_left', margin: 8, scale: 0.25, opacity: 0.5 },
    );
    await client.next((m) => m.type === 'ack' && m.job_id === 'img-upload');
    client.upload('img-upload', 'logo.png', await readFile(join(dir, 'logo.png')));
    client.upload('img-upload', 'video.mp4', await readFile(join(dir, 'grey.mp4')));
    const { final, files: out } = await client.result('img-upload', 120_000);
    expect(final).toMatchObject({ type: 'completed' });
    const path = join(dir, 'img-upload.mp4');
    await writeFile(path, out.get('output.mp4')!);
    const frame = await grayFrame(path, 1);
    // half-way between the grey (0x30) and white: neither untouched nor fully white
    const centre = frame[(8 + 40) * W + 8 + 40]!;
    expect(centre).toBeGreaterThan(110);
    expect(centre).toBeLessThan(180);
  });

  it('refuses an image watermark without its image at submit', async () => {
    client.startJob('img-missing', 'watermark', files.url('grey.mp4'), { type: 'image' });
    const error = await client.next((m) => m.type === 'error' && m.job_id === 'img-missing');
    expect(error).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(String(error.details)).toContain('watermark takes exactly 2 input files');
  });
});

describe('watermark text', () => {
  it.each(POSITIONS)('draws a text at %s', async (position) => {
    const frame = await watermarked(
      `text-${position}`,
      { type: 'text', text: 'MEDIA', position, margin: 10, scale: 0.08 },
      { source: 'url', url: files.url('grey.mp4') },
    );
    expectMarkedAt(frame, position);
  });

  it('draws quotes, colons, backslashes, %{, ; and [ literally, breaking nothing', async () => {
    const text = `It's "q": a\\b C:\\x %{pts} %{eif:1:d} ; [x] ,y' \\' \\\\:`;
    const frame = await watermarked(
      'text-hostile',
      { type: 'text', text, position: 'bottom_left', margin: 4, scale: 0.03 },
      { source: 'url', url: files.url('grey.mp4') },
    );
    expectMarkedAt(frame, 'bottom_left');
    // the same text drawn by ffmpeg directly from a file, expansion off: the very same pixels
    const textFile = join(dir, 'hostile.txt');
    await writeFile(textFile, text);
    const reference = join(dir, 'hostile-reference.mp4');
    await execa('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error', '-y', '-i', join(dir, 'grey.mp4')],
      '-vf',
      `drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:textfile=${textFile}:expansion=none:fontsize=10:fontcolor=0xffffff@1:x=4:y=h-th-4`,
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p', reference],
    ]);
    const all = { x0: 0, y0: 0, x1: W, y1: H };
    expect(changed(frame, await grayFrame(reference, 1), all)).toBeLessThan(20);
    // and the text is really there (the comparison above is not between two empty frames)
    expect(changed(frame, plain, all)).toBeGreaterThan(100);

    // the worker is fine afterwards
    await watermarked('text-after', { type: 'text', text: 'OK' }, { source: 'url', url: files.url('grey.mp4') });
  });
});
