import { SEEK_PRE_ROLL_SECONDS, seekArgs } from './plan.js';

describe('seekArgs', () => {
  it('seeks on the input where the demuxer lands at or before the time', () => {
    for (const format of ['mov,mp4,m4a,3gp,3g2,mj2', 'matroska,webm', 'avi', 'flv', 'gif'])
      expect(seekArgs(format, 3)).toEqual({ input: ['-ss', '3'], output: [], preRoll: 0 });
  });

  it(`enters MPEG-TS and MPEG-PS ${SEEK_PRE_ROLL_SECONDS} s early and decodes to the time (their seek lands on the next keyframe)`, () => {
    expect(seekArgs('mpegts', 3)).toEqual({ input: [], output: ['-ss', '3'], preRoll: 3 });
    expect(seekArgs('mpeg', 40)).toEqual({
      input: ['-ss', String(40 - SEEK_PRE_ROLL_SECONDS)],
      output: ['-ss', String(SEEK_PRE_ROLL_SECONDS)],
      preRoll: SEEK_PRE_ROLL_SECONDS,
    });
    expect(seekArgs('mpegts', 0)).toEqual({ input: [], output: [], preRoll: 0 });
  });

  it('decodes a raw elementary stream from its start (it cannot seek)', () => {
    expect(seekArgs('h264', 40)).toEqual({ input: [], output: ['-ss', '40'], preRoll: 40 });
  });
});
