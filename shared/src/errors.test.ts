import { AppError, ErrorCode, errors } from './errors.js';

describe('AppError', () => {
  it('wraps unknown failures as INTERNAL_ERROR without leaking their message as the headline', () => {
    const e = AppError.from(new Error('ECONNRESET on socket 7'));
    expect(e.code).toBe(ErrorCode.INTERNAL_ERROR);
    expect(e.message).toBe('Internal error');
    expect(e.details).toBe('ECONNRESET on socket 7');
  });

  it('passes AppErrors through unchanged', () => {
    const original = errors.cancelFailed('nope');
    expect(AppError.from(original)).toBe(original);
  });
});
