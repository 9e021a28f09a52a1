import { outputMetadata } from '@media-foundry/shared';
import { ffprobeOutput, parseFrameRate, toMediaInfo, toOutputMetadata, type MediaInfo } from './media-info.js';
import { mediaInfoFixture } from './operations/test-fixtures.js';

/** `ffprobe -print_format json -show_format -show_streams` of an NTSC phone clip (trimmed). */
const PHONE_CLIP = {
  streams: [
    {
      index: 0,
      codec_name: 'h264',
      codec_type: 'video',
      width: 1920,
      height: 1080,
      pix_fmt: 'yuv420p',
      r_frame_rate: '30000/1001',
      avg_frame_rate: '30000/1001',
      time_base: '1/30000',
      start_pts: 0,
      duration_ts: 362362,
      duration: '12.078733',
      bit_rate: '4823411',
      nb_frames: '362',
      disposition: { default: 1, attached_pic: 0 },
      tags: { language: 'und', handler_name: 'VideoHandler' },
      side_data_list: [{ side_data_type: 'Display Matrix', rotation: -90 }],
    },
    {
      index: 1,
      codec_name: 'aac',
      codec_type: 'audio',
      sample_fmt: 'fltp',
      sample_rate: '48000',
      channels: 2,
      channel_layout: 'stereo',
      r_frame_rate: '0/0',
      avg_frame_rate: '0/0',
      duration: '12.096000',
      bit_rate: '128004',
      disposition: { default: 1, attached_pic: 0 },
    },
    { index: 2, codec_type: 'data', codec_tag_string: 'tmcd', tags: { timecode: '00:00:00;00' } },
  ],
  format: {
    filename: '/job/input.mp4',
    nb_streams: 3,
    format_name: 'mov,mp4,m4a,3gp,3g2,mj2',
    start_time: '0.000000',
    duration: '12.096000',
    size: '7562231',
    bit_rate: '5001475.5',
    probe_score: 100,
    tags: { major_brand: 'isom' },
  },
};

/** An MP3 with embedded cover art: the PNG "video" stream is an attached picture (real ffprobe 5.1 output, trimmed). */
const SONG_WITH_COVER = {
  streams: [
    {
      index: 0,
      codec_name: 'mp3',
      codec_type: 'audio',
      sample_fmt: 'fltp',
      sample_rate: '44100',
      channels: 1,
      channel_layout: 'mono',
      r_frame_rate: '0/0',
      avg_frame_rate: '0/0',
      duration: '3.030204',
      bit_rate: '64000',
      disposition: { default: 0, attached_pic: 0 },
    },
    {
      index: 1,
      codec_name: 'png',
      codec_type: 'video',
      width: 64,
      height: 64,
      r_frame_rate: '90000/1',
      avg_frame_rate: '0/0',
      duration: '3.030200',
      disposition: { default: 0, attached_pic: 1 },
      tags: { comment: 'Other' },
    },
  ],
  format: { filename: 'song.mp3', nb_streams: 2, format_name: 'mp3', duration: '3.030204', size: '26178', bit_rate: '69112' },
};

/** The MediaInfo of a file with no video and no subtitles: its format's numbers, and its audio (or none). */
function withoutVideo(format: Pick<MediaInfo, 'formatName' | 'duration' | 'sizeBytes' | 'bitrate'>, audio: MediaInfo['audio']): MediaInfo {
  return { ...format, video: null, audio, subtitles: [] };
}

describe('toMediaInfo', () => {
  it('reads a video+audio clip, converting string numbers and the NTSC frame rate', () => {
    expect(toMediaInfo(ffprobeOutput.parse(PHONE_CLIP))).toEqual({
      formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
      duration: 12.096,
      sizeBytes: 7562231,
      bitrate: 5001476,
      // the phone's display matrix turns the picture (ffmpeg autorotates it on decoding); the audio runs 17 ms longer
      video: { index: 0, codec: 'h264', width: 1920, height: 1080, fps: 29.97, rotation: -90, end: 12.078733, timeBase: '1/30000' },
      audio: { index: 1, codec: 'aac', sampleRate: 48000, channels: 2 },
      subtitles: [],
    });
  });

  it('picks the real video stream when cover art comes first', () => {
    const probe = ffprobeOutput.parse({
      streams: [
        { index: 0, codec_type: 'video', codec_name: 'mjpeg', width: 600, height: 600, disposition: { attached_pic: 1 } },
        { index: 1, codec_type: 'video', codec_name: 'hevc', width: 3840, height: 2160, avg_frame_rate: '60/1' },
      ],
      format: { format_name: 'matroska,webm', duration: '1.5' },
    });
    expect(toMediaInfo(probe).video).toEqual({ index: 1, codec: 'hevc', width: 3840, height: 2160, fps: 60, end: null, timeBase: null });
  });

  it.each([
    ['from 0', { start_pts: 0, duration_ts: 250, time_base: '1/50' }, '0.000000', 5],
    ['starting late', { start_pts: 90_000, duration_ts: 450_000, time_base: '1/90000' }, '0.000000', 6],
    ['in a file starting late (MPEG-TS)', { start_pts: 126_000, duration_ts: 450_000, time_base: '1/90000' }, '1.400000', 5],
    ['rounded to the µs as the integers give it', { start_pts: 0, duration_ts: 1, time_base: '1/3' }, '0.000000', 0.333333],
  ])('gives the video stream’s end on the seek timeline: %s', (_, stream, fileStart, end) => {
    const probe = ffprobeOutput.parse({
      streams: [{ index: 0, codec_type: 'video', codec_name: 'h264', width: 64, height: 64, avg_frame_rate: '25/1', ...stream }],
      format: { format_name: 'mpegts', start_time: fileStart, duration: '9' },
    });
    expect(toMediaInfo(probe).video?.end).toBe(end);
  });

  it.each([
    [
      'does not count attached cover art as video',
      SONG_WITH_COVER,
      { formatName: 'mp3', duration: 3.030204, sizeBytes: 26178, bitrate: 69112 },
      { index: 0, codec: 'mp3', sampleRate: 44100, channels: 1 },
    ],
    [
      'reads an audio-only file',
      {
        streams: [{ index: 0, codec_type: 'audio', codec_name: 'pcm_s16le', sample_rate: '16000', channels: 1 }],
        format: { format_name: 'wav', duration: '2.500000', size: '80044', bit_rate: '256140' },
      },
      { formatName: 'wav', duration: 2.5, sizeBytes: 80044, bitrate: 256140 },
      { index: 0, codec: 'pcm_s16le', sampleRate: 16000, channels: 1 },
    ],
  ])('%s', (_title, probe, format, audio) => {
    expect(toMediaInfo(ffprobeOutput.parse(probe))).toEqual(withoutVideo(format, audio));
  });

  it('falls back to stream durations, and to r_frame_rate when avg_frame_rate is 0/0', () => {
    const probe = ffprobeOutput.parse({
      streams: [
        {
          index: 0,
          codec_type: 'video',
          codec_name: 'vp9',
          width: 640,
          height: 360,
          avg_frame_rate: '0/0',
          r_frame_rate: '25/1',
          duration: '7.2',
        },
      ],
      format: { format_name: 'matroska,webm' },
    });
    const info = toMediaInfo(probe);
    expect(info.duration).toBe(7.2);
    expect(info.video?.fps).toBe(25);
    expect(info.audio).toBeNull();
    expect(info.sizeBytes).toBeNull();
    expect(info.bitrate).toBeNull();
  });

  it('reports an unknown or zero duration as null, and tolerates N/A numbers', () => {
    const probe = ffprobeOutput.parse({
      streams: [{ index: 0, codec_type: 'audio', codec_name: 'mp3', sample_rate: 'N/A' }],
      format: { format_name: 'mp3', duration: '0.000000', size: 'N/A' },
    });
    const info = toMediaInfo(probe);
    expect(info.duration).toBeNull();
    expect(info.sizeBytes).toBeNull();
    expect(info.audio).toEqual({ index: 0, codec: 'mp3', sampleRate: null, channels: null });
  });

  it('ignores a video stream without dimensions and handles a probe with no streams or format', () => {
    const info = toMediaInfo(ffprobeOutput.parse({ streams: [{ index: 0, codec_type: 'video', codec_name: 'h264' }] }));
    expect(info.video).toBeNull();
    expect(toMediaInfo(ffprobeOutput.parse({}))).toEqual(
      withoutVideo({ formatName: 'unknown', duration: null, sizeBytes: null, bitrate: null }, null),
    );
  });
});

describe('parseFrameRate', () => {
  it.each<[string | undefined, number | null]>([
    ['30000/1001', 29.97],
    ['24000/1001', 23.976],
    ['25/1', 25],
    ['60', 60],
    ['0/0', null],
    ['25/0', null],
    ['-25/1', null],
    ['abc', null],
    ['', null],
    [undefined, null],
  ])('%p → %p', (rate, fps) => {
    expect(parseFrameRate(rate)).toBe(fps);
  });
});

describe('toOutputMetadata', () => {
  // the builders' sample MP4, as a 6-second 1080p file
  const video = mediaInfoFixture({
    duration: 6.048,
    sizeBytes: 999,
    bitrate: 800000,
    video: { index: 0, codec: 'h264', width: 1920, height: 1080, fps: 29.97 },
  })();

  it('has the spec output_metadata shape, with our container name and the file size', () => {
    const m = toOutputMetadata(video, 'mp4', 604_800);
    expect(m).toEqual({
      format: 'mp4',
      duration: 6.048,
      size_bytes: 604_800,
      video_codec: 'h264',
      audio_codec: 'aac',
      width: 1920,
      height: 1080,
      bitrate: 800000,
      fps: 29.97,
    });
    expect(outputMetadata.parse(m)).toEqual(m);
  });

  it('uses nulls for the missing video of an audio output', () => {
    const m = toOutputMetadata({ ...video, video: null, duration: null, bitrate: null }, 'mp3', 48_000);
    expect(m).toEqual({
      format: 'mp3',
      duration: null,
      size_bytes: 48_000,
      video_codec: null,
      audio_codec: 'aac',
      width: null,
      height: null,
      bitrate: null,
      fps: null,
    });
    expect(outputMetadata.safeParse(m).success).toBe(true);
  });
});
