import { AppError, AUDIO_FORMATS, ErrorCode, type ExtractAudioOptions } from '@media-foundry/shared';
import { execa } from 'execa';
import { AUDIO_TARGETS, buildExtractAudio, vorbisQuality } from './extract-audio.js';
import { argv, buildContext, h264Video, mediaInfoFixture } from './test-fixtures.js';

const ctx = buildContext();

/** A probed 10-second MP4 with video at index 0 and 44.1 kHz AAC at index 1; override any part. */
const mediaInfo = mediaInfoFixture({
  video: h264Video('1280x720', 25),
  audio: { index: 1, codec: 'aac', sampleRate: 44100, channels: 2 },
});

const COMMON = ['-i', '/job/input.mp4', '-map', '0:1', '-vn', '-sn', '-dn'];

describe('buildExtractAudio', () => {
  it.each<[ExtractAudioOptions['format'], string[], string, string]>([
    ['mp3', ['-c:a', 'libmp3lame', '-b:a', '192k', '/job/out/output.mp3'], 'output.mp3', 'audio/mpeg'],
    ['aac', ['-c:a', 'aac', '-b:a', '192k', '-f', 'adts', '/job/out/output.aac'], 'output.aac', 'audio/aac'],
    ['wav', ['-c:a', 'pcm_s16le', '/job/out/output.wav'], 'output.wav', 'audio/wav'],
    [
      'opus',
      argv('-af aformat=channel_layouts=mono|stereo|3.0|quad|5.0|5.1|6.1|7.1 -c:a libopus -b:a 128k -f ogg /job/out/output.opus'),
      'output.opus',
      'audio/ogg',
    ],
    ['m4a', ['-c:a', 'aac', '-b:a', '192k', '-movflags', '+faststart', '-f', 'ipod', '/job/out/output.m4a'], 'output.m4a', 'audio/mp4'],
    ['flac', ['-c:a', 'flac', '/job/out/output.flac'], 'output.flac', 'audio/flac'],
    ['ogg', ['-c:a', 'libvorbis', '-q:a', '6', '/job/out/output.ogg'], 'output.ogg', 'audio/ogg'],
  ])('format %s: full arguments, file name and content type', (format, tail, filename, contentType) => {
    const plan = buildExtractAudio({ format }, mediaInfo(), ctx);
    expect(plan.runs).toEqual([[...COMMON, ...tail]]);
    expect(plan.outputs).toEqual([{ filename, contentType, format }]);
    expect(plan.expectedSeconds).toBe(10);
  });

  it('encodes Vorbis at the quality nearest the bitrate, and Opus at most 256 kbps a channel', () => {
    expect([8, 64, 100, 192, 230, 320, 640].map(vorbisQuality)).toEqual([0, 0, 2, 6, 7, 9, 10]);
    expect(buildExtractAudio({ format: 'ogg', bitrate_kbps: 32 }, mediaInfo(), ctx).runs[0]).toContain('-q:a');
    const mono = mediaInfo({ audio: { index: 1, codec: 'aac', sampleRate: 48000, channels: 1 } });
    expect(buildExtractAudio({ format: 'opus', bitrate_kbps: 640 }, mediaInfo(), ctx).runs[0]).toContain('512k');
    expect(buildExtractAudio({ format: 'opus', bitrate_kbps: 640 }, mono, ctx).runs[0]).toContain('256k');
  });

  it('gives arguments libvorbis and libopus take at every sample rate and bitrate edge (real ffmpeg)', async () => {
    const cases: [ExtractAudioOptions, number][] = [
      [{ format: 'ogg', sample_rate: 8000 }, 2],
      [{ format: 'ogg', sample_rate: 96000, bitrate_kbps: 64 }, 2],
      [{ format: 'ogg', bitrate_kbps: 8 }, 2],
      [{ format: 'ogg', bitrate_kbps: 640, sample_rate: 22050 }, 1],
      [{ format: 'opus', bitrate_kbps: 640 }, 2],
      [{ format: 'opus', bitrate_kbps: 640 }, 1],
    ];
    for (const [options, channels] of cases) {
      const args = buildExtractAudio(
        options,
        mediaInfo({ video: null, audio: { index: 0, codec: 'pcm_s16le', sampleRate: 44100, channels } }),
        ctx,
      ).runs[0]!;
      const encode = args.slice(args.indexOf('-c:a'), args.length - 1); // codec, rate control, -ar, muxer
      const source = ['-f', 'lavfi', '-i', `sine=frequency=440:duration=0.5,aformat=channel_layouts=${channels === 1 ? 'mono' : 'stereo'}`];
      const run = await execa('ffmpeg', ['-v', 'error', ...source, ...encode, '-f', 'null', '-'], { reject: false });
      expect({ options, channels, stderr: run.stderr }).toEqual({ options, channels, stderr: '' });
    }
  });

  it('encodes Opus from any layout of up to eight channels, AC-3 5.1(side) among them (real ffmpeg)', async () => {
    const layouts: [string, number][] = [
      ['mono', 1],
      ['stereo', 2],
      ['4.0', 4],
      ['5.0(side)', 5],
      ['5.1(side)', 6],
      ['6.0', 6],
      ['7.1', 8],
      ['7.1(wide)', 8],
    ];
    for (const [layout, channels] of layouts) {
      const info = mediaInfo({ video: null, audio: { index: 0, codec: 'ac3', sampleRate: 48000, channels } });
      const args = buildExtractAudio({ format: 'opus' }, info, ctx).runs[0]!;
      const encode = args.slice(args.indexOf('-dn') + 1, args.length - 1); // filters, codec, rate control, muxer
      const source = ['-f', 'lavfi', '-i', `sine=frequency=440:duration=0.5,aformat=channel_layouts=${layout}`];
      const run = await execa('ffmpeg', ['-v', 'error', ...source, ...encode, '-f', 'null', '-'], { reject: false });
      expect({ layout, stderr: run.stderr }).toEqual({ layout, stderr: '' });
    }
  });

  it('covers every format of the schema', () => {
    expect(Object.keys(AUDIO_TARGETS).sort()).toEqual([...AUDIO_FORMATS].sort());
  });

  it('applies bitrate_kbps and sample_rate', () => {
    const plan = buildExtractAudio({ format: 'mp3', bitrate_kbps: 320, sample_rate: 48000 }, mediaInfo(), ctx);
    expect(plan.runs).toEqual([[...COMMON, '-c:a', 'libmp3lame', '-b:a', '320k', '-ar', '48000', '/job/out/output.mp3']]);
  });

  it('sets no -b:a for lossless formats, even when a bitrate is asked for', () => {
    for (const format of ['wav', 'flac'] as const) {
      const args = buildExtractAudio({ format, bitrate_kbps: 256, sample_rate: 16000 }, mediaInfo(), ctx).runs[0]!;
      expect(args).not.toContain('-b:a');
      expect(args.slice(-3)).toEqual(['-ar', '16000', `/job/out/output.${format}`]);
    }
  });

  it('places -threads N after the codec options and before the muxer', () => {
    const args = buildExtractAudio({ format: 'm4a' }, mediaInfo(), { ...ctx, threads: 2 }).runs[0]!;
    expect(args).toEqual([...COMMON, ...argv('-c:a aac -b:a 192k -movflags +faststart -threads 2 -f ipod /job/out/output.m4a')]);
  });

  it('maps the probed audio stream index and works on audio-only inputs', () => {
    const info = mediaInfo({ formatName: 'wav', video: null, audio: { index: 0, codec: 'pcm_s16le', sampleRate: 48000, channels: 1 } });
    const args = buildExtractAudio({ format: 'flac' }, info, ctx).runs[0]!;
    expect(args.slice(0, 4)).toEqual(['-i', '/job/input.mp4', '-map', '0:0']);
  });

  it('has expectedSeconds null when the duration is unknown', () => {
    expect(buildExtractAudio({ format: 'mp3' }, mediaInfo({ duration: null }), ctx).expectedSeconds).toBeNull();
  });

  it('fails with JOB_FAILED naming the format when the input has no audio', () => {
    let thrown: unknown;
    try {
      buildExtractAudio({ format: 'mp3' }, mediaInfo({ formatName: 'matroska,webm', audio: null }), ctx);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AppError);
    const e = thrown as AppError;
    expect(e.code).toBe(ErrorCode.JOB_FAILED);
    expect(e.message).toBe('Input has no audio stream');
    expect(e.details).toBe('ffprobe found no audio in the matroska,webm input');
  });
});
