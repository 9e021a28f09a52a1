/**
 * When a webhook event is tried again: after WEBHOOK_RETRY_BASE_SECONDS,
 * then twice as long each time, until WEBHOOK_MAX_ATTEMPTS were made. The
 * waits are fixed (no jitter): each is a RabbitMQ queue whose messages
 * expire after exactly that long (dispatcher.ts).
 */
import type { WorkerConfig } from '@media-foundry/shared';

/** The wait before each retry, ms: `maxAttempts - 1` entries. */
export function retryDelaysMs(maxAttempts: number, baseMs: number): number[] {
  return Array.from({ length: Math.max(0, maxAttempts - 1) }, (_, i) => Math.round(baseMs * 2 ** i));
}

/** The schedule a config asks for. */
export function configuredDelaysMs(config: Pick<WorkerConfig, 'webhookMaxAttempts' | 'webhookRetryBaseMs'>): number[] {
  return retryDelaysMs(config.webhookMaxAttempts, config.webhookRetryBaseMs);
}

/**
 * What an attempt's answer means: `delivered` (2xx), `retry` (5xx, 408 and
 * 429: "not now"), `rejected` (anything else: a 4xx, or a redirect, which is
 * never followed). Timeouts and network errors are retried too (sender.ts).
 */
export type StatusVerdict = 'delivered' | 'retry' | 'rejected';

export function statusVerdict(status: number): StatusVerdict {
  if (status >= 200 && status < 300) return 'delivered';
  if (status >= 500 || status === 408 || status === 429) return 'retry';
  return 'rejected';
}
