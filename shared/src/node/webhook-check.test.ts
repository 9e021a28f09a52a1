import { ErrorCode } from '../errors.js';
import { parseAllowlist } from './url-guard.js';
import { webhookProblem } from './webhook-check.js';

const none = parseAllowlist([]);

describe('webhookProblem', () => {
  it('accepts no webhook, and a public one with a secret', () => {
    expect(webhookProblem(undefined, false, none)).toBeNull();
    expect(webhookProblem({ url: 'https://hooks.example.com/a' }, true, none)).toBeNull();
  });

  it('refuses every webhook without a secret', () => {
    expect(webhookProblem({ url: 'https://hooks.example.com/a' }, false, none)).toMatchObject({
      code: ErrorCode.VALIDATION_ERROR,
      details: expect.stringMatching(/WEBHOOK_SECRET/) as unknown,
    });
  });

  it.each([
    'http://127.0.0.1/a',
    'http://10.1.2.3/a',
    'http://169.254.169.254/latest',
    'http://[::1]/a',
    'http://localhost:8080/a',
    'http://[::ffff:192.168.0.1]/',
  ])('refuses %s unless allow-listed', (url) => {
    expect(webhookProblem({ url }, true, none)).toMatchObject({ code: ErrorCode.VALIDATION_ERROR });
  });

  it('lets the allow-list open an exception', () => {
    expect(webhookProblem({ url: 'http://127.0.0.1:9/a' }, true, parseAllowlist(['127.0.0.1']))).toBeNull();
    expect(webhookProblem({ url: 'http://10.1.2.3/a' }, true, parseAllowlist(['10.0.0.0/8']))).toBeNull();
  });
});
