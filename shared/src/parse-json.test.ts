import { z } from 'zod';
import { jsonField, parseJson } from './validation.js';

describe('parseJson', () => {
  const schema = z.object({ n: z.number() });

  it('returns the validated data', () => {
    expect(parseJson(schema, '{"n":1}')).toEqual({ ok: true, data: { n: 1 } });
  });

  it("says when the text is not JSON, with the parser's message", () => {
    const result = parseJson(schema, '{"n":');
    expect(result).toMatchObject({ ok: false, json: false });
    expect(result.ok ? '' : result.error).not.toBe('');
  });

  it('names the refused field when the JSON does not fit the schema', () => {
    const result = parseJson(schema, '{"n":"x"}');
    expect(result).toMatchObject({ ok: false, json: true });
    expect(result.ok ? '' : result.error).toMatch(/^n: /);
  });
});

describe('jsonField', () => {
  const id = z.string().min(1);

  it('returns the field when it fits the schema', () => {
    expect(jsonField(id, '{"job_id":"j1","rest":"ignored"}', 'job_id')).toBe('j1');
  });

  it('is undefined for text that is not JSON, not an object, or whose field does not fit', () => {
    for (const text of ['{"job_id":', 'null', '[1]', '{"job_id":""}', '{}']) expect(jsonField(id, text, 'job_id')).toBeUndefined();
  });
});
