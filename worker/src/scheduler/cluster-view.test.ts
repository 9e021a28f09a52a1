import { jest } from '@jest/globals';
import { ClusterView, FINISHED_MEMORY_MAX, FINISHED_MEMORY_MS, type RunningJob } from './cluster-view.js';

const T1 = '00000000000000a1';
const T2 = '00000000000000b2';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

/** Worker w1's view, its peers expiring after `expiryMs` unheard, on a clock the test moves. */
function clusterView(expiryMs = 10_000) {
  const clock = manualClock();
  return { clock, view: new ClusterView('w1', expiryMs, clock.now) };
}

function job(job_id: string, tenant_key: string): RunningJob {
  return { job_id, tenant_key };
}

function state(worker_id: string, running: RunningJob[], stopping = false) {
  return { type: 'worker_state' as const, worker_id, running, stopping };
}

describe('ClusterView', () => {
  it('counts a tenant’s jobs on this worker and on every live peer', () => {
    const { view } = clusterView();
    view.setOwn([job('j1', T1), job('j2', T2)]);
    view.update(state('w2', [job('j3', T1), job('j4', T1)]));
    view.update(state('w3', [job('j5', T1), job('j6', T2)]));
    expect(view.runningFor(T1)).toBe(4);
    expect(view.runningFor(T2)).toBe(2);
    expect(view.runningFor('00000000000000c3')).toBe(0);
    expect(view.peers()).toBe(2);
  });

  it('counts every tenant’s jobs in one pass, as runningFor counts one', () => {
    const { view } = clusterView();
    view.setOwn([job('j1', T1), job('j2', T2)]);
    view.update(state('w2', [job('j3', T1), job('j4', T1)]));
    view.update(state('w3', [job('j5', T1), job('j6', T2)]));
    expect(view.runningByTenant()).toEqual(
      new Map([
        [T1, view.runningFor(T1)],
        [T2, view.runningFor(T2)],
      ]),
    );
    expect(view.runningByTenant().get(T1)).toBe(4);
  });

  it('counts only its own jobs before hearing from anyone', () => {
    const { view } = clusterView();
    expect(view.runningFor(T1)).toBe(0);
    view.setOwn([job('j1', T1)]);
    expect(view.runningFor(T1)).toBe(1);
    expect(view.peers()).toBe(0);
  });

  it('replaces what it knows of itself and of a peer with each new report', () => {
    const { view } = clusterView();
    view.setOwn([job('j1', T1), job('j2', T1)]);
    view.update(state('w2', [job('j3', T1), job('j4', T1)]));
    view.setOwn([job('j2', T1)]);
    view.update(state('w2', [job('j4', T1)]));
    expect(view.runningFor(T1)).toBe(2);
  });

  it('forgets a peer not heard from for longer than the expiry', () => {
    const { clock, view } = clusterView();
    view.update(state('w2', [job('j3', T1)]));
    clock.t += 10_000;
    expect(view.runningFor(T1)).toBe(1); // exactly the expiry: still live
    expect(view.peers()).toBe(1);
    clock.t += 1;
    expect(view.runningFor(T1)).toBe(0);
    expect(view.peers()).toBe(0);
    expect(view.heldEarlierElsewhere('j3')).toBe(false);
  });

  it('keeps a peer alive with every report, even one that changes nothing', () => {
    const { clock, view } = clusterView();
    view.update(state('w2', [job('j3', T1)]));
    clock.t += 8000;
    expect(view.update(state('w2', [job('j3', T1)]))).toBe(false);
    clock.t += 8000;
    expect(view.runningFor(T1)).toBe(1);
  });

  it('counts a peer again when it is heard from after expiring', () => {
    const { clock, view } = clusterView(1000);
    view.update(state('w2', [job('j3', T1)]));
    clock.t += 5000;
    expect(view.peers()).toBe(0);
    expect(view.update(state('w2', [job('j3', T1)]))).toBe(true);
    expect(view.runningFor(T1)).toBe(1);
  });

  it('ignores its own reports echoed back by the exchange', () => {
    const { view } = clusterView();
    view.setOwn([job('j1', T1)]);
    expect(view.update(state('w1', [job('j1', T1), job('j9', T1)]))).toBe(false);
    expect(view.runningFor(T1)).toBe(1);
    expect(view.peers()).toBe(0);
    expect(view.heldEarlierElsewhere('j1')).toBe(false);
  });

  it('says whether a report changed what it knows', () => {
    const { view } = clusterView();
    expect(view.update(state('w2', []))).toBe(false); // a new idle peer: no running jobs to count
    expect(view.update(state('w2', [job('j3', T1)]))).toBe(true);
    expect(view.update(state('w2', [job('j3', T1)]))).toBe(false);
    expect(view.update(state('w2', [job('j3', T1), job('j4', T2)]))).toBe(true);
    expect(view.update(state('w3', [job('j5', T1)]))).toBe(true);
    expect(view.update(state('w2', []))).toBe(true);
  });

  it('drops a stopping peer that runs nothing any more', () => {
    const { view } = clusterView();
    view.update(state('w2', [job('j3', T1)]));
    expect(view.update(state('w2', [], true))).toBe(true);
    expect(view.peers()).toBe(0);
    expect(view.runningFor(T1)).toBe(0);
  });

  it('reports no change when an unknown peer says it is stopping with nothing running', () => {
    const { view } = clusterView();
    expect(view.update(state('w2', [], true))).toBe(false);
    expect(view.peers()).toBe(0);
  });

  it('keeps counting a stopping peer while it still drains jobs', () => {
    const { view } = clusterView();
    view.update(state('w2', [job('j3', T1)]));
    view.update(state('w2', [job('j3', T1)], true));
    expect(view.peers()).toBe(1);
    expect(view.runningFor(T1)).toBe(1);
    expect(view.heldEarlierElsewhere('j3')).toBe(true);
  });

  it('knows whether another live worker already runs a job', () => {
    const { clock, view } = clusterView();
    view.setOwn([job('mine', T1)]);
    view.update(state('w2', [job('theirs', T1)]));
    expect(view.heldEarlierElsewhere('theirs')).toBe(true);
    expect(view.heldEarlierElsewhere('mine')).toBe(false); // our own job is not "elsewhere"
    expect(view.heldEarlierElsewhere('nobody')).toBe(false);
    clock.t += 10_001;
    expect(view.heldEarlierElsewhere('theirs')).toBe(false);
  });

  it('lets exactly one of two workers holding copies of one job go first: the earlier taken, then the lower worker id', () => {
    const clock = manualClock();
    const w1 = new ClusterView('w1', 10_000, clock.now);
    const w2 = new ClusterView('w2', 10_000, clock.now);
    const copy = (since: number) => ({ job_id: 'dup', tenant_key: T1, since });
    w1.setOwn([copy(500)]);
    w2.setOwn([copy(500)]);
    w1.update(state('w2', [copy(500)]));
    w2.update(state('w1', [copy(500)]));
    expect([w1.heldEarlierElsewhere('dup'), w2.heldEarlierElsewhere('dup')]).toEqual([false, true]);
    expect(w1.runningFor(T1)).toBe(2);
    // taken earlier wins over the worker id
    w1.setOwn([copy(501)]);
    w2.update(state('w1', [copy(501)]));
    expect([w1.heldEarlierElsewhere('dup'), w2.heldEarlierElsewhere('dup')]).toEqual([true, false]);
  });

  it('lets a job go on once a report of its own naming it comes back, so a copy taken at the same moment elsewhere is seen first', async () => {
    const { view } = clusterView();
    let told = false;
    const waiting = view.whenTold('j1', 60_000).then(() => (told = true));
    view.update(state('w2', [{ ...job('j1', T1), since: 5 }])); // the peer's report, queued before ours came back
    view.update(state('w1', [job('j0', T1)])); // ours, from before we took j1
    await Promise.resolve();
    expect(told).toBe(false);
    view.setOwn([{ ...job('j1', T1), since: 6 }]);
    view.update(state('w1', [{ ...job('j1', T1), since: 6 }]));
    await waiting;
    expect(view.heldEarlierElsewhere('j1')).toBe(true);
    await view.whenTold('j1', 60_000); // told already: at once
  });

  it('does not wait for its report while it cannot hear the exchange, and waits no longer than asked', async () => {
    const { view } = clusterView();
    view.setListening(false);
    await view.whenTold('j1', 60_000);
    view.setListening(true);
    jest.useFakeTimers();
    try {
      let done = false;
      void view.whenTold('j2', 50).then(() => (done = true));
      jest.advanceTimersByTime(49);
      await Promise.resolve();
      expect(done).toBe(false);
      jest.advanceTimersByTime(1);
      await Promise.resolve();
      expect(done).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });

  it('keeps the worker id it was given', () => {
    expect(new ClusterView('worker-7', 1000).workerId).toBe('worker-7');
  });
});

describe('ClusterView.mayRun: admitting held jobs in one order everywhere', () => {
  const held = (job_id: string, since: number) => ({ job_id, tenant_key: T1, since, held: true });
  const running = (job_id: string) => ({ job_id, tenant_key: T1, since: 1, held: false });

  it('admits a held job while the running jobs and the held ones ahead of it leave room', () => {
    const { view } = clusterView();
    view.setOwn([held('mine', 100)]);
    view.update(state('w2', [running('r1')]));
    expect(view.mayRun('mine', T1, 2)).toBe(true);
    expect(view.mayRun('mine', T1, 1)).toBe(false);
  });

  it('lets two workers that took jobs at once agree which one runs: the earlier taken, then the lower worker id', () => {
    const clock = manualClock();
    const w1 = new ClusterView('w1', 10_000, clock.now);
    const w2 = new ClusterView('w2', 10_000, clock.now);
    // one job of the tenant runs on w1; both took one more at the same moment; the limit is 2
    w1.setOwn([running('r1'), held('a', 500)]);
    w2.setOwn([held('b', 500)]);
    w1.update(state('w2', [held('b', 500)]));
    w2.update(state('w1', [running('r1'), held('a', 500)]));
    expect([w1.mayRun('a', T1, 2), w2.mayRun('b', T1, 2)]).toEqual([true, false]);
    // once r1 ends, b may run too
    w2.update(state('w1', [{ ...held('a', 500), held: false }]));
    expect(w2.mayRun('b', T1, 2)).toBe(true);
  });

  it('never admits more than the limit however many workers hold jobs, and always admits the first in line', () => {
    const views = ['w1', 'w2', 'w3'].map((id) => new ClusterView(id, 10_000, manualClock().now));
    const taken = { w1: [held('x1', 10)], w2: [held('x2', 10)], w3: [held('x3', 9)] } as Record<string, RunningJob[]>;
    views.forEach((v) => {
      v.setOwn(taken[v.workerId]!);
      for (const [id, list] of Object.entries(taken)) if (id !== v.workerId) v.update(state(id, list));
    });
    const admitted = views.filter((v) => v.mayRun(taken[v.workerId]![0]!.job_id, T1, 1)).map((v) => v.workerId);
    expect(admitted).toEqual(['w3']);
  });

  it('forgets nobody while it cannot hear them, and counts a peer silent only from when it hears again', () => {
    const released: RunningJob[][] = [];
    const clock = manualClock();
    const view = new ClusterView('w1', 10_000, clock.now, (jobs) => released.push(jobs));
    view.update(state('w2', [job('j1', T1)]));
    view.setListening(false); // our connection to RabbitMQ went: w2 cannot reach us either
    clock.t += 30_000;
    expect(view.peers()).toBe(1);
    expect(view.heldEarlierElsewhere('j1')).toBe(true); // a copy of j1 the broker hands back must wait for w2
    view.setListening(true);
    clock.t += 9_000;
    expect(view.runningFor(T1)).toBe(1);
    expect(released).toEqual([]);
    clock.t += 2_000; // 11 s heard nothing since we are back: gone
    expect(view.peers()).toBe(0);
    expect(released).toEqual([[job('j1', T1)]]);
  });

  it('remembers the jobs whose answer went out, for FINISHED_MEMORY_MS and FINISHED_MEMORY_MAX at most', () => {
    const clock = manualClock();
    const view = new ClusterView('w1', 10_000, clock.now);
    expect(view.finished('j1')).toBe(false);
    view.noteFinished('j1');
    clock.t += FINISHED_MEMORY_MS - 1000;
    view.noteFinished('j2');
    expect([view.finished('j1'), view.finished('j2')]).toEqual([true, true]);
    clock.t += 2000;
    expect([view.finished('j1'), view.finished('j2')]).toEqual([false, true]);
    for (let i = 0; i < FINISHED_MEMORY_MAX + 10; i++) view.noteFinished(`many-${i}`);
    expect(view.finished('j2')).toBe(false); // the oldest went first
    expect(view.finished('many-9')).toBe(false);
    expect(view.finished('many-10')).toBe(true);
    expect(view.finished(`many-${FINISHED_MEMORY_MAX + 9}`)).toBe(true);
  });
});
