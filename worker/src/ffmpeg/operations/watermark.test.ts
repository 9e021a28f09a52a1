import { AppError, watermarkOptions } from '@media-foundry/shared';
import type { MediaInfo } from '../media-info.js';
import { buildWatermark, watermarkFilter } from './watermark.js';
import { h264Video, mediaInfoFixture, multiInputContext, OUTPUT, singleRun } from './test-fixtures.js';

const ctx = multiInputContext('/job/input_0.mp4', '/job/input_1.png');

const mediaInfo = mediaInfoFixture({ sizeBytes: 1_000_000, bitrate: 800_000, video: h264Video('1280x720', 25) });
const PNG: MediaInfo = {
  formatName: 'png_pipe',
  duration: null,
  sizeBytes: 2000,
  bitrate: null,
  video: { index: 0, codec: 'png', width: 200, height: 100, fps: null },
  audio: null,
  subtitles: [],
};

const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const refs = { video: '0:0', image: '1:0', textFile: '/job/watermark.txt', fontFile: FONT, output: 'v' };

describe('watermarkFilter', () => {
  it.each([
    ['top_left', 'x=16:y=16'],
    ['top_right', 'x=main_w-overlay_w-16:y=16'],
    ['bottom_left', 'x=16:y=main_h-overlay_h-16'],
    ['bottom_right', 'x=main_w-overlay_w-16:y=main_h-overlay_h-16'],
    ['center', 'x=(main_w-overlay_w)/2:y=(main_h-overlay_h)/2'],
  ])('places an image at %s', (position, xy) => {
    const options = watermarkOptions.parse({ type: 'image', position });
    expect(watermarkFilter(options, { width: 1280, height: 720 }, refs)).toBe(
      `[1:0]scale=256:-1,format=rgba[wm];[0:0][wm]overlay=${xy}:format=auto[v]`,
    );
  });

  it("scales the image to a fraction of the video's width and multiplies its alpha by opacity", () => {
    const options = watermarkOptions.parse({ type: 'image', scale: 0.5, opacity: 0.25, margin: 0, position: 'top_left' });
    expect(watermarkFilter(options, { width: 640, height: 360 }, refs)).toBe(
      '[1:0]scale=320:-1,format=rgba,colorchannelmixer=aa=0.25[wm];[0:0][wm]overlay=x=0:y=0:format=auto[v]',
    );
  });

  it('draws a text from its file with expansion off; the text itself never enters the graph', () => {
    const options = watermarkOptions.parse({ type: 'text', text: "a'b:c[d];%{pts}", color: '#FF8800', opacity: 0.5 });
    const graph = watermarkFilter(options, { width: 1280, height: 720 }, refs);
    expect(graph).toBe(
      `[0:0]drawtext=fontfile=${FONT}:textfile=/job/watermark.txt:expansion=none:fontsize=51:fontcolor=0xff8800@0.5:x=w-tw-16:y=h-th-16[v]`,
    );
    expect(graph).not.toContain('pts');
  });

  it('escapes the two paths for the option and the graph level', () => {
    const options = watermarkOptions.parse({ type: 'text', text: 'x', position: 'center' });
    const graph = watermarkFilter(options, { width: 100, height: 100 }, { ...refs, textFile: "/we:ird'[x],y;z/t.txt" });
    // as subtitles.ts escapes its path (proven against ffmpeg by test/multi-input.int.test.ts)
    expect(graph).toContain(String.raw`textfile=/we\\:ird\\\'\[x\]\,y\;z/t.txt:expansion=none:fontsize=4:`);
    expect(graph).toContain('x=(w-tw)/2:y=(h-th)/2');
  });
});

describe('buildWatermark', () => {
  it('overlays the second input, copies AAC audio, and re-encodes the video to H.264 MP4', () => {
    const plan = buildWatermark(watermarkOptions.parse({ type: 'image' }), [mediaInfo(), PNG], ctx);
    expect(singleRun(plan, OUTPUT.mp4, 10)).toEqual([
      ...['-i', '/job/input_0.mp4', '-i', '/job/input_1.png'],
      ...[
        '-filter_complex',
        '[1:0]scale=256:-1,format=rgba[wm];[0:0][wm]overlay=x=main_w-overlay_w-16:y=main_h-overlay_h-16:format=auto[v]',
      ],
      ...['-map', '[v]', '-map', '0:1', '-c:a', 'copy'],
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p', '-movflags', '+faststart'],
      '/job/out/output.mp4',
    ]);
    expect(plan.files).toBeUndefined();
  });

  it('rounds an odd-sized frame down to even after marking it (libx264 in 4:2:0 refuses odd sides)', () => {
    const plan = buildWatermark(watermarkOptions.parse({ type: 'image' }), [mediaInfo({ video: h264Video('321x241', 25) }), PNG], ctx);
    const graph = plan.runs[0]![plan.runs[0]!.indexOf('-filter_complex') + 1]!;
    expect(graph).toMatch(/\[marked\];\[marked\]scale=trunc\(iw\/2\)\*2:trunc\(ih\/2\)\*2\[v\]$/);
    const even = buildWatermark(watermarkOptions.parse({ type: 'image' }), [mediaInfo(), PNG], ctx).runs[0]!.join(' ');
    expect(even).not.toContain('trunc');
  });

  it('copies audio MP4 holds as it is, and re-encodes MP3 under 16 kHz (mp4 refuses it)', () => {
    const text = watermarkOptions.parse({ type: 'text', text: 'hi' });
    const mp3At = (sampleRate: number) => mediaInfo({ audio: { index: 1, codec: 'mp3', sampleRate, channels: 1 } });
    const audioArgs = (info: MediaInfo) => {
      const args = buildWatermark(text, [info], ctx).runs[0]!;
      return args.slice(args.indexOf('0:1') + 1, args.indexOf('-c:v'));
    };
    expect(audioArgs(mp3At(44100))).toEqual(['-c:a', 'copy']);
    expect(audioArgs(mp3At(11025))).toEqual(['-c:a', 'aac', '-b:a', '128k']);
  });

  it('writes a text to the temp dir, reads one input, and re-encodes audio MP4 cannot hold', () => {
    const text = 'line one\n"two": 100%';
    const input = mediaInfo({ audio: { index: 1, codec: 'vorbis', sampleRate: 48000, channels: 2 } });
    const plan = buildWatermark(watermarkOptions.parse({ type: 'text', text, position: 'top_left' }), [input], {
      ...ctx,
      inputPaths: ['/job/input.webm'],
      inputPath: '/job/input.webm',
      fontFile: '/fonts/Other.ttf',
    });
    expect(plan.files).toEqual([{ path: '/job/watermark.txt', content: text }]);
    expect(plan.runs[0]).toEqual([
      ...['-i', '/job/input.webm'],
      ...[
        '-filter_complex',
        '[0:0]drawtext=fontfile=/fonts/Other.ttf:textfile=/job/watermark.txt:expansion=none:fontsize=51:fontcolor=0xffffff@1:x=16:y=16[v]',
      ],
      ...['-map', '[v]', '-map', '0:1', '-c:a', 'aac', '-b:a', '128k'],
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p', '-movflags', '+faststart'],
      '/job/out/output.mp4',
    ]);
  });

  it('needs a video to mark, and an image with a picture', () => {
    expect(() => buildWatermark(watermarkOptions.parse({ type: 'text', text: 'x' }), [mediaInfo({ video: null })], ctx)).toThrow(AppError);
    expect(() => buildWatermark(watermarkOptions.parse({ type: 'image' }), [mediaInfo(), { ...PNG, video: null }], ctx)).toThrow(
      'The watermark image has no picture',
    );
  });
});
