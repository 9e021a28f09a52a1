/**
 * The pace of a job's progress messages: at most one per this interval (about
 * four a second; README, `progress`), the worker's replies and the gateway's
 * queue positions alike. An update that comes sooner is held, and the latest
 * held goes out when the interval has passed.
 */
export const PROGRESS_INTERVAL_MS = 250;

/**
 * Progress never goes backwards: the percentage to show when `next` arrives
 * after `shown` was shown. One rule for the worker's throttle, the gateway's
 * relay (a redelivered run starts again from 0) and the client (a resumed job
 * repeats its state).
 */
export function forwardPercentage(shown: number, next: number): number {
  return Math.max(shown, next);
}
