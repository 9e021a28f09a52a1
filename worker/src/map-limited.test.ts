import { mapLimited } from './map-limited.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('mapLimited', () => {
  it('keeps the order of the items and never runs more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const out = await mapLimited([5, 1, 4, 2, 3], 2, async (n) => {
      running++;
      most = Math.max(most, running);
      for (let i = 0; i < n; i++) await tick();
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
  });

  it('starts nothing after the first failure and throws it once the started tasks settle', async () => {
    const started: number[] = [];
    let settled = 0;
    const run = mapLimited([0, 1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      await tick();
      settled++;
      if (n === 1) throw new Error('one failed');
      return n;
    });
    await expect(run).rejects.toThrow('one failed');
    expect(started).toEqual([0, 1, 2]);
    expect(settled).toBe(started.length);
  });

  it('handles no items', async () => {
    expect(await mapLimited([], 4, async () => 1)).toEqual([]);
  });
});
