import { expect } from '@jest/globals';

/** Runs `fn`, asserts it throws an instance of `type`, and returns what it threw. */
export function thrownBy<T>(type: abstract new (...args: never[]) => T, fn: () => unknown): T {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(type);
  return thrown as T;
}
