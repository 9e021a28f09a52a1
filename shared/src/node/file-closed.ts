import type { Writable } from 'node:stream';

/**
 * Resolves once a file stream is closed, whatever ended it. A pipeline that
 * failed may leave its file still opening (it appears after the caller
 * removed it) or about to emit `error` before `close`: waiting with
 * `events.once(file, 'close')` would reject with that error and hide the
 * pipeline's own, classified one.
 */
export function fileClosed(file: Writable): Promise<void> {
  if (file.closed) return Promise.resolve();
  return new Promise((resolve) => file.once('close', () => resolve()));
}
