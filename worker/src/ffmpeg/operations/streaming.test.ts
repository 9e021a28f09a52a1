import { ErrorCode, hlsOptions, type HlsOptions } from '@media-foundry/shared';
import { buildDash, buildHls, ladder, ladderFilter, MAX_LADDER_SEGMENTS } from './streaming.js';
import { argv, buildContext, h264Video, mediaInfoFixture, thrownBy } from './test-fixtures.js';

const ctx = buildContext();

/** A probed 20-second 1280x720 MP4; override any part. */
const mediaInfo = mediaInfoFixture({ duration: 20, sizeBytes: 5_000_000, bitrate: 2_000_000, video: h264Video('1280x720', 25) });

const opts = (o: Partial<HlsOptions> = {}): HlsOptions => hlsOptions.parse(o);

describe('ladder', () => {
  it('defaults to 1080/720/480/360 up to the input height, widths even and aspect kept', () => {
    expect(ladder(undefined, mediaInfo())).toEqual([
      { name: '720p', width: 1280, height: 720, videoKbps: 2800, audioKbps: 128 },
      { name: '480p', width: 854, height: 480, videoKbps: 1400, audioKbps: 128 },
      { name: '360p', width: 640, height: 360, videoKbps: 800, audioKbps: 128 },
    ]);
  });

  it("takes the input's own height when it is below every default rung", () => {
    const small = mediaInfo({ video: { index: 0, codec: 'h264', width: 320, height: 180, fps: 25 } });
    expect(ladder(undefined, small)).toEqual([{ name: '180p', width: 320, height: 180, videoKbps: 175, audioKbps: 128 }]);
  });

  it('swaps the sides of a quarter-turned phone video before scaling', () => {
    const phone = mediaInfo({ video: { index: 0, codec: 'h264', width: 1920, height: 1080, fps: 30, rotation: -90 } });
    expect(ladder([{ height: 960 }], phone)[0]).toMatchObject({ width: 540, height: 960 });
  });

  it('keeps asked bitrates, sorts highest first, and refuses to upscale', () => {
    expect(ladder([{ height: 240, video_bitrate_kbps: 300, audio_bitrate_kbps: 64 }, { height: 480 }], mediaInfo())).toEqual([
      { name: '480p', width: 854, height: 480, videoKbps: 1400, audioKbps: 128 },
      { name: '240p', width: 426, height: 240, videoKbps: 300, audioKbps: 64 },
    ]);
    const err = thrownBy(() => ladder([{ height: 1080 }], mediaInfo()));
    expect(err.code).toBe(ErrorCode.JOB_FAILED);
    expect(err.details).toBe('rendition height 1080, input height 720: a ladder does not upscale');
  });

  it('needs a video stream', () => {
    expect(thrownBy(() => ladder(undefined, mediaInfo({ video: null }))).message).toBe('Input has no video stream');
  });
});

describe('ladderFilter', () => {
  it('splits once, one scaled branch per rung', () => {
    const rungs = ladder([{ height: 480 }, { height: 360 }], mediaInfo());
    expect(ladderFilter(0, rungs)).toBe('[0:0]split=2[s0][s1];[s0]scale=854:480,setsar=1[v0];[s1]scale=640:360,setsar=1[v1]');
    expect(ladderFilter(2, rungs.slice(1))).toBe('[0:2]scale=640:360,setsar=1[v0]');
  });
});

/** A 720p + 360p ladder's input, scaling graph and encoders: what its HLS and DASH runs share before the muxer. */
const LADDER_720_360 = [
  ...['-i', '/job/input.mp4'],
  ...['-filter_complex', '[0:0]split=2[s0][s1];[s0]scale=1280:720,setsar=1[v0];[s1]scale=640:360,setsar=1[v1]'],
  ...['-map', '[v0]', '-map', '[v1]', '-map', '0:1', '-map', '0:1'],
  ...['-c:v', 'libx264', '-preset', 'veryfast', '-sc_threshold', '0', '-pix_fmt', 'yuv420p'],
  ...['-b:v:0', '2800k', '-maxrate:v:0', '2996k', '-bufsize:v:0', '5600k'],
  ...['-b:v:1', '800k', '-maxrate:v:1', '856k', '-bufsize:v:1', '1600k'],
  ...['-force_key_frames:v', 'expr:gte(t,n_forced*6)'],
  ...['-c:a', 'aac', '-ac', '2', '-b:a:0', '128k', '-b:a:1', '128k'],
];

/** Each format's one run of the 720p + 360p ladder (the shared part, then its muxer), and the output probed in its stead. */
it.each([
  [
    'buildHls',
    'encodes every rung in one run with keyframes at segment boundaries, and a var_stream_map naming the directories',
    buildHls,
    [
      ...['-f', 'hls', '-hls_time', '6', '-hls_playlist_type', 'vod', '-hls_flags', 'independent_segments'],
      ...['-hls_segment_filename', '/job/out/%v/seg_%03d.ts', '-master_pl_name', 'master.m3u8'],
      ...['-var_stream_map', 'v:0,a:0,name:720p v:1,a:1,name:360p', '/job/out/%v/index.m3u8'],
    ],
    { filename: '720p/seg_000.ts', format: 'hls', duration: 20 },
  ],
  [
    'buildDash',
    'writes one manifest with a video and an audio adaptation set',
    buildDash,
    [
      ...['-f', 'dash', '-seg_duration', '6', '-use_template', '1', '-use_timeline', '1'],
      ...['-adaptation_sets', 'id=0,streams=v id=1,streams=a'],
      ...['-init_seg_name', 'init_$RepresentationID$.m4s', '-media_seg_name', 'seg_$RepresentationID$_$Number%03d$.m4s'],
      '/job/out/manifest.mpd',
    ],
    { filename: 'init_0.m4s', format: 'dash', duration: 20 },
  ],
])('%s %s', (_builder, _what, build, muxer, describeAs) => {
  const plan = build(opts({ renditions: [{ height: 720 }, { height: 360 }] }), mediaInfo(), ctx);
  expect(plan.runs).toEqual([[...LADDER_720_360, ...muxer]]);
  expect(plan.describeAs).toEqual(describeAs);
});

describe('buildHls', () => {
  it("expects the input's 20 s, and lists no outputs until the run has written them", () => {
    const plan = buildHls(opts({ renditions: [{ height: 720 }, { height: 360 }] }), mediaInfo(), ctx);
    expect(plan.expectedSeconds).toBe(20);
    expect(plan.outputs).toEqual([]);
  });

  it('lists the master first, then each variant playlist and its segments in number order', () => {
    const plan = buildHls(opts({ renditions: [{ height: 720 }, { height: 360 }] }), mediaInfo(), ctx);
    const files = ['360p/index.m3u8', '360p/seg_000.ts', '720p/index.m3u8', '720p/seg_1000.ts', '720p/seg_999.ts', 'master.m3u8'];
    expect(plan.collectOutputs!(files)).toEqual([
      { filename: 'master.m3u8', contentType: 'application/vnd.apple.mpegurl', format: 'hls' },
      { filename: '720p/index.m3u8', contentType: 'application/vnd.apple.mpegurl', format: 'hls' },
      { filename: '720p/seg_999.ts', contentType: 'video/mp2t', format: 'mpegts' },
      { filename: '720p/seg_1000.ts', contentType: 'video/mp2t', format: 'mpegts' },
      { filename: '360p/index.m3u8', contentType: 'application/vnd.apple.mpegurl', format: 'hls' },
      { filename: '360p/seg_000.ts', contentType: 'video/mp2t', format: 'mpegts' },
    ]);
  });

  it('maps video only for an input without audio, and writes fMP4 with hevc', () => {
    const plan = buildHls(opts({ renditions: [{ height: 360 }], codec: 'hevc', segment_seconds: 4 }), mediaInfo({ audio: null }), {
      ...ctx,
      threads: 2,
    });
    expect(plan.runs[0]).toEqual([
      ...['-i', '/job/input.mp4', '-filter_complex', '[0:0]scale=640:360,setsar=1[v0]', '-map', '[v0]'],
      ...['-c:v', 'libx265', '-preset', 'veryfast', '-tag:v', 'hvc1', '-x265-params', 'scenecut=0:open-gop=0:log-level=error'],
      ...['-pix_fmt', 'yuv420p', '-b:v:0', '800k', '-maxrate:v:0', '856k', '-bufsize:v:0', '1600k'],
      ...['-force_key_frames:v', 'expr:gte(t,n_forced*4)', '-threads', '2'],
      ...['-f', 'hls', '-hls_time', '4', '-hls_playlist_type', 'vod', '-hls_flags', 'independent_segments'],
      ...['-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', 'init_0.mp4'],
      ...['-hls_segment_filename', '/job/out/%v/seg_%03d.m4s', '-master_pl_name', 'master.m3u8'],
      ...['-var_stream_map', 'v:0,name:360p', '/job/out/%v/index.m3u8'],
    ]);
    expect(plan.describeAs?.filename).toBe('360p/init_0.mp4');
  });

  // ffmpeg appends `_<n>` to the init segment's name only with several variant streams
  it.each([
    [[{ height: 360 }], 'init_0.mp4', '360p/init_0.mp4'],
    [[{ height: 720 }, { height: 360 }], 'init.mp4', '720p/init_0.mp4'],
  ])('names the hevc init segment so that rung n writes init_<n>.mp4 (%j)', (renditions, told, described) => {
    const plan = buildHls(opts({ renditions, codec: 'hevc' }), mediaInfo(), ctx);
    const run = plan.runs[0]!;
    expect(run[run.indexOf('-hls_fmp4_init_filename') + 1]).toBe(told);
    expect(plan.describeAs?.filename).toBe(described);
  });

  it(`refuses more than ${MAX_LADDER_SEGMENTS} segments`, () => {
    const long = mediaInfo({ duration: 4 * 3600 });
    const err = thrownBy(() => buildHls(opts({ segment_seconds: 2 }), long, ctx));
    expect(err.message).toBe('Too many segments');
    expect(buildHls(opts({ segment_seconds: 10, renditions: [{ height: 360 }] }), long, ctx).runs).toHaveLength(1);
  });
});

describe('buildDash', () => {
  it('lists the manifest, then per representation its init segment and its segments', () => {
    const plan = buildDash(opts({ renditions: [{ height: 360 }] }), mediaInfo(), ctx);
    const files = ['init_0.m4s', 'init_1.m4s', 'manifest.mpd', 'seg_0_001.m4s', 'seg_0_002.m4s', 'seg_1_001.m4s'];
    expect(plan.collectOutputs!(files).map((o) => o.filename)).toEqual(
      argv('manifest.mpd init_0.m4s seg_0_001.m4s seg_0_002.m4s init_1.m4s seg_1_001.m4s'),
    );
    expect(plan.collectOutputs!(files)[0]).toEqual({ filename: 'manifest.mpd', contentType: 'application/dash+xml', format: 'dash' });
  });
});
