import { ByteBudget } from './byte-budget.js';

describe('ByteBudget', () => {
  it('reserves what fits, refuses what does not, and takes back each release once', () => {
    const budget = new ByteBudget(100);
    const a = budget.reserve(60)!;
    expect(budget.used()).toBe(60);
    expect(budget.reserve(41)).toBeNull();
    const b = budget.reserve(40)!;
    expect(budget.used()).toBe(100);
    expect(budget.reserve(1)).toBeNull();
    expect(budget.full()).toBe(true);
    a();
    expect(budget.full()).toBe(false);
    a(); // twice: still 60 given back, not 120
    expect(budget.used()).toBe(40);
    b();
    expect(budget.used()).toBe(0);
  });

  it('grants a reservation larger than the whole budget only when nothing else is held', async () => {
    const budget = new ByteBudget(100);
    const small = budget.reserve(10)!;
    expect(budget.reserve(500)).toBeNull();
    small();
    const big = budget.reserve(500)!;
    expect(budget.used()).toBe(500);
    expect(budget.reserve(1)).toBeNull();
    let granted = false;
    const waiting = budget.acquire(1).then((release) => {
      granted = true;
      return release;
    });
    await Promise.resolve();
    expect(granted).toBe(false);
    big();
    (await waiting)();
    expect(granted).toBe(true);
    expect(budget.used()).toBe(0);
  });

  it('makes an acquire wait for room, in order, and refuses reserve while anyone waits', async () => {
    const budget = new ByteBudget(100);
    const first = budget.reserve(80)!;
    const order: string[] = [];
    const big = budget.acquire(50).then((r) => (order.push('big'), r));
    const small = budget.acquire(10).then((r) => (order.push('small'), r));
    await Promise.resolve();
    expect(budget.waiting()).toBe(2);
    // 10 bytes would fit, but a delivery waits: new work does not pass it
    expect(budget.reserve(10)).toBeNull();
    expect(budget.full()).toBe(true);
    first();
    const releases = await Promise.all([big, small]);
    expect(order).toEqual(['big', 'small']);
    expect(budget.used()).toBe(60);
    expect(budget.waiting()).toBe(0);
    for (const release of releases) release();
    expect(budget.used()).toBe(0);
  });

  it('takes zero bytes as nothing', async () => {
    const budget = new ByteBudget(1);
    budget.reserve(1);
    expect(budget.reserve(0)).not.toBeNull();
    (await budget.acquire(0))();
    expect(budget.used()).toBe(1);
  });
});

describe("a client's share", () => {
  it('lets one client hold at most CLIENT_SHARE of the budget beyond its first reservation; others still fit', () => {
    const budget = new ByteBudget(100);
    const first = budget.reserve(20, 'a')!;
    expect(budget.reserve(10, 'a')).toBeNull(); // 30 > 25
    expect(budget.overShare('a', 10)).toBe(true);
    const small = budget.reserve(5, 'a')!; // 25: at its share
    expect(budget.reserve(1, 'a')).toBeNull();
    expect(budget.reserve(60, 'b')).not.toBeNull(); // another client is not held back
    expect(budget.heldBy('a')).toBe(25);
    first();
    first(); // twice: nothing more
    expect(budget.heldBy('a')).toBe(5);
    small();
    expect(budget.heldBy('a')).toBe(0);
  });

  it('grants a client its first reservation even when it is larger than the share alone', () => {
    const budget = new ByteBudget(100);
    expect(budget.reserve(40, 'a')).not.toBeNull();
    expect(budget.reserve(1, 'a')).toBeNull();
  });
});
