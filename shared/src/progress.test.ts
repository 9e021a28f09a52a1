import { forwardPercentage } from './progress.js';

describe('forwardPercentage', () => {
  it('moves forward and never back', () => {
    expect(forwardPercentage(10, 40)).toBe(40);
    expect(forwardPercentage(40, 0)).toBe(40);
    expect(forwardPercentage(40, 40)).toBe(40);
  });
});
