import { inputCountProblem } from './index.js';
import { dashOptions, hlsOptions } from './streaming.js';
import { watermarkOptions } from './watermark.js';

describe('watermark options', () => {
  it('fills defaults per type', () => {
    expect(watermarkOptions.parse({ type: 'image' })).toEqual({
      type: 'image',
      position: 'bottom_right',
      margin: 16,
      opacity: 1,
      scale: 0.2,
    });
    expect(watermarkOptions.parse({ type: 'text', text: 'hi' })).toEqual({
      type: 'text',
      text: 'hi',
      position: 'bottom_right',
      margin: 16,
      opacity: 1,
      scale: 0.04,
      color: '#ffffff',
    });
  });

  it.each([
    { type: 'text' },
    { type: 'text', text: '' },
    { type: 'text', text: 'x'.repeat(201) },
    { type: 'text', text: 'bell\u0007' },
    { type: 'text', text: 'x', color: 'red' },
    { type: 'image', text: 'x' },
    { type: 'image', position: 'middle' },
    { type: 'image', opacity: 1.5 },
    { type: 'image', scale: 0 },
  ])('refuses %j', (options) => {
    expect(watermarkOptions.safeParse(options).success).toBe(false);
  });

  it('allows newlines and any printable character in a text', () => {
    expect(watermarkOptions.safeParse({ type: 'text', text: `a\nb'":\\%{pts};[x],é` }).success).toBe(true);
  });

  it('takes two inputs for an image, one for a text', () => {
    expect(inputCountProblem('watermark', 2, { type: 'image' })).toBeNull();
    expect(inputCountProblem('watermark', 1, { type: 'image' })).toBe('watermark takes exactly 2 input files; got 1');
    expect(inputCountProblem('watermark', 1, { type: 'text' })).toBeNull();
    expect(inputCountProblem('watermark', 2, { type: 'text' })).toBe('watermark takes exactly 1 input file; got 2');
  });
});

describe('hls and dash options', () => {
  it('default to a derived ladder in 6 s h264 segments', () => {
    expect(hlsOptions.parse({})).toEqual({ segment_seconds: 6, codec: 'h264' });
    expect(dashOptions.parse({})).toEqual({ segment_seconds: 6, codec: 'h264' });
  });

  it.each([
    { segment_seconds: 1 },
    { segment_seconds: 11 },
    { segment_seconds: 2.5 },
    { codec: 'vp9' },
    { renditions: [] },
    { renditions: [{ height: 360 }, { height: 360 }] },
    { renditions: [{ height: 360, width: 640 }] },
    { renditions: [{ height: 50 }] },
  ])('refuses %j', (options) => {
    expect(hlsOptions.safeParse(options).success).toBe(false);
  });
});
