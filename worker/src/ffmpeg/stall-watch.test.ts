import type { ProgressBlock } from './progress.js';
import { StallWatch } from './run.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

/** A StallWatch created now, on a clock the test moves. */
function stallWatch() {
  const clock = manualClock();
  return { clock, watch: new StallWatch(clock.now) };
}

function block(fields: Partial<ProgressBlock> = {}): ProgressBlock {
  return { outTimeSeconds: 2, frame: 60, fps: 30, totalSizeBytes: 50_000, speed: 1.5, end: false, ...fields };
}

describe('StallWatch', () => {
  it('counts from when it was created until the first block', () => {
    const { clock, watch } = stallWatch();
    expect(watch.stillFor()).toBe(0);
    clock.t += 1500;
    expect(watch.stillFor()).toBe(1500);
  });

  it('restarts the clock on the first block, even one full of N/A', () => {
    const { clock, watch } = stallWatch();
    clock.t += 700;
    watch.observe(block({ outTimeSeconds: null, frame: 0, totalSizeBytes: 48, fps: 0, speed: null }));
    expect(watch.stillFor()).toBe(0);
  });

  it('does not restart the clock for blocks that repeat the same position', () => {
    const { clock, watch } = stallWatch();
    watch.observe(block());
    for (let i = 0; i < 10; i++) {
      clock.t += 500;
      watch.observe(block());
    }
    expect(watch.stillFor()).toBe(5000);
  });

  it.each<[string, Partial<ProgressBlock>]>([
    ['output time', { outTimeSeconds: 2.5 }],
    ['frame', { frame: 61 }],
    ['output size', { totalSizeBytes: 50_001 }],
    ['end of the run', { end: true }],
  ])('restarts the clock when the %s changes', (_label, change) => {
    const { clock, watch } = stallWatch();
    watch.observe(block());
    clock.t += 4000;
    watch.observe(block(change));
    expect(watch.stillFor()).toBe(0);
    clock.t += 250;
    expect(watch.stillFor()).toBe(250);
  });

  it('does not count a change of only fps or speed as progress', () => {
    const { clock, watch } = stallWatch();
    watch.observe(block());
    clock.t += 1000;
    watch.observe(block({ fps: 12.5, speed: 0.4 }));
    clock.t += 1000;
    watch.observe(block({ fps: 0, speed: 0 }));
    expect(watch.stillFor()).toBe(2000);
  });

  it('measures from the last block that moved, not the last block seen', () => {
    const { clock, watch } = stallWatch();
    watch.observe(block({ frame: 1 }));
    clock.t += 500;
    watch.observe(block({ frame: 2 }));
    clock.t += 500;
    watch.observe(block({ frame: 2 }));
    clock.t += 500;
    watch.observe(block({ frame: 2 }));
    expect(watch.stillFor()).toBe(1000);
    watch.observe(block({ frame: 3 }));
    expect(watch.stillFor()).toBe(0);
  });
});
