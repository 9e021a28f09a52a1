import { z } from 'zod';
import { parseJson } from './validation.js';

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
