import { CONTAINER_CODECS, CONVERT_AUDIO_CODECS, CONVERT_FORMATS, CONVERT_VIDEO_CODECS, type ConvertOptions } from '@media-foundry/shared';
import {
  AUDIO_ENCODER_ARGS,
  buildConvert,
  canHold,
  CONTAINERS,
  copyBitstreamArgs,
  CONVERT_DEFAULT_CODECS,
  VIDEO_ENCODER_ARGS,
} from './convert.js';
import { argv, buildContext, jobFailure, mediaInfoFixture, OUTPUT, singleRun, thrownBy } from './test-fixtures.js';
import { OPUS_LAYOUT_FILTER } from '../plan.js';

const ctx = buildContext();

/** A probed 10-second 1280x720 H.264/AAC MP4; override any part. */
const mediaInfo = mediaInfoFixture();

/** A probed WebM: VP9 video, Opus audio. */
const webmInfo = mediaInfo({
  formatName: 'matroska,webm',
  video: { index: 0, codec: 'vp9', width: 1280, height: 720, fps: 30 },
  audio: { index: 1, codec: 'opus', sampleRate: 48000, channels: 2 },
});

function opts(o: Partial<ConvertOptions> & Pick<ConvertOptions, 'target_format'>): ConvertOptions {
  return { stream_copy: false, ...o };
}

const H264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p'];
const AAC = ['-c:a', 'aac', '-b:a', '128k'];

describe('buildConvert: re-encoding', () => {
  it.each([
    ['mp4', [...H264, '-map', '0:1', ...AAC, '-sn', '-dn', '-movflags', '+faststart', '/job/out/output.mp4'], 'video/mp4'],
    ['mkv', [...H264, '-map', '0:1', ...AAC, '-sn', '-dn', '/job/out/output.mkv'], 'video/x-matroska'],
    [
      'webm',
      argv(
        '-c:v libvpx-vp9 -b:v 0 -crf 31 -row-mt 1 -deadline good -cpu-used 4 -pix_fmt yuv420p -map 0:1 -af aformat=channel_layouts=mono|stereo|3.0|quad|5.0|5.1|6.1|7.1 -c:a libopus -b:a 128k -sn -dn /job/out/output.webm',
      ),
      'video/webm',
    ],
    ['mov', [...H264, '-map', '0:1', ...AAC, '-sn', '-dn', '-movflags', '+faststart', '/job/out/output.mov'], 'video/quicktime'],
    [
      'avi',
      ['-c:v', 'mpeg4', '-q:v', '3', '-map', '0:1', '-c:a', 'libmp3lame', '-b:a', '192k', '-sn', '-dn', '/job/out/output.avi'],
      'video/x-msvideo',
    ],
    ['ts', [...H264, '-map', '0:1', ...AAC, '-sn', '-dn', '-f', 'mpegts', '/job/out/output.ts'], 'video/mp2t'],
    ['flv', [...H264, '-map', '0:1', ...AAC, '-sn', '-dn', '-f', 'flv', '/job/out/output.flv'], 'video/x-flv'],
  ] as const)('%s with the default codecs: full arguments and content type', (format, tail, contentType) => {
    const plan = buildConvert(opts({ target_format: format }), mediaInfo(), ctx);
    expect(plan.runs).toEqual([['-i', '/job/input.mp4', '-map', '0:0', ...tail]]);
    expect(plan.outputs).toEqual([{ filename: `output.${format}`, contentType, format }]);
    expect(plan.expectedSeconds).toBe(10);
  });

  it('uses the requested codecs (HEVC tagged hvc1 in MP4, MP3)', () => {
    const plan = buildConvert(opts({ target_format: 'mp4', video_codec: 'hevc', audio_codec: 'mp3' }), mediaInfo(), ctx);
    expect(plan.runs[0]).toEqual(
      argv(
        '-i /job/input.mp4 -map 0:0 -c:v libx265 -preset veryfast -crf 28 -pix_fmt yuv420p -x265-params log-level=error -tag:v hvc1 -map 0:1 -c:a libmp3lame -b:a 192k -sn -dn -movflags +faststart /job/out/output.mp4',
      ),
    );
  });

  it('does not tag HEVC hvc1 outside MP4/MOV', () => {
    const args = buildConvert(opts({ target_format: 'mkv', video_codec: 'hevc' }), mediaInfo(), ctx).runs[0]!;
    expect(args).not.toContain('-tag:v');
  });

  it.each([
    ['av1', 'webm', ['-c:v', 'libaom-av1', '-b:v', '0', '-crf', '30', '-cpu-used', '8', '-row-mt', '1', '-pix_fmt', 'yuv420p']],
    ['vp8', 'mkv', ['-c:v', 'libvpx', '-crf', '10', '-b:v', '2M', '-deadline', 'good', '-cpu-used', '4', '-pix_fmt', 'yuv420p']],
    ['prores', 'mov', ['-c:v', 'prores_ks', '-profile:v', '2']],
    ['mjpeg', 'avi', ['-c:v', 'mjpeg', '-q:v', '3']],
    ['mpeg2video', 'ts', ['-c:v', 'mpeg2video', '-q:v', '3']],
    ['h264', 'avi', H264],
  ] as const)('video_codec %s in %s', (video_codec, target_format, encoder) => {
    const args = buildConvert(opts({ target_format, video_codec }), mediaInfo(), ctx).runs[0]!;
    expect(args.slice(4, 4 + encoder.length)).toEqual(encoder);
  });

  it.each([
    ['vorbis', 'webm', ['-c:a', 'libvorbis', '-q:a', '5']],
    ['flac', 'mkv', ['-c:a', 'flac']],
    ['ac3', 'ts', ['-c:a', 'ac3', '-b:a', '192k']],
    ['pcm_s16le', 'mov', ['-c:a', 'pcm_s16le']],
    ['opus', 'mp4', ['-af', OPUS_LAYOUT_FILTER, '-c:a', 'libopus', '-b:a', '128k']],
  ] as const)('audio_codec %s in %s', (audio_codec, target_format, encoder) => {
    const args = buildConvert(opts({ target_format, audio_codec }), mediaInfo(), ctx).runs[0]!;
    const at = args.indexOf('-map', args.indexOf('0:0'));
    expect(args.slice(at, at + 2 + encoder.length)).toEqual(['-map', '0:1', ...encoder]);
  });

  it('rounds an odd-sized input to even before encoding', () => {
    const info = mediaInfo({ video: { index: 0, codec: 'ffv1', width: 321, height: 241, fps: 25 } });
    const args = buildConvert(opts({ target_format: 'mp4' }), info, ctx).runs[0]!;
    expect(args.slice(2, 6)).toEqual(['-map', '0:0', '-vf', 'scale=trunc(iw/2)*2:trunc(ih/2)*2']);
  });

  it('resamples MP3 for FLV to 44.1 kHz when the input is at a rate FLV does not take', () => {
    const at = (sampleRate: number) => mediaInfo({ audio: { index: 1, codec: 'aac', sampleRate, channels: 1 } });
    for (const rate of [8000, 16000, 32000, 48000])
      expect(buildConvert(opts({ target_format: 'flv', audio_codec: 'mp3' }), at(rate), ctx).runs[0]!.join(' ')).toContain(
        '-c:a libmp3lame -b:a 192k -ar 44100',
      );
    for (const rate of [44100, 22050])
      expect(buildConvert(opts({ target_format: 'flv', audio_codec: 'mp3' }), at(rate), ctx).runs[0]).not.toContain('-ar');
    expect(buildConvert(opts({ target_format: 'avi', audio_codec: 'mp3' }), at(16000), ctx).runs[0]).not.toContain('-ar');
    // a stream copy cannot resample: refused up front
    const mp3At16k = mediaInfo({ audio: { index: 1, codec: 'mp3', sampleRate: 16000, channels: 1 } });
    expect(jobFailure(() => buildConvert(opts({ target_format: 'flv', stream_copy: true }), mp3At16k, ctx))).toEqual({
      message: 'Cannot stream-copy mp3 audio at 16000 Hz into flv',
      details: 'flv takes MP3 at 44100, 22050, 11025 Hz; use stream_copy: false to re-encode',
    });
  });

  it('resamples MP3 for MP4 to 44.1 kHz under 16 kHz, and refuses to copy such MP3 into MP4 (MOV takes it)', () => {
    const at = (sampleRate: number, codec = 'aac') => mediaInfo({ audio: { index: 1, codec, sampleRate, channels: 1 } });
    for (const rate of [8000, 11025, 12000])
      expect(buildConvert(opts({ target_format: 'mp4', audio_codec: 'mp3' }), at(rate), ctx).runs[0]!.join(' ')).toContain(
        '-c:a libmp3lame -b:a 192k -ar 44100',
      );
    for (const rate of [16000, 22050, 48000])
      expect(buildConvert(opts({ target_format: 'mp4', audio_codec: 'mp3' }), at(rate), ctx).runs[0]).not.toContain('-ar');
    expect(buildConvert(opts({ target_format: 'mov', audio_codec: 'mp3' }), at(8000), ctx).runs[0]).not.toContain('-ar');
    expect(jobFailure(() => buildConvert(opts({ target_format: 'mp4', stream_copy: true }), at(11025, 'mp3'), ctx))).toEqual({
      message: 'Cannot stream-copy mp3 audio at 11025 Hz into mp4',
      details: 'mp4 takes MP3 at 16000 Hz and above; use stream_copy: false to re-encode',
    });
    expect(buildConvert(opts({ target_format: 'mp4', stream_copy: true }), at(16000, 'mp3'), ctx).runs[0]).toContain('copy');
    expect(buildConvert(opts({ target_format: 'mov', stream_copy: true }), at(11025, 'mp3'), ctx).runs[0]).toContain('copy');
  });

  it('writes -an for a video-only input and -vn for an audio-only one', () => {
    expect(buildConvert(opts({ target_format: 'mkv' }), mediaInfo({ audio: null }), ctx).runs[0]).toEqual([
      ...argv('-i /job/input.mp4 -map 0:0'),
      ...H264,
      ...argv('-an -sn -dn /job/out/output.mkv'),
    ]);
    const audioOnly = mediaInfo({ formatName: 'mp3', video: null, audio: { index: 0, codec: 'mp3', sampleRate: 44100, channels: 2 } });
    expect(buildConvert(opts({ target_format: 'mkv' }), audioOnly, ctx).runs[0]).toEqual([
      ...argv('-i /job/input.mp4 -vn -map 0:0'),
      ...AAC,
      '-sn',
      '-dn',
      '/job/out/output.mkv',
    ]);
  });

  it('adds -threads N before the container flags', () => {
    const args = buildConvert(opts({ target_format: 'ts' }), mediaInfo(), { ...ctx, threads: 4 }).runs[0]!;
    expect(args.slice(-7)).toEqual(['-sn', '-dn', '-threads', '4', '-f', 'mpegts', '/job/out/output.ts']);
  });

  it('has expectedSeconds = duration', () => {
    expect(buildConvert(opts({ target_format: 'mp4' }), mediaInfo({ duration: null }), ctx).expectedSeconds).toBeNull();
  });
});

describe('buildConvert: stream copy', () => {
  it('copies H.264/AAC into MKV with -c copy', () => {
    expect(singleRun(buildConvert(opts({ target_format: 'mkv', stream_copy: true }), mediaInfo(), ctx), OUTPUT.mkv, 10)).toEqual(
      argv('-i /job/input.mp4 -map 0:0 -map 0:1 -c copy -sn -dn /job/out/output.mkv'),
    );
  });

  it('keeps the muxer and faststart flags when copying', () => {
    expect(buildConvert(opts({ target_format: 'ts', stream_copy: true }), mediaInfo(), ctx).runs[0]).toEqual(
      argv('-i /job/input.mp4 -map 0:0 -map 0:1 -c copy -sn -dn -f mpegts /job/out/output.ts'),
    );
    expect(buildConvert(opts({ target_format: 'mov', stream_copy: true }), mediaInfo(), ctx).runs[0]).toEqual(
      argv('-i /job/input.mp4 -map 0:0 -map 0:1 -c copy -sn -dn -movflags +faststart /job/out/output.mov'),
    );
  });

  it('copies VP9/Opus into WebM and MKV', () => {
    expect(buildConvert(opts({ target_format: 'webm', stream_copy: true }), webmInfo, ctx).outputs[0]!.filename).toBe('output.webm');
    expect(buildConvert(opts({ target_format: 'mkv', stream_copy: true }), webmInfo, ctx).outputs[0]!.filename).toBe('output.mkv');
  });

  it('maps only the streams that exist', () => {
    expect(buildConvert(opts({ target_format: 'flv', stream_copy: true }), mediaInfo({ audio: null }), ctx).runs[0]).toEqual(
      argv('-i /job/input.mp4 -map 0:0 -c copy -sn -dn -f flv /job/out/output.flv'),
    );
  });

  it('copies H.264 into AVI with start codes (h264_mp4toannexb), and nothing else with a bitstream filter', () => {
    const mp3 = { index: 1, codec: 'mp3', sampleRate: 44100, channels: 2 };
    expect(buildConvert(opts({ target_format: 'avi', stream_copy: true }), mediaInfo({ audio: mp3 }), ctx).runs[0]).toEqual(
      argv('-i /job/input.mp4 -map 0:0 -map 0:1 -c copy -bsf:v h264_mp4toannexb -sn -dn /job/out/output.avi'),
    );
    const mpeg4 = mediaInfo({ video: { index: 0, codec: 'mpeg4', width: 640, height: 480, fps: 25 }, audio: mp3 });
    expect(buildConvert(opts({ target_format: 'avi', stream_copy: true }), mpeg4, ctx).runs[0]).not.toContain('-bsf:v');
    for (const format of ['mp4', 'mkv', 'ts', 'flv'] as const)
      expect(buildConvert(opts({ target_format: format, stream_copy: true }), mediaInfo(), ctx).runs[0]).not.toContain('-bsf:v');
    expect(copyBitstreamArgs('avi', 'hevc')).toEqual(['-bsf:v', 'hevc_mp4toannexb']);
  });

  it('fails with JOB_FAILED when the container cannot hold the video codec', () => {
    expect(jobFailure(() => buildConvert(opts({ target_format: 'mp4', stream_copy: true }), webmInfo, ctx))).toEqual({
      message: 'Cannot stream-copy vp9 video into mp4',
      details: 'mp4 takes video h264, hevc, mpeg4, av1 and audio aac, mp3, opus, ac3; use stream_copy: false to re-encode',
    });
  });

  it('fails with JOB_FAILED when the container cannot hold the audio codec', () => {
    expect(jobFailure(() => buildConvert(opts({ target_format: 'avi', stream_copy: true }), mediaInfo(), ctx))).toEqual({
      message: 'Cannot stream-copy aac audio into avi',
      details: 'avi takes video mpeg4, h264, mjpeg and audio mp3, ac3, pcm_s16le; use stream_copy: false to re-encode',
    });
  });

  it('fails with JOB_FAILED for a codec ffprobe could not name', () => {
    const info = mediaInfo({ video: { index: 0, codec: null, width: 640, height: 480, fps: 25 } });
    const e = thrownBy(() => buildConvert(opts({ target_format: 'mkv', stream_copy: true }), info, ctx));
    expect(e.message).toBe('Cannot stream-copy unknown-codec video into mkv');
  });
});

describe('buildConvert: errors', () => {
  it('fails with JOB_FAILED when the input has neither video nor audio', () => {
    expect(
      jobFailure(() => buildConvert(opts({ target_format: 'mp4' }), mediaInfo({ formatName: 'srt', video: null, audio: null }), ctx)),
    ).toEqual({ message: 'Input has neither video nor audio', details: 'format: srt' });
  });
});

describe('convert tables', () => {
  it('cover every format and codec of the schema', () => {
    expect(Object.keys(CONTAINERS).sort()).toEqual([...CONVERT_FORMATS].sort());
    expect(Object.keys(CONVERT_DEFAULT_CODECS).sort()).toEqual([...CONVERT_FORMATS].sort());
    expect(Object.keys(VIDEO_ENCODER_ARGS).sort()).toEqual([...CONVERT_VIDEO_CODECS].sort());
    expect(Object.keys(AUDIO_ENCODER_ARGS).sort()).toEqual([...CONVERT_AUDIO_CODECS].sort());
  });

  it('default to codecs each container allows', () => {
    for (const format of CONVERT_FORMATS) {
      expect(CONTAINER_CODECS[format].video).toContain(CONVERT_DEFAULT_CODECS[format].video);
      expect(CONTAINER_CODECS[format].audio).toContain(CONVERT_DEFAULT_CODECS[format].audio);
    }
  });

  it('canHold checks the allow-list; an unknown codec never fits', () => {
    expect(canHold('mp4', 'video', 'h264')).toBe(true);
    expect(canHold('mp4', 'video', 'vp9')).toBe(false);
    expect(canHold('webm', 'audio', 'opus')).toBe(true);
    expect(canHold('webm', 'audio', 'aac')).toBe(false);
    expect(canHold('mkv', 'video', null)).toBe(false);
  });
});
