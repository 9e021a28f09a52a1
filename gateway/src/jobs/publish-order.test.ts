import { PublishOrder } from './publish-order.js';

/** Lets every promise callback that can run, run. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('PublishOrder', () => {
  it('lets each place go only once the places before it have left, whatever order they become ready in', async () => {
    const order = new PublishOrder();
    const done: number[] = [];
    const places = [0, 1, 2].map((i) => ({ i, ...order.enter('t') }));
    for (const p of places) void p.ready.then(() => done.push(p.i));
    await settled();
    expect(done).toEqual([0]);
    places[2]!.leave(); // the third finished its own work first: still waits for the second
    await settled();
    expect(done).toEqual([0]);
    places[0]!.leave();
    await settled();
    expect(done).toEqual([0, 1]);
    places[1]!.leave();
    await settled();
    expect(done).toEqual([0, 1, 2]);
  });

  it('keeps tenants apart: one waiting does not hold up another', async () => {
    const order = new PublishOrder();
    order.enter('a');
    let bReady = false;
    void order.enter('b').ready.then(() => (bReady = true));
    await settled();
    expect(bReady).toBe(true);
  });

  it('forgets a key once its line is empty, and leaving twice is harmless', async () => {
    const order = new PublishOrder();
    const first = order.enter('t');
    const second = order.enter('t');
    first.leave();
    first.leave();
    second.leave();
    await settled();
    expect(order.size).toBe(0);
  });
});
