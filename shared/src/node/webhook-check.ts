/**
 * Whether a job's webhook may be accepted at submit: the gateway checks it
 * for `start_job`, the worker for jobs that backends publish over AMQP.
 * Only what is wrong on its face is refused here (no WEBHOOK_SECRET, a
 * literal private or loopback address, `localhost`); a name that resolves to
 * such an address is refused by the sender as it connects.
 */
import { type AppError, errors } from '../errors.js';
import type { WebhookSpec } from '../protocol.js';
import { literalUrlProblem, type UrlAllowlist } from './url-guard.js';

/** The VALIDATION_ERROR for a webhook that cannot be accepted, or null. */
export function webhookProblem(webhook: WebhookSpec | undefined, secretSet: boolean, allow: UrlAllowlist): AppError | null {
  if (!webhook) return null;
  if (!secretSet) return errors.validation('webhook: this service has no WEBHOOK_SECRET, so it sends no webhooks');
  const problem = literalUrlProblem(webhook.url, allow);
  return problem ? errors.validation(`webhook.url: ${problem}`) : null;
}
