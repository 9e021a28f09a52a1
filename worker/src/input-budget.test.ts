import { InputBudget } from './input-budget.js';

describe('InputBudget', () => {
  it('bounds the sum of all attempts, and names MAX_JOB_INPUT_MB', () => {
    const budget = new InputBudget(3 * 1048576);
    const a = budget.attempt();
    const b = budget.attempt();
    expect(a.take(1048576)).toBe(true);
    expect(b.take(2 * 1048576)).toBe(true);
    expect(a.take(1)).toBe(false);
    expect(a.exceeded()).toMatchObject({
      code: 'JOB_FAILED',
      message: 'Inputs are too large',
      details: "the job's inputs add up to more than MAX_JOB_INPUT_MB (3 MiB)",
    });
  });

  it('gives back the bytes of a failed attempt, once', () => {
    const budget = new InputBudget(100);
    const failed = budget.attempt();
    expect(failed.take(90)).toBe(true);
    failed.release();
    failed.release();
    const retry = budget.attempt();
    expect(retry.take(100)).toBe(true);
    expect(retry.take(1)).toBe(false);
  });

  it('counts nothing it refuses: a read left out leaves room for a smaller one', () => {
    const budget = new InputBudget(100);
    const attempt = budget.attempt();
    expect(attempt.take(60)).toBe(true);
    expect(attempt.take(50)).toBe(false);
    expect(attempt.take(40)).toBe(true);
    expect(attempt.take(1)).toBe(false);
  });
});
