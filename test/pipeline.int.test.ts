/**
 * `pipeline` end to end (client → gateway → RabbitMQ → worker → ffmpeg):
 * a fused pipeline against the same steps run as separate jobs (duration,
 * frame size, frame rate, streams and codecs by ffprobe; SSIM against a
 * lossless rendering of the same steps with ffmpeg's `ssim` filter), chains
 * that make no sense refused, a chain that cannot be fused, a text watermark
 * step (pixels sampled against the unmarked input), and
 * `target_size_mb` on a 60 s 720p input. CPU: small clips for the
 * equivalence checks; the size targets use preset `low` (x264 veryfast).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { TARGET_SIZE_BYTES_PER_MB } from '@media-foundry/shared';
import { differingPixels, ffprobe, grayFrame, makeGreyVideo, makeTestVideo } from './helpers/media.js';
import { ffmpegRuns } from './helpers/stack.js';
import { useSuite } from './helpers/suite.js';

/** The grey clip's frame size. */
const GREY_W = 320;
const GREY_H = 240;

const { dir, files, stack, client } = useSuite({
  name: 'pipeline',
  fixtures: (dir) =>
    Promise.all([
      // 6 s 640x360 25 fps H.264/AAC, for the equivalence checks
      makeTestVideo(join(dir, 'clip.mp4'), { seconds: 6, width: 640, height: 360 }),
      // the size targets: 60 s of 720p (15 fps keeps the six encoding passes affordable on two cores)
      makeTestVideo(join(dir, 'long.mp4'), { seconds: 60, width: 1280, height: 720, fps: 15 }),
      // 4 s of flat dark grey with a tone, for the watermark step
      makeGreyVideo(join(dir, 'grey.mp4'), { seconds: 4, width: GREY_W, height: GREY_H }),
    ]),
  timeoutMs: 180_000,
});

interface Step {
  operation: string;
  options: Record<string, unknown>;
}

let seq = 0;
/** Runs one job on a file of the test dir and writes its (single) output back there; returns its name. */
async function runJob(input: string, operation: string, options: Record<string, unknown>, timeoutMs = 300_000): Promise<string> {
  const jobId = `p-${++seq}`;
  client.send({ type: 'start_job', job_id: jobId, operation, input: { source: 'url', url: files.url(input) }, options });
  const result = await client.result(jobId, timeoutMs);
  expect(result.final).toMatchObject({ type: 'completed' });
  const [output] = result.final.outputs as { filename: string }[];
  const name = `${jobId}-${output!.filename}`;
  await writeFile(join(dir, name), result.files.get(output!.filename)!);
  return name;
}

/** The steps as separate jobs, each reading the previous one's output. */
async function sequential(input: string, steps: Step[]): Promise<string> {
  let current = input;
  for (const step of steps) current = await runJob(current, step.operation, step.options);
  return current;
}

/** Mean SSIM (ffmpeg's `ssim` filter, "All") of `path` against `reference`, frame by frame. */
async function ssim(path: string, reference: string): Promise<number> {
  const { stderr } = await execa('ffmpeg', ['-hide_banner', '-nostats', '-i', path, '-i', reference, '-lavfi', 'ssim', '-f', 'null', '-']);
  const match = /SSIM .* All:([\d.]+)/.exec(stderr);
  if (!match) throw new Error(`no SSIM in: ${stderr}`);
  return Number(match[1]);
}

/** The same steps rendered from the source without loss (x264 -qp 0): what both results are measured against. */
async function losslessReference(name: string, inputArgs: string[], videoFilter: string): Promise<string> {
  const path = join(dir, name);
  await execa('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y', ...inputArgs],
    ...['-map', '0:v', '-vf', videoFilter, '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', '-an', path],
  ]);
  return name;
}

interface Described {
  duration: number;
  streams: { type: string; codec: string }[];
  width?: number;
  height?: number;
  fps?: string;
}

async function describe_(name: string): Promise<Described> {
  const probed = await ffprobe(join(dir, name));
  const video = probed.video as (typeof probed.video & { r_frame_rate?: string }) | undefined;
  return {
    duration: probed.duration,
    streams: probed.streams.map((s) => ({ type: s.codec_type, codec: s.codec_name })),
    width: video?.width,
    height: video?.height,
    fps: video?.r_frame_rate,
  };
}

/** A lossless rendering of the steps from clip.mp4: the input range it reads (`-ss`, `-t`) and its video filter. */
interface Reference {
  name: string;
  seek: string[];
  videoFilter: string;
}

/**
 * Runs the steps again as separate jobs on clip.mp4: the fused pipeline's output matches theirs and is at least as
 * close to the lossless reference. Returns the fused output, described.
 */
async function expectEquivalent(fused: string, steps: Step[], { name, seek, videoFilter }: Reference): Promise<Described> {
  const sequentialOut = await sequential('clip.mp4', steps);
  const reference = await losslessReference(name, [...seek, '-i', join(dir, 'clip.mp4')], videoFilter);
  const [a, b] = await Promise.all([describe_(fused), describe_(sequentialOut)]);
  expect(Math.abs(a.duration - b.duration)).toBeLessThanOrEqual(0.1);
  expect({ ...a, duration: 0 }).toEqual({ ...b, duration: 0 });
  const [fusedSsim, sequentialSsim] = await Promise.all([
    ssim(join(dir, fused), join(dir, reference)),
    ssim(join(dir, sequentialOut), join(dir, reference)),
  ]);
  expect(fusedSsim).toBeGreaterThanOrEqual(sequentialSsim);
  return a;
}

describe('pipeline: fused equals sequential', () => {
  it('3 steps: trim → speed 1.5× → scale, in one ffmpeg run', async () => {
    const steps: Step[] = [
      { operation: 'trim', options: { start_time: 1, end_time: 5 } },
      { operation: 'speed', options: { speed_factor: 1.5 } },
      { operation: 'filter', options: { filters: [{ type: 'scale', width: 320 }] } },
    ];
    const fused = await runJob('clip.mp4', 'pipeline', { steps });
    const jobId = `p-${seq}`;
    expect(ffmpegRuns(stack, jobId)).toHaveLength(1);
    expect(ffmpegRuns(stack, jobId)[0]).toMatch(/-ss 1 -t 4 .*-i \S+ .*-vf setpts=PTS\/1\.5,scale=320:-2 .*-af atempo=1\.5/);
    const progress = client.messages(jobId).filter((m) => m.type === 'progress' && m.stage === 'processing');
    const percentages = progress.map((m) => m.percentage as number);
    expect(percentages).toEqual([...percentages].sort((x, y) => x - y));

    const out = await expectEquivalent(fused, steps, {
      name: 'ref3.mp4',
      seek: ['-ss', '1', '-t', '4'],
      videoFilter: 'setpts=PTS/1.5,scale=320:-2',
    });
    expect(out).toMatchObject({
      width: 320,
      height: 180,
      streams: [
        { type: 'video', codec: 'h264' },
        { type: 'audio', codec: 'aac' },
      ],
    });
    expect(Math.abs(out.duration - 4 / 1.5)).toBeLessThanOrEqual(0.1);
  }, 600_000);

  it('5 steps: trim → volume → speed 2× → crop and scale → compress (preset low), in one ffmpeg run', async () => {
    const steps: Step[] = [
      { operation: 'trim', options: { start_time: 0.5, end_time: 5.5 } },
      { operation: 'filter', options: { filters: [{ type: 'volume', volume: 0.8 }] } },
      { operation: 'speed', options: { speed_factor: 2 } },
      {
        operation: 'filter',
        options: {
          filters: [
            { type: 'crop', width: 480, height: 360, x: 80 },
            { type: 'scale', width: 240 },
          ],
        },
      },
      { operation: 'compress', options: { preset: 'low', crf: 26 } },
    ];
    const fused = await runJob('clip.mp4', 'pipeline', { steps });
    expect(ffmpegRuns(stack, `p-${seq}`)).toHaveLength(1);
    const out = await expectEquivalent(fused, steps, {
      name: 'ref5.mp4',
      seek: ['-ss', '0.5', '-t', '5'],
      videoFilter: 'setpts=PTS/2,crop=480:360:80:0,scale=240:-2',
    });
    expect(out).toMatchObject({ width: 240, height: 180 });
    // MP4 keeps the input's 25 fps: the last frame lasts a little longer (both ways alike, checked above)
    expect(Math.abs(out.duration - 2.5)).toBeLessThan(0.15);
  }, 600_000);

  it('a chain that cannot be fused (a trim after normalize) runs as consecutive runs and still matches', async () => {
    const steps: Step[] = [
      { operation: 'filter', options: { filters: [{ type: 'normalize' }] } },
      { operation: 'trim', options: { start_time: 1, end_time: 4 } },
      { operation: 'extract_audio', options: { format: 'm4a' } },
    ];
    const fused = await runJob('clip.mp4', 'pipeline', { steps });
    const runs = ffmpegRuns(stack, `p-${seq}`);
    expect(runs).toHaveLength(2);
    expect(runs[0]).toMatch(/loudnorm.* \S+\/pipeline-1\.mkv$/);
    expect(runs[1]).toMatch(/-ss 1 -t 3 .*-i \S+\/pipeline-1\.mkv /);
    const sequentialOut = await sequential('clip.mp4', steps);
    const [a, b] = await Promise.all([describe_(fused), describe_(sequentialOut)]);
    expect(Math.abs(a.duration - b.duration)).toBeLessThanOrEqual(0.1);
    expect(a.streams).toEqual(b.streams);
    expect(a.streams).toEqual([{ type: 'audio', codec: 'aac' }]);
  }, 600_000);
});

/** The pixels of a quarter of a grey GREY_W×GREY_H frame, row by row. */
function quarter(frame: Buffer, corner: 'top_left' | 'bottom_right'): Buffer {
  const x0 = corner === 'top_left' ? 0 : GREY_W / 2;
  const y0 = corner === 'top_left' ? 0 : GREY_H / 2;
  const rows: Buffer[] = [];
  for (let y = y0; y < y0 + GREY_H / 2; y++) rows.push(frame.subarray(y * GREY_W + x0, y * GREY_W + x0 + GREY_W / 2));
  return Buffer.concat(rows);
}

describe('pipeline: watermark step', () => {
  it('trim → watermark (text) → compress runs in one ffmpeg process: the trimmed duration, the corner marked, as the three jobs in a row', async () => {
    const steps: Step[] = [
      { operation: 'trim', options: { start_time: 1, end_time: 3 } },
      { operation: 'watermark', options: { type: 'text', text: "MF: 100% [ok]; it's", position: 'top_left', scale: 0.08 } },
      { operation: 'compress', options: { preset: 'low' } },
    ];
    const fused = await runJob('grey.mp4', 'pipeline', { steps });
    const runs = ffmpegRuns(stack, `p-${seq}`);
    expect(runs).toHaveLength(1);
    // the trim is input seeking, the text is read from a file (never in the graph), the encode is compress's
    expect(runs[0]).toMatch(/-ss 1 -t 2 .*-vf drawtext=fontfile=.*:textfile=\S+watermark-step1\.txt:expansion=none:.* -c:v libx264/);
    expect(runs[0]).not.toContain('100%');

    const out = await ffprobe(join(dir, fused));
    expect(Math.abs(out.duration - 2)).toBeLessThan(0.15);
    expect(out.video).toMatchObject({ codec_name: 'h264', width: GREY_W, height: GREY_H });
    expect(out.audio).toMatchObject({ codec_name: 'aac' });
    const [plain, marked] = await Promise.all([grayFrame(join(dir, 'grey.mp4'), 2), grayFrame(join(dir, fused), 1)]);
    const markedPixels = differingPixels(quarter(marked, 'top_left'), quarter(plain, 'top_left'), 40);
    expect(markedPixels).toBeGreaterThan(100);
    expect(differingPixels(quarter(marked, 'bottom_right'), quarter(plain, 'bottom_right'), 40)).toBe(0);

    // the same steps as three jobs: the same media, the mark drawn at the same place and size (a few edge pixels differ by encode)
    const sequentialOut = await sequential('grey.mp4', steps);
    const [a, b] = await Promise.all([describe_(fused), describe_(sequentialOut)]);
    expect(Math.abs(a.duration - b.duration)).toBeLessThanOrEqual(0.1);
    expect({ ...a, duration: 0 }).toEqual({ ...b, duration: 0 });
    const markedSequential = await grayFrame(join(dir, sequentialOut), 1);
    expect(differingPixels(marked, markedSequential, 40)).toBeLessThan(markedPixels / 10);
  }, 300_000);
});

describe('pipeline: chains that make no sense', () => {
  it.each([
    [
      [{ operation: 'thumbnail' }, { operation: 'trim', options: { start_time: 1 } }],
      /options\.steps\[1\]: trim cannot come after thumbnail/,
    ],
    [
      [{ operation: 'compress' }, { operation: 'convert', options: { target_format: 'mkv' } }],
      /options\.steps\[1\]: convert would decide the output a second time/,
    ],
    [
      [{ operation: 'extract_audio' }, { operation: 'filter', options: { filters: [{ type: 'scale', width: 320 }] } }],
      /options\.steps\[1\]: filter cannot come after extract_audio/,
    ],
    [
      [{ operation: 'remove_audio' }, { operation: 'extract_audio' }],
      /options\.steps\[1\]: extract_audio needs the audio that remove_audio/,
    ],
    [
      [{ operation: 'trim' }, { operation: 'speed', options: { speed_factor: 2 } }, { operation: 'compress', options: { crf: 99 } }],
      /options\.steps\[2\]\.options\.crf: /,
    ],
    [[{ operation: 'concat' }], /options\.steps\[0\]\.operation: /],
    [
      [{ operation: 'watermark', options: { type: 'image' } }, { operation: 'compress' }],
      /options\.steps\[0\]: image watermarks are not supported as pipeline steps/,
    ],
    [[{ operation: 'compress', options: { target_size_mb: 5, crf: 20 } }], /options\.steps\[0\]\.options\.crf: .*target_size_mb/],
  ])('refuses %j', async (steps, details) => {
    const jobId = `bad-${++seq}`;
    client.startJob(jobId, 'pipeline', files.url('clip.mp4'), { steps });
    const error = await client.next((m) => m.type === 'error' && m.job_id === jobId);
    expect(error).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(String(error.details)).toMatch(details);
  });

  it('a target too small for the output is JOB_FAILED naming the smallest reachable size', async () => {
    const jobId = `small-${++seq}`;
    client.startJob(jobId, 'compress', files.url('long.mp4'), { target_size_mb: 0.5 });
    const result = await client.result(jobId);
    expect(result.final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Target size is too small' });
    expect(String(result.final.details)).toMatch(/smallest reachable size is [\d.]+ MB/);
  });
});

describe('target_size_mb', () => {
  it.each([2, 8, 25])(
    '%i MB from 60 s of 720p lands within [85 %%, 100 %%] of the target',
    async (mb) => {
      const name = await runJob('long.mp4', 'compress', { preset: 'low', target_size_mb: mb }, 600_000);
      const runs = ffmpegRuns(stack, `p-${seq}`);
      expect(runs).toHaveLength(2);
      expect(runs[0]).toMatch(/-pass 1 -passlogfile \S+\/passlog .*-f null \/dev\/null$/);
      expect(runs[1]).toMatch(/-pass 2 -passlogfile \S+\/passlog /);
      const out = await ffprobe(join(dir, name));
      const size = Number((out.format as { size?: string }).size);
      const target = mb * TARGET_SIZE_BYTES_PER_MB;
      expect(size).toBeLessThanOrEqual(target);
      expect(size).toBeGreaterThanOrEqual(0.85 * target);
      expect(Math.abs(out.duration - 60)).toBeLessThanOrEqual(0.1);
    },
    900_000,
  );

  it("a pipeline's final compress takes a size target over the output's duration (two passes of the fused chain)", async () => {
    const steps: Step[] = [
      { operation: 'trim', options: { start_time: 0, end_time: 6 } },
      { operation: 'speed', options: { speed_factor: 1.2 } },
      { operation: 'compress', options: { preset: 'low', target_size_mb: 0.4 } },
    ];
    const name = await runJob('clip.mp4', 'pipeline', { steps });
    const runs = ffmpegRuns(stack, `p-${seq}`);
    expect(runs).toHaveLength(2);
    const out = await ffprobe(join(dir, name));
    const size = Number((out.format as { size?: string }).size);
    expect(size).toBeLessThanOrEqual(0.4 * TARGET_SIZE_BYTES_PER_MB);
    expect(size).toBeGreaterThanOrEqual(0.85 * 0.4 * TARGET_SIZE_BYTES_PER_MB);
    expect(Math.abs(out.duration - 5)).toBeLessThanOrEqual(0.1);
  }, 600_000);
});
