import type { MediaInfo } from '../media-info.js';
import type { MultiInputContext } from '../plan.js';
import { buildSubtitles, escapeFilterPath } from './subtitles.js';
import { mediaInfoFixture, multiInputContext, thrownBy } from './test-fixtures.js';

const ctx = multiInputContext('/job/input.mkv');

/** The sample as a 4-second Matroska with a SubRip and an ASS track (video at 0, audio at 1); override any part. */
const movie = mediaInfoFixture({
  formatName: 'matroska,webm',
  duration: 4,
  subtitles: [
    { index: 2, codec: 'subrip' },
    { index: 3, codec: 'ass' },
  ],
});

describe('buildSubtitles extract', () => {
  it('maps the chosen subtitle stream by its absolute index and converts it', () => {
    const plan = buildSubtitles({ mode: 'extract', format: 'vtt', stream_index: 1 }, [movie()], ctx);
    expect(plan.runs).toEqual([['-i', '/job/input.mkv', '-map', '0:3', '-c:s', 'webvtt', '/job/out/subtitles.vtt']]);
    expect(plan.outputs).toEqual([{ filename: 'subtitles.vtt', contentType: 'text/vtt', format: 'webvtt' }]);
  });

  it('fails clearly without subtitles, out of range, and for picture-based subtitles', () => {
    expect(
      thrownBy(() => buildSubtitles({ mode: 'extract', format: 'srt', stream_index: 0 }, [movie({ subtitles: [] })], ctx)).message,
    ).toBe('Input has no subtitle streams');
    expect(thrownBy(() => buildSubtitles({ mode: 'extract', format: 'srt', stream_index: 5 }, [movie()], ctx)).details).toBe(
      'stream_index 5, but the input has 2 subtitle stream(s)',
    );
    const pgs = movie({ subtitles: [{ index: 2, codec: 'hdmv_pgs_subtitle' }] });
    expect(thrownBy(() => buildSubtitles({ mode: 'extract', format: 'srt', stream_index: 0 }, [pgs], ctx)).code).toBe('JOB_FAILED');
  });
});

describe('buildSubtitles burn', () => {
  it('burns an embedded text stream with libass', () => {
    const args = buildSubtitles({ mode: 'burn', stream_index: 0 }, [movie()], ctx).runs[0]!;
    expect(args.slice(0, 6)).toEqual(['-i', '/job/input.mkv', '-map', '0:0', '-vf', 'subtitles=filename=/job/input.mkv:si=0']);
    expect(args).toEqual(expect.arrayContaining(['-map', '0:1', '-sn']));
  });

  it('burns the subtitles of a second input', () => {
    const two: MultiInputContext = { ...ctx, inputPath: '/job/input_0.mp4', inputPaths: ['/job/input_0.mp4', '/job/input_1.srt'] };
    const srt: MediaInfo = { ...movie({ video: null, audio: null }), subtitles: [{ index: 0, codec: 'subrip' }] };
    const args = buildSubtitles({ mode: 'burn', stream_index: 0 }, [movie({ subtitles: [] }), srt], two).runs[0]!;
    expect(args).toContain('subtitles=filename=/job/input_1.srt:si=0');
  });

  it('rounds an odd-sized frame down to even after the burn (libx264 in 4:2:0 refuses odd sides)', () => {
    const odd = { index: 0, codec: 'h264', width: 321, height: 241, fps: 25 };
    const text = buildSubtitles({ mode: 'burn', stream_index: 0 }, [movie({ video: odd })], ctx).runs[0]!;
    expect(text).toContain('subtitles=filename=/job/input.mkv:si=0,scale=trunc(iw/2)*2:trunc(ih/2)*2');
    const pgs = movie({ video: odd, subtitles: [{ index: 4, codec: 'hdmv_pgs_subtitle' }] });
    const bitmap = buildSubtitles({ mode: 'burn', stream_index: 0 }, [pgs], ctx).runs[0]!;
    expect(bitmap).toContain('[0:0][0:4]overlay,scale=trunc(iw/2)*2:trunc(ih/2)*2[v]');
  });

  it('overlays picture-based subtitles', () => {
    const pgs = movie({ subtitles: [{ index: 4, codec: 'hdmv_pgs_subtitle' }] });
    const args = buildSubtitles({ mode: 'burn', stream_index: 0 }, [pgs], ctx).runs[0]!;
    expect(args).toEqual(expect.arrayContaining(['-filter_complex', '[0:0][0:4]overlay[v]', '-map', '[v]']));
  });

  it('escapes paths for the filter option and the filter graph (test/multi-input.int.test.ts burns with such a path for real)', () => {
    // option level escapes \ ' : ; graph level then escapes \ ' [ ] , ;
    expect(escapeFilterPath("/tmp/we:ird'dir [x],y;z/s.srt")).toBe("/tmp/we\\\\:ird\\\\\\'dir \\[x\\]\\,y\\;z/s.srt");
    expect(escapeFilterPath('/plain/path.srt')).toBe('/plain/path.srt');
  });
});
