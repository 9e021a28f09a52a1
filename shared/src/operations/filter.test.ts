import { z } from 'zod';
import { formatIssues } from '../validation.js';
import { AUDIO_FILTER_TYPES, filterOptions, filterStep } from './filter.js';
import { failedParse } from '../test-fixtures.js';

const paths = (input: unknown) => failedParse(filterOptions, input).map((i) => i.path);

const one = (step: unknown) => ({ filters: [step] });

describe('filterOptions', () => {
  it('accepts the spec example, in order', () => {
    const example = {
      filters: [
        { type: 'scale', width: 1280, height: 720 },
        { type: 'volume', volume: 1.5 },
        { type: 'fps', fps: 30 },
      ],
    };
    expect(filterOptions.parse(example)).toEqual(example);
  });

  it('requires 1 to 20 filters', () => {
    expect(paths({})).toEqual(['filters']);
    expect(paths({ filters: [] })).toEqual(['filters']);
    const fps = { type: 'fps', fps: 24 };
    expect(filterOptions.parse({ filters: Array(20).fill(fps) }).filters).toHaveLength(20);
    expect(paths({ filters: Array(21).fill(fps) })).toEqual(['filters']);
  });

  it('rejects an unknown filter type, naming its index', () => {
    expect(
      paths({
        filters: [
          { type: 'fps', fps: 24 },
          { type: 'blur', radius: 2 },
        ],
      }),
    ).toEqual(['filters.1.type']);
  });

  describe('scale', () => {
    it('takes width, height or both', () => {
      expect(filterStep.parse({ type: 'scale', width: 640 })).toEqual({ type: 'scale', width: 640 });
      expect(filterStep.parse({ type: 'scale', height: 360 })).toEqual({ type: 'scale', height: 360 });
      expect(filterStep.parse({ type: 'scale', width: 640, height: 360 })).toEqual({ type: 'scale', width: 640, height: 360 });
    });

    it('needs at least one side, reported on filters.N.width', () => {
      const r = filterOptions.safeParse(one({ type: 'scale' }));
      expect(r.error!.issues).toEqual([
        expect.objectContaining({ path: ['filters', 0, 'width'], message: 'scale needs `width`, `height` or both' }),
      ]);
    });

    it.each([1, 8193, 100.5, -2])('rejects the size %p', (width) => {
      expect(paths(one({ type: 'scale', width }))).toEqual(['filters.0.width']);
    });
  });

  describe('rotate', () => {
    it.each([-360, -90, 0, 45.5, 90, 360])('accepts %p degrees', (angle) => {
      expect(filterStep.parse({ type: 'rotate', angle })).toEqual({ type: 'rotate', angle });
    });

    it.each([-361, 360.5, 720])('rejects %p degrees', (angle) => {
      expect(paths(one({ type: 'rotate', angle }))).toEqual(['filters.0.angle']);
    });

    it('requires the angle', () => {
      expect(paths(one({ type: 'rotate' }))).toEqual(['filters.0.angle']);
    });
  });

  describe('crop', () => {
    it('defaults x and y to 0', () => {
      expect(filterStep.parse({ type: 'crop', width: 640, height: 360 })).toEqual({ type: 'crop', width: 640, height: 360, x: 0, y: 0 });
    });

    it('requires width and height', () => {
      expect(paths(one({ type: 'crop', width: 640 }))).toEqual(['filters.0.height']);
    });

    it.each([
      ['x', -1],
      ['y', 1.5],
      ['width', 1],
      ['height', 9000],
    ])('rejects %s = %p', (field, value) => {
      expect(paths(one({ type: 'crop', width: 100, height: 100, [field]: value }))).toEqual([`filters.0.${field}`]);
    });
  });

  describe('fps', () => {
    it('accepts 1 to 120 whole frames per second', () => {
      expect(filterStep.parse({ type: 'fps', fps: 1 })).toEqual({ type: 'fps', fps: 1 });
      expect(filterStep.parse({ type: 'fps', fps: 120 })).toEqual({ type: 'fps', fps: 120 });
    });

    it.each([0, 121, 29.97])('rejects %p', (fps) => {
      expect(paths(one({ type: 'fps', fps }))).toEqual(['filters.0.fps']);
    });
  });

  describe('volume', () => {
    it.each([0, 0.5, 1, 10])('accepts %p', (volume) => {
      expect(filterStep.parse({ type: 'volume', volume })).toEqual({ type: 'volume', volume });
    });

    it.each([-0.1, 10.01])('rejects %p', (volume) => {
      expect(paths(one({ type: 'volume', volume }))).toEqual(['filters.0.volume']);
    });
  });

  describe('normalize', () => {
    it('takes no parameters', () => {
      expect(filterStep.parse({ type: 'normalize' })).toEqual({ type: 'normalize' });
      expect(filterOptions.safeParse(one({ type: 'normalize', target: -14 })).success).toBe(false);
    });
  });

  it('rejects fields of another filter type (strict objects)', () => {
    expect(filterOptions.safeParse(one({ type: 'fps', fps: 30, volume: 2 })).success).toBe(false);
  });

  it('names options.filters.N.field when part of a message', () => {
    const r = z.object({ options: filterOptions }).safeParse({
      options: {
        filters: [
          { type: 'fps', fps: 30 },
          { type: 'volume', volume: 11 },
        ],
      },
    });
    expect(formatIssues(r.error!)).toMatch(/^options\.filters\[1\]\.volume: /);
  });

  it('classes volume and normalize as the audio filters', () => {
    expect([...AUDIO_FILTER_TYPES].sort()).toEqual(['normalize', 'volume']);
  });
});
