/**
 * Progress never goes backwards: the percentage to show when `next` arrives
 * after `shown` was shown. One rule for the worker's throttle, the gateway's
 * relay (a redelivered run starts again from 0) and the client (a resumed job
 * repeats its state).
 */
export function forwardPercentage(shown: number, next: number): number {
  return Math.max(shown, next);
}
