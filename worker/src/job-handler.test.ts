import { AppError } from '@media-foundry/shared';
import { parseAllowlist } from '@media-foundry/shared/node';
import { parseJob } from './job-handler.js';

const body = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');
const job = (url: string) => ({ job_id: 'j1', operation: 'probe', options: {}, inputs: [{ source: 'url', url }] });

describe('parseJob', () => {
  it('answers a body that is not JSON with INVALID_JSON', () => {
    const e = parseJob(Buffer.from('{"job_id":'));
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('INVALID_JSON');
  });

  it('answers a message missing a required field with VALIDATION_ERROR naming it', () => {
    const e = parseJob(body({ job_id: 'j1', operation: 'probe', options: {} })) as AppError;
    expect(e.code).toBe('VALIDATION_ERROR');
    expect(e.details).toMatch(/inputs/);
  });

  it.each([
    ['localhost', 'http://localhost/a.mp4', 'localhost is a loopback name'],
    ['a literal loopback address', 'http://127.0.0.1:9/a.mp4', 'private or reserved address'],
    ['a literal link-local address (cloud metadata)', 'http://169.254.169.254/latest', 'private or reserved address'],
  ])('refuses a URL input naming %s with VALIDATION_ERROR before anything is fetched', (_what, url, why) => {
    const e = parseJob(body(job(url))) as AppError;
    expect(e.code).toBe('VALIDATION_ERROR');
    expect(e.details).toMatch(/^inputs\[0\]\.url: /);
    expect(e.details).toContain(why);
  });

  it('accepts such a URL when URL_ALLOWLIST names it, and a public one always', () => {
    expect(parseJob(body(job('http://127.0.0.1:9/a.mp4')), parseAllowlist(['127.0.0.1']))).not.toBeInstanceOf(AppError);
    expect(parseJob(body(job('https://media.example.com/a.mp4')))).not.toBeInstanceOf(AppError);
  });
});
