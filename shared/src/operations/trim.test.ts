import { z } from 'zod';
import { formatIssues } from '../validation.js';
import { trimOptions } from './trim.js';
import { failedParse } from '../test-fixtures.js';

/** The distinct fields a failed parse names (a bad end_time also fails the end > start refinement). */
const paths = (input: unknown) => [...new Set(failedParse(trimOptions, input).map((i) => i.path))];

describe('trimOptions', () => {
  it('defaults to the whole input, re-encoded', () => {
    expect(trimOptions.parse({})).toEqual({ start_time: 0, stream_copy: false });
  });

  it('accepts the spec example', () => {
    expect(trimOptions.parse({ start_time: 10, end_time: 30 })).toEqual({ start_time: 10, end_time: 30, stream_copy: false });
  });

  it('accepts fractional seconds and stream_copy', () => {
    expect(trimOptions.parse({ start_time: 1.25, end_time: 1.5, stream_copy: true })).toEqual({
      start_time: 1.25,
      end_time: 1.5,
      stream_copy: true,
    });
  });

  it('accepts an end_time alone (start defaults to 0)', () => {
    expect(trimOptions.parse({ end_time: 0.04 })).toEqual({ start_time: 0, end_time: 0.04, stream_copy: false });
  });

  it.each([[{ start_time: 10, end_time: 10 }], [{ start_time: 10, end_time: 5 }], [{ end_time: 0 }]])(
    'rejects %p: end_time must be after start_time, reported on end_time',
    (input) => {
      const r = trimOptions.safeParse(input);
      expect(r.success).toBe(false);
      expect(r.error!.issues).toEqual([expect.objectContaining({ path: ['end_time'], message: '`end_time` must be after `start_time`' })]);
    },
  );

  it('rejects negative and infinite times', () => {
    expect(paths({ start_time: -1 })).toEqual(['start_time']);
    expect(paths({ end_time: -0.5 })).toEqual(['end_time']);
    expect(paths({ end_time: Infinity })).toEqual(['end_time']);
  });

  it('rejects a non-boolean stream_copy and unknown fields', () => {
    expect(paths({ stream_copy: 'yes' })).toEqual(['stream_copy']);
    expect(trimOptions.safeParse({ duration: 5 }).success).toBe(false);
  });

  it('names options.end_time when part of a message', () => {
    const r = z.object({ options: trimOptions }).safeParse({ options: { start_time: 5, end_time: 2 } });
    expect(formatIssues(r.error!)).toBe('options.end_time: `end_time` must be after `start_time`');
  });
});
