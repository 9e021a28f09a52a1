import { OPERATION_NAMES } from '@media-foundry/shared';
import { describeField, operationFields, parseFieldValue } from './fields.js';

describe('operationFields', () => {
  it('reads types, ranges, defaults and required fields from the schema', () => {
    expect(operationFields('speed')).toEqual([
      { name: 'speed_factor', kind: 'number', required: true, minimum: 0.25, maximum: 10 },
      { name: 'maintain_pitch', kind: 'boolean', required: false, default: true },
    ]);
    expect(operationFields('thumbnail').find((f) => f.name === 'format')).toEqual({
      name: 'format',
      kind: 'enum',
      required: false,
      default: 'png',
      values: ['png', 'jpeg', 'jpg'],
    });
  });

  it("merges a union's variants: subtitles' mode lists both tags, required in each", () => {
    const fields = operationFields('subtitles');
    expect(fields.map((f) => f.name)).toEqual(['mode', 'format', 'stream_index']);
    expect(fields[0]).toMatchObject({ kind: 'enum', required: true, values: ['extract', 'burn'] });
  });

  it('takes arrays of objects as JSON (filter)', () => {
    expect(operationFields('filter')).toEqual([expect.objectContaining({ name: 'filters', kind: 'json', required: true })]);
  });

  it('gives every operation a field list (new operations appear by themselves)', () => {
    for (const op of OPERATION_NAMES) expect(Array.isArray(operationFields(op))).toBe(true);
    expect(operationFields('probe')).toEqual([]);
  });
});

describe('describeField', () => {
  it('says type, range, required and default', () => {
    const [factor, pitch] = operationFields('speed');
    expect(describeField(factor!)).toBe('number 0.25–10, required');
    expect(describeField(pitch!)).toBe('boolean, default true');
  });
});

describe('parseFieldValue', () => {
  const [factor, pitch] = operationFields('speed');
  it('converts numbers and booleans, and passes what does not parse on for the schema to name', () => {
    expect(parseFieldValue(factor!, '1.5')).toBe(1.5);
    expect(parseFieldValue(factor!, 'fast')).toBe('fast');
    expect(parseFieldValue(pitch!, 'false')).toBe(false);
    expect(parseFieldValue(pitch!, '')).toBe(true);
    expect(parseFieldValue(pitch!, 'maybe')).toBe('maybe');
  });

  it('matches numeric enum values (extract_audio sample_rate) and parses JSON', () => {
    const rate = operationFields('extract_audio').find((f) => f.name === 'sample_rate')!;
    expect(parseFieldValue(rate, '48000')).toBe(48000);
    const [filters] = operationFields('filter');
    expect(parseFieldValue(filters!, '[{"type":"fps","fps":30}]')).toEqual([{ type: 'fps', fps: 30 }]);
  });
});
