import { loadWorkerConfig } from '@media-foundry/shared';
import { configuredDelaysMs, retryDelaysMs, statusVerdict } from './schedule.js';

describe('retryDelaysMs', () => {
  it('doubles from the base, one wait per retry', () => {
    expect(retryDelaysMs(6, 20_000)).toEqual([20_000, 40_000, 80_000, 160_000, 320_000]);
    expect(retryDelaysMs(3, 500)).toEqual([500, 1000]);
    expect(retryDelaysMs(1, 20_000)).toEqual([]);
  });

  it('by default makes 6 attempts over about 10 minutes', () => {
    const delays = configuredDelaysMs(loadWorkerConfig({}));
    expect(delays).toHaveLength(5);
    const total = delays.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(9 * 60_000);
    expect(total).toBeLessThanOrEqual(11 * 60_000);
  });
});

describe('statusVerdict', () => {
  it.each([
    [200, 'delivered'],
    [204, 'delivered'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [408, 'retry'],
    [429, 'retry'],
    [400, 'rejected'],
    [401, 'rejected'],
    [404, 'rejected'],
    [410, 'rejected'],
    [301, 'rejected'],
    [302, 'rejected'],
    [100, 'rejected'],
  ] as const)('%i is %s', (status, verdict) => {
    expect(statusVerdict(status)).toBe(verdict);
  });
});
