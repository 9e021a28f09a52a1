import { ErrorCode } from '@media-foundry/shared';
import {
  audioPacketsPerSecond,
  MIN_TARGET_AUDIO_KBPS,
  MIN_TARGET_VIDEO_KBPS,
  targetRates,
  TARGET_SIZE_AIM,
  twoPassVideoArgs,
  videoFloorKbps,
} from './target-size.js';
import { argv, thrownBy } from './test-fixtures.js';

const HD = { size: { width: 1280, height: 720 }, fps: 25 };
const AAC = (requestedKbps?: number) => ({ requestedKbps, presetKbps: 128, packetsPerSecond: audioPacketsPerSecond(false, 48000) });

describe('targetRates', () => {
  it('splits the aimed size over the duration into video and audio, less the muxing overhead', () => {
    const rates = targetRates({ targetMb: 25, duration: 60, video: HD, audio: AAC() });
    // 25 MB × 8 × 0.95 / 60 s = 3166.7 kbps, less (25 + 46.875) packets/s × 12 B = 6.9 kbps, less 128 kbps audio
    expect(rates).toEqual({ videoKbps: 3031, audioKbps: 128, maxBytes: 25_000_000 });
    const bytes = ((rates.videoKbps + 128 + 6.9) * 1000 * 60) / 8;
    expect(bytes).toBeLessThanOrEqual(25_000_000 * TARGET_SIZE_AIM + 1000);
  });

  it('squeezes the audio when the target is tight, never below its floor, but keeps an explicit audio bitrate', () => {
    expect(targetRates({ targetMb: 2, duration: 60, video: HD, audio: AAC() }).audioKbps).toBe(49);
    expect(targetRates({ targetMb: 1.2, duration: 60, video: { ...HD, fps: 10 }, audio: AAC() }).audioKbps).toBe(MIN_TARGET_AUDIO_KBPS);
    expect(targetRates({ targetMb: 2, duration: 60, video: HD, audio: AAC(96) }).audioKbps).toBe(96);
  });

  it('gives everything to the video without audio', () => {
    expect(targetRates({ targetMb: 8, duration: 60, video: HD, audio: null })).toMatchObject({ audioKbps: null, videoKbps: 1010 });
  });

  it('refuses a target below the floor, naming the smallest reachable size', () => {
    const thrown = thrownBy(() => targetRates({ targetMb: 0.5, duration: 60, video: HD, audio: AAC() }));
    expect(thrown.code).toBe(ErrorCode.JOB_FAILED);
    expect(thrown.details).toBe('target_size_mb 0.5 for 60s of 1280x720 output; the smallest reachable size is 0.9 MB');
    // and that size itself is accepted
    expect(() => targetRates({ targetMb: 0.9, duration: 60, video: HD, audio: AAC() })).not.toThrow();
  });

  it('has a floor that grows with the pixel rate', () => {
    expect(videoFloorKbps({ size: { width: 320, height: 240 }, fps: 25 })).toBe(MIN_TARGET_VIDEO_KBPS);
    expect(videoFloorKbps(HD)).toBe(70);
    expect(videoFloorKbps({ size: { width: 1920, height: 1080 }, fps: 60 })).toBe(374);
  });
});

describe('twoPassVideoArgs', () => {
  it('x264 and VP9 at a bitrate, with the pass, its log and the frame-rate mode both passes share', () => {
    expect(twoPassVideoArgs(false, 'veryfast', 1000, 1, '/job/passlog')).toEqual(
      argv(
        '-c:v libx264 -preset veryfast -b:v 1000k -x264-params ratetol=0.2 -pass 1 -passlogfile /job/passlog -pix_fmt yuv420p -fps_mode vfr',
      ),
    );
    expect(twoPassVideoArgs(true, 'medium', 500, 2, '/job/passlog')).toEqual([
      ...['-c:v', 'libvpx-vp9', '-b:v', '500k', '-row-mt', '1', '-deadline', 'good', '-cpu-used', '4'],
      ...['-pass', '2', '-passlogfile', '/job/passlog', '-pix_fmt', 'yuv420p', '-fps_mode', 'vfr'],
    ]);
  });
});
