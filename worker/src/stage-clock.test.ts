import { StageClock } from './stage-clock.js';

describe('StageClock', () => {
  it('adds up repeated stages and lists them in job order', () => {
    const clock = new StageClock();
    clock.add('store', 30);
    clock.add('probe', 10);
    clock.add('probe', 5);
    clock.add('queue_wait', -3); // a clock skew between gateway and worker is not negative time
    expect(clock.entries()).toEqual([
      ['queue_wait', 0],
      ['probe', 0.015],
      ['store', 0.03],
    ]);
    expect(clock.summary()).toEqual({ queue_wait: 0, probe: 15, store: 30 });
  });

  it('counts a failed step too', async () => {
    const clock = new StageClock();
    await expect(clock.time('ffmpeg', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(clock.entries().map(([s]) => s)).toEqual(['ffmpeg']);
  });
});
