import { AppError, ErrorCode } from '@media-foundry/shared';
import type { VideoStreamInfo } from '../media-info.js';
import { buildRemoveAudio, copyContainer } from './remove-audio.js';
import { argv, buildContext, mediaInfoFixture, OUTPUT, singleRun } from './test-fixtures.js';

const ctx = buildContext();

/** A probed 10-second 1280x720 H.264/AAC MP4; override any part. */
const mediaInfo = mediaInfoFixture();

function video(codec: string | null, extra: Partial<VideoStreamInfo> = {}): VideoStreamInfo {
  return { index: 0, codec, width: 1280, height: 720, fps: 30, ...extra };
}

describe('copyContainer', () => {
  it.each([
    ['h264', 'mp4'],
    ['hevc', 'mp4'],
    ['mpeg4', 'mp4'],
    ['av1', 'mp4'],
    ['vp8', 'webm'],
    ['vp9', 'webm'],
    ['mpeg2video', 'mkv'],
    ['prores', 'mkv'],
    [null, 'mkv'],
  ] as const)('puts copied %s into %s', (codec, container) => {
    expect(copyContainer(codec)).toBe(container);
  });
});

describe('buildRemoveAudio', () => {
  it('copies H.264 into MP4 without audio, subtitles or data (the default)', () => {
    expect(singleRun(buildRemoveAudio({ keep_video_quality: true }, mediaInfo(), ctx), OUTPUT.mp4, 10)).toEqual(
      argv('-i /job/input.mp4 -map 0:0 -c:v copy -an -sn -dn -movflags +faststart /job/out/output.mp4'),
    );
  });

  it('copies VP9 into WebM (no faststart)', () => {
    const plan = buildRemoveAudio({ keep_video_quality: true }, mediaInfo({ formatName: 'matroska,webm', video: video('vp9') }), ctx);
    expect(singleRun(plan, OUTPUT.webm)).toEqual(argv('-i /job/input.mp4 -map 0:0 -c:v copy -an -sn -dn /job/out/output.webm'));
  });

  it('copies other codecs (MPEG-2) into Matroska', () => {
    const plan = buildRemoveAudio({ keep_video_quality: true }, mediaInfo({ formatName: 'mpeg', video: video('mpeg2video') }), ctx);
    expect(singleRun(plan, OUTPUT.mkv)).toEqual(argv('-i /job/input.mp4 -map 0:0 -c:v copy -an -sn -dn /job/out/output.mkv'));
  });

  it('re-encodes to H.264 MP4 when keep_video_quality is false, whatever the codec', () => {
    const plan = buildRemoveAudio({ keep_video_quality: false }, mediaInfo({ video: video('vp9') }), ctx);
    expect(singleRun(plan, OUTPUT.mp4)).toEqual(
      argv(
        '-i /job/input.mp4 -map 0:0 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -an -sn -dn -movflags +faststart /job/out/output.mp4',
      ),
    );
  });

  it('rounds an odd size to even when re-encoding, not when copying', () => {
    const odd = mediaInfo({ video: video('ffv1', { width: 321, height: 241 }) });
    expect(buildRemoveAudio({ keep_video_quality: false }, odd, ctx).runs[0]!.slice(2, 6)).toEqual(
      argv('-map 0:0 -vf scale=trunc(iw/2)*2:trunc(ih/2)*2'),
    );
    expect(buildRemoveAudio({ keep_video_quality: true }, odd, ctx).runs[0]).not.toContain('-vf');
  });

  it('maps the probed video index and adds -threads N', () => {
    const info = mediaInfo({ video: video('h264', { index: 3 }) });
    expect(buildRemoveAudio({ keep_video_quality: true }, info, { ...ctx, threads: 2 }).runs[0]).toEqual(
      argv('-i /job/input.mp4 -map 0:3 -c:v copy -an -sn -dn -threads 2 -movflags +faststart /job/out/output.mp4'),
    );
  });

  it('works on a video without audio, and has a null expectedSeconds when the duration is unknown', () => {
    const plan = buildRemoveAudio({ keep_video_quality: true }, mediaInfo({ audio: null, duration: null }), ctx);
    expect(plan.runs[0]).toContain('-an');
    expect(plan.expectedSeconds).toBeNull();
  });

  it('fails with JOB_FAILED when the input has no video', () => {
    let thrown: unknown;
    try {
      buildRemoveAudio({ keep_video_quality: true }, mediaInfo({ formatName: 'mp3', video: null }), ctx);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AppError);
    expect((thrown as AppError).code).toBe(ErrorCode.JOB_FAILED);
    expect((thrown as AppError).message).toBe('Input has no video stream');
    expect((thrown as AppError).details).toBe('ffprobe found no video in the mp3 input');
  });
});
