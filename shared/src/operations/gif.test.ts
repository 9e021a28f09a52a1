import { gifOptions } from './gif.js';
import { failedParse } from '../test-fixtures.js';

const paths = (input: unknown) => failedParse(gifOptions, input).map((i) => i.path);

describe('gifOptions', () => {
  it('fills the defaults: 5 s from the start at 10 fps, optimized, width from the input', () => {
    expect(gifOptions.parse({})).toEqual({ start_time: 0, duration: 5, fps: 10, optimize: true });
  });

  it('accepts the spec example', () => {
    const example = { start_time: 5, duration: 10, fps: 15, width: 480, optimize: true };
    expect(gifOptions.parse(example)).toEqual(example);
  });

  it('accepts the range ends: duration up to 30 s, fps 1–30, width 2–8192', () => {
    expect(gifOptions.parse({ duration: 30, fps: 30, width: 8192 })).toMatchObject({ duration: 30, fps: 30, width: 8192 });
    expect(gifOptions.parse({ duration: 0.1, fps: 1, width: 2 })).toMatchObject({ duration: 0.1, fps: 1, width: 2 });
  });

  it.each([
    ['duration', 0],
    ['duration', -1],
    ['duration', 30.01],
    ['fps', 0],
    ['fps', 31],
    ['fps', 12.5],
    ['width', 1],
    ['width', 8193],
    ['width', 320.5],
    ['start_time', -0.1],
    ['optimize', 'no'],
  ])('rejects %s = %p, naming the field', (field, value) => {
    expect(paths({ [field]: value })).toEqual([field]);
  });

  it('rejects unknown fields (height is not an option: the aspect ratio decides it)', () => {
    expect(gifOptions.safeParse({ height: 200 }).success).toBe(false);
  });
});
