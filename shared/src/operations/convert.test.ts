import { z } from 'zod';
import { formatIssues } from '../validation.js';
import { CONTAINER_CODECS, CONVERT_AUDIO_CODECS, CONVERT_FORMATS, CONVERT_VIDEO_CODECS, convertOptions } from './convert.js';
import { failedParse } from '../test-fixtures.js';

const issues = (input: unknown) => failedParse(convertOptions, input);

describe('convertOptions', () => {
  it('requires target_format', () => {
    expect(issues({}).map((i) => i.path)).toEqual(['target_format']);
  });

  it('defaults stream_copy to false and leaves the codecs to the container', () => {
    expect(convertOptions.parse({ target_format: 'mkv' })).toEqual({ target_format: 'mkv', stream_copy: false });
  });

  it('accepts the spec example', () => {
    expect(convertOptions.parse({ target_format: 'mkv', stream_copy: true })).toEqual({ target_format: 'mkv', stream_copy: true });
  });

  it.each(CONVERT_FORMATS)('accepts target_format %s', (target_format) => {
    expect(convertOptions.parse({ target_format }).target_format).toBe(target_format);
  });

  it('rejects an unknown format or codec name, naming the field', () => {
    expect(issues({ target_format: 'wmv' }).map((i) => i.path)).toEqual(['target_format']);
    expect(issues({ target_format: 'mp4', video_codec: 'x264' }).map((i) => i.path)).toEqual(['video_codec']);
    expect(issues({ target_format: 'mp4', audio_codec: 'wma' }).map((i) => i.path)).toEqual(['audio_codec']);
  });

  it('accepts every codec its container allows', () => {
    for (const format of CONVERT_FORMATS) {
      for (const video_codec of CONTAINER_CODECS[format].video)
        expect(convertOptions.safeParse({ target_format: format, video_codec }).success).toBe(true);
      for (const audio_codec of CONTAINER_CODECS[format].audio)
        expect(convertOptions.safeParse({ target_format: format, audio_codec }).success).toBe(true);
    }
  });

  it('rejects every codec its container does not allow, on the codec field', () => {
    for (const format of CONVERT_FORMATS) {
      for (const video_codec of CONVERT_VIDEO_CODECS.filter((c) => !CONTAINER_CODECS[format].video.includes(c)))
        expect(issues({ target_format: format, video_codec }).map((i) => i.path)).toEqual(['video_codec']);
      for (const audio_codec of CONVERT_AUDIO_CODECS.filter((c) => !CONTAINER_CODECS[format].audio.includes(c)))
        expect(issues({ target_format: format, audio_codec }).map((i) => i.path)).toEqual(['audio_codec']);
    }
  });

  it('explains what the container takes', () => {
    expect(issues({ target_format: 'webm', video_codec: 'h264' })).toEqual([
      { path: 'video_codec', message: 'webm cannot hold video codec h264; it takes vp8, vp9, av1' },
    ]);
    expect(issues({ target_format: 'flv', audio_codec: 'opus' })).toEqual([
      { path: 'audio_codec', message: 'flv cannot hold audio codec opus; it takes aac, mp3' },
    ]);
  });

  it('reports both codecs when both are wrong', () => {
    expect(issues({ target_format: 'mp4', video_codec: 'vp9', audio_codec: 'vorbis' }).map((i) => i.path)).toEqual([
      'video_codec',
      'audio_codec',
    ]);
  });

  it('rejects a codec choice together with stream_copy, on each codec field', () => {
    expect(issues({ target_format: 'mkv', stream_copy: true, video_codec: 'h264' })).toEqual([
      {
        path: 'video_codec',
        message: "`video_codec` cannot be combined with `stream_copy: true` (a stream copy keeps the input's codecs)",
      },
    ]);
    expect(issues({ target_format: 'mkv', stream_copy: true, video_codec: 'vp9', audio_codec: 'opus' }).map((i) => i.path)).toEqual([
      'video_codec',
      'audio_codec',
    ]);
  });

  it('names options.video_codec / options.audio_codec when part of a message', () => {
    const r = z
      .object({ options: convertOptions })
      .safeParse({ options: { target_format: 'avi', video_codec: 'vp9', audio_codec: 'aac' } });
    expect(formatIssues(r.error!)).toBe(
      'options.video_codec: avi cannot hold video codec vp9; it takes mpeg4, h264, mjpeg; ' +
        'options.audio_codec: avi cannot hold audio codec aac; it takes mp3, ac3, pcm_s16le',
    );
  });
});

describe('CONTAINER_CODECS', () => {
  it('lists every format, with codecs from the schema enums', () => {
    expect(Object.keys(CONTAINER_CODECS).sort()).toEqual([...CONVERT_FORMATS].sort());
    for (const { video, audio } of Object.values(CONTAINER_CODECS)) {
      for (const c of video) expect(CONVERT_VIDEO_CODECS).toContain(c);
      for (const c of audio) expect(CONVERT_AUDIO_CODECS).toContain(c);
    }
  });

  it('uses each codec in at least one container', () => {
    const all = Object.values(CONTAINER_CODECS);
    for (const c of CONVERT_VIDEO_CODECS) expect(all.some((x) => x.video.includes(c))).toBe(true);
    for (const c of CONVERT_AUDIO_CODECS) expect(all.some((x) => x.audio.includes(c))).toBe(true);
  });

  it('matches the documented allow-list', () => {
    expect(CONTAINER_CODECS.mp4).toEqual({ video: ['h264', 'hevc', 'mpeg4', 'av1'], audio: ['aac', 'mp3', 'opus', 'ac3'] });
    expect(CONTAINER_CODECS.webm).toEqual({ video: ['vp8', 'vp9', 'av1'], audio: ['opus', 'vorbis'] });
    expect(CONTAINER_CODECS.flv).toEqual({ video: ['h264'], audio: ['aac', 'mp3'] });
  });
});
