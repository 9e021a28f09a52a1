import { removeAudioOptions } from './remove-audio.js';

describe('removeAudioOptions', () => {
  it('keeps the video quality (stream copy) by default', () => {
    expect(removeAudioOptions.parse({})).toEqual({ keep_video_quality: true });
  });

  it('accepts false', () => {
    expect(removeAudioOptions.parse({ keep_video_quality: false })).toEqual({ keep_video_quality: false });
  });

  it.each([['false'], [0], [null]])('rejects the non-boolean %p, naming the field', (value) => {
    const r = removeAudioOptions.safeParse({ keep_video_quality: value });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual(['keep_video_quality']);
  });

  it('rejects unknown fields', () => {
    expect(removeAudioOptions.safeParse({ keep_subtitles: true }).success).toBe(false);
  });
});
