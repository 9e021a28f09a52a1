import { AppError } from '@media-foundry/shared';
import { buildConcat, canJoinWithoutReencoding, concatList } from './concat.js';
import { argv, h264Video, mediaInfoFixture, multiInputContext, OUTPUT } from './test-fixtures.js';

const ctx = multiInputContext('/job/input_0.mp4', '/job/input_1.mp4');

/** A probed 3-second 320x240 H.264/AAC MP4; override any part. */
const clip = mediaInfoFixture({
  duration: 3,
  sizeBytes: 1000,
  bitrate: 1000,
  video: h264Video('320x240', 25, { timeBase: '1/12800' }),
  audio: { index: 1, codec: 'aac', sampleRate: 44100, channels: 2 },
});

describe('buildConcat', () => {
  it('copies streams through the concat demuxer (safe on) when the inputs match', () => {
    const plan = buildConcat({ target_format: 'mp4', reencode: false }, [clip(), clip({ duration: 2 })], ctx);
    expect(plan.files).toEqual([{ path: '/job/concat.txt', content: "file 'input_0.mp4'\nfile 'input_1.mp4'\n" }]);
    expect(plan.runs).toEqual([
      argv('-f concat -safe 1 -i /job/concat.txt -map 0:v? -map 0:a? -c copy -movflags +faststart /job/out/output.mp4'),
    ]);
    expect(plan.expectedSeconds).toBe(5);
  });

  it('normalises differing inputs to the first one in one filter graph, with silence for a missing track', () => {
    const wide = clip({ video: { index: 0, codec: 'h264', width: 640, height: 360, fps: 30 }, audio: null, duration: 2 });
    const plan = buildConcat({ target_format: 'mp4', reencode: false }, [clip(), wide], ctx);
    expect(plan.files).toBeUndefined();
    const args = plan.runs[0]!;
    expect(args.slice(0, 4)).toEqual(['-i', '/job/input_0.mp4', '-i', '/job/input_1.mp4']);
    expect(args[args.indexOf('-filter_complex') + 1]).toBe(
      '[0:0]scale=320:240:force_original_aspect_ratio=decrease,pad=320:240:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=25,format=yuv420p[v0];' +
        '[0:1]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo[a0];' +
        '[1:0]scale=320:240:force_original_aspect_ratio=decrease,pad=320:240:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=25,format=yuv420p[v1];' +
        'anullsrc=r=48000:cl=stereo,atrim=duration=2[a1];' +
        '[v0][a0][v1][a1]concat=n=2:v=1:a=1[v][a]',
    );
    expect(args).toEqual(expect.arrayContaining(['-map', '[v]', '-map', '[a]']));
  });

  it('re-encodes when asked to, and when mp4 cannot hold the codecs', () => {
    expect(buildConcat({ target_format: 'mp4', reencode: true }, [clip(), clip()], ctx).files).toBeUndefined();
    const vp9 = clip({ video: { index: 0, codec: 'vp9', width: 320, height: 240, fps: 25, timeBase: '1/1000' } });
    expect(buildConcat({ target_format: 'mp4', reencode: false }, [vp9, vp9], ctx).files).toBeUndefined();
    expect(buildConcat({ target_format: 'mkv', reencode: false }, [vp9, vp9], ctx).files).toHaveLength(1);
  });

  it('joins audio-only inputs into m4a and refuses to mix them with video', () => {
    const song = clip({ video: null });
    const plan = buildConcat({ target_format: 'mp4', reencode: true }, [song, song], ctx);
    expect(plan.outputs).toEqual([OUTPUT.m4a]);
    expect(plan.runs[0]!.join(' ')).toContain('concat=n=2:v=0:a=1[a]');
    expect(() => buildConcat({ target_format: 'mp4', reencode: false }, [clip(), song], ctx)).toThrow(AppError);
  });

  it('re-encodes audio-only MP3 or Opus inputs, which an .m4a file cannot carry as they are, and copies AAC ones', () => {
    for (const codec of ['mp3', 'opus']) {
      const song = clip({ video: null, audio: { index: 0, codec, sampleRate: 44100, channels: 2 } });
      const plan = buildConcat({ target_format: 'mp4', reencode: false }, [song, song], ctx);
      expect(plan.outputs).toEqual([OUTPUT.m4a]);
      expect(plan.runs[0]!.join(' ')).toContain('concat=n=2:v=0:a=1[a]');
    }
    const aac = clip({ video: null });
    expect(buildConcat({ target_format: 'mp4', reencode: false }, [aac, aac], ctx).runs[0]).toContain('copy');
  });

  it('re-encodes MP3 under 16 kHz, which an MP4 cannot carry as it is, and copies it at 16 kHz', () => {
    const at = (sampleRate: number) => clip({ audio: { index: 1, codec: 'mp3', sampleRate, channels: 1 } });
    const low = buildConcat({ target_format: 'mp4', reencode: false }, [at(11025), at(11025)], ctx);
    expect(low.runs[0]!.join(' ')).toContain('concat=n=2:v=1:a=1[v][a]');
    expect(buildConcat({ target_format: 'mkv', reencode: false }, [at(11025), at(11025)], ctx).runs[0]).toContain('copy');
    expect(buildConcat({ target_format: 'mp4', reencode: false }, [at(16000), at(16000)], ctx).runs[0]).toContain('copy');
  });

  it('joins at the size the first input is shown at, and never copies streams of differently rotated inputs', () => {
    const phone = clip({ video: h264Video('320x240', 25, { rotation: 90, timeBase: '1/12800' }) });
    const plan = buildConcat({ target_format: 'mp4', reencode: true }, [phone, clip()], ctx);
    expect(plan.runs[0]!.join(' ')).toContain('scale=240:320:force_original_aspect_ratio=decrease,pad=240:320');
    expect(canJoinWithoutReencoding([clip(), phone])).toBe(false);
    expect(canJoinWithoutReencoding([phone, phone])).toBe(true);
  });

  it('knows when streams can be copied', () => {
    expect(canJoinWithoutReencoding([clip(), clip()])).toBe(true);
    expect(canJoinWithoutReencoding([clip(), clip({ audio: null })])).toBe(false);
    expect(canJoinWithoutReencoding([clip(), clip({ video: { index: 0, codec: 'h264', width: 320, height: 240, fps: 30 } })])).toBe(false);
    expect(concatList(['/a/input_0.mkv'])).toBe("file 'input_0.mkv'\n");
  });

  // the concat demuxer takes the first file's streams and time bases for all
  it('never copies streams of inputs in other containers, in other places, or with another video time base', () => {
    const base = clip();
    const video = base.video!;
    expect(canJoinWithoutReencoding([base, clip({ formatName: 'matroska,webm' })])).toBe(false);
    expect(canJoinWithoutReencoding([base, clip({ video: { ...video, index: 1 }, audio: { ...base.audio!, index: 0 } })])).toBe(false);
    expect(canJoinWithoutReencoding([base, clip({ video: { ...video, timeBase: '1/90000' } })])).toBe(false);
    expect(canJoinWithoutReencoding([base, clip({ video: { ...video, timeBase: null } })])).toBe(false);
  });
});
