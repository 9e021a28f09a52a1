import { PolledValue } from './polled-value.js';
import { waitFor } from './wait.js';

const until = (check: () => boolean, ms = 800) => waitFor(check, ms, 'condition', 2);

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('PolledValue', () => {
  let polled: PolledValue | null = null;
  afterEach(() => {
    polled?.stop();
    polled = null;
  });

  it('holds null before the first read has answered', () => {
    polled = new PolledValue(() => Promise.resolve(5), 10, 100);
    expect(polled.current()).toBeNull();
    polled.start();
    expect(polled.current()).toBeNull(); // the read has not answered yet: nothing is awaited in start()
  });

  it('reads at once on start, without waiting for the first interval', async () => {
    polled = new PolledValue(() => Promise.resolve(7), 60_000, 100);
    polled.start();
    await until(() => polled!.current() === 7);
  });

  it('holds the last value read, and follows each new one', async () => {
    let next = 1;
    const reads: number[] = [];
    polled = new PolledValue(
      () => {
        reads.push(next);
        return Promise.resolve(next);
      },
      10,
      100,
    );
    polled.start();
    await until(() => polled!.current() === 1);
    next = 2;
    await until(() => polled!.current() === 2);
    next = 3;
    await until(() => polled!.current() === 3);
    expect(reads.length).toBeGreaterThanOrEqual(3);
  });

  it('keeps serving the last value between reads', async () => {
    polled = new PolledValue(() => Promise.resolve(11), 10, 100);
    polled.start();
    await until(() => polled!.current() === 11);
    await delay(40);
    expect(polled.current()).toBe(11);
  });

  it('becomes null when a read fails', async () => {
    let fail = false;
    polled = new PolledValue(() => (fail ? Promise.reject(new Error('broker blocked')) : Promise.resolve(4)), 10, 100);
    polled.start();
    await until(() => polled!.current() === 4);
    fail = true;
    await until(() => polled!.current() === null);
    fail = false;
    await until(() => polled!.current() === 4);
  });

  it('becomes null when a read returns null', async () => {
    let value: number | null = 9;
    polled = new PolledValue(() => Promise.resolve(value), 10, 100);
    polled.start();
    await until(() => polled!.current() === 9);
    value = null;
    await until(() => polled!.current() === null);
  });

  it('becomes null when a read takes longer than the timeout, and ignores its late answer', async () => {
    let slow = false;
    const never = new Promise<number>(() => {});
    polled = new PolledValue(() => (slow ? never : Promise.resolve(3)), 10, 30);
    polled.start();
    await until(() => polled!.current() === 3);
    slow = true;
    const started = performance.now();
    await until(() => polled!.current() === null);
    // the value went null at the timeout, not at once
    expect(performance.now() - started).toBeGreaterThanOrEqual(20);
  });

  it('does not count a late answer once the read has timed out', async () => {
    let calls = 0;
    polled = new PolledValue(
      () => {
        calls += 1;
        return delay(60).then(() => 8);
      },
      1000,
      20,
    );
    polled.start();
    await delay(100); // the first read answered 8 at 60 ms, after its 20 ms timeout
    expect(calls).toBe(1);
    expect(polled.current()).toBeNull();
  });

  it('starts no second read while one is under way', async () => {
    let calls = 0;
    let inFlight = 0;
    let most = 0;
    polled = new PolledValue(
      () => {
        calls += 1;
        inFlight += 1;
        most = Math.max(most, inFlight);
        return delay(50).then(() => {
          inFlight -= 1;
          return 1;
        });
      },
      5,
      500,
    );
    polled.start();
    await delay(120);
    expect(most).toBe(1);
    expect(calls).toBeGreaterThanOrEqual(2);
  });

  it('reads no more after stop()', async () => {
    let calls = 0;
    polled = new PolledValue(
      () => {
        calls += 1;
        return Promise.resolve(calls);
      },
      5,
      100,
    );
    polled.start();
    await until(() => calls >= 2);
    polled.stop();
    await delay(10); // let a read that was under way finish
    const after = calls;
    await delay(40);
    expect(calls).toBe(after);
  });
});
