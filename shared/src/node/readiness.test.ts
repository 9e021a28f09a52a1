import type { AddressInfo } from 'node:net';
import { BackgroundRead } from './background-read.js';
import type { Broker } from './broker.js';
import { serviceRoutes, startHttpServer } from './http-server.js';
import { brokerProblems, DependencyCheck, readinessProblems, whenConnected } from './readiness.js';
import { waitFor } from './wait.js';

const until = (check: () => boolean, ms = 1000) => waitFor(check, ms, 'condition', 2);
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The part of a Broker that readiness reads. */
function fakeBroker(state: 'connected' | 'disconnected', blocked: string | null = null): Broker {
  return { state: () => state, blocked: () => blocked } as Partial<Broker> as Broker;
}

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});
function started<T extends { start(): void; stop(): void }>(x: T): T {
  x.start();
  stops.push(() => x.stop());
  return x;
}

describe('BackgroundRead', () => {
  it('does not start a second read while one has not answered, even past its timeout', async () => {
    let calls = 0;
    let release: () => void = () => {};
    const read = started(
      new BackgroundRead(
        () => {
          calls += 1;
          return new Promise<number>((resolve) => (release = () => resolve(1)));
        },
        { intervalMs: 5, timeoutMs: 20, retryMs: 5 },
      ),
    );
    await until(() => read.last()?.ok === false);
    expect(read.last()).toEqual({ ok: false, error: 'no answer within 20 ms' });
    await delay(60); // many intervals: a blocked broker would collect a read per interval
    expect(calls).toBe(1);
    release(); // the late answer is ignored, and the next read starts
    await until(() => calls === 2);
  });

  it('reads again sooner while failing (retryMs) than while passing (intervalMs)', async () => {
    let fail = true;
    let calls = 0;
    started(
      new BackgroundRead(
        () => {
          calls += 1;
          return fail ? Promise.reject(new Error('down')) : Promise.resolve('up');
        },
        { intervalMs: 10_000, timeoutMs: 100, retryMs: 5 },
      ),
    );
    await until(() => calls >= 3);
    fail = false;
    await until(() => calls >= 4);
    const after = calls;
    await delay(50);
    expect(calls).toBe(after);
  });

  it('counts a read that throws at once as failed', async () => {
    const read = started(
      new BackgroundRead<number>(
        () => {
          throw new Error('sync');
        },
        { intervalMs: 10, timeoutMs: 100 },
      ),
    );
    await until(() => read.last() !== null);
    expect(read.last()).toEqual({ ok: false, error: 'sync' });
  });
});

describe('DependencyCheck', () => {
  it('is a problem until its first check answers, then follows each check', async () => {
    let ok = true;
    const check = new DependencyCheck('storage is not reachable', () => (ok ? Promise.resolve() : Promise.reject(new Error('503'))), {
      intervalMs: 5,
      timeoutMs: 100,
    });
    expect(check.problem()).toBe('storage is not reachable: not checked yet');
    started(check);
    await until(() => check.problem() === null);
    ok = false;
    await until(() => check.problem() === 'storage is not reachable: 503');
    ok = true;
    await until(() => check.problem() === null);
  });

  it('answers at once while its check hangs: the probe never waits for the dependency', async () => {
    const check = started(new DependencyCheck('RabbitMQ did not answer', () => new Promise(() => {}), { intervalMs: 5, timeoutMs: 30 }));
    // problem() is synchronous: it returns the last answer, never a promise that waits for the check
    expect(check.problem()).toBe('RabbitMQ did not answer: not checked yet');
    await until(() => check.problem() === 'RabbitMQ did not answer: no answer within 30 ms');
  });
});

describe('whenConnected', () => {
  it('makes the round trip while connected, and fails at once without it while not', async () => {
    let trips = 0;
    const trip = () => {
      trips += 1;
      return Promise.resolve(7);
    };
    await expect(whenConnected(fakeBroker('connected'), trip)()).resolves.toBe(7);
    await expect(whenConnected(fakeBroker('disconnected'), trip)()).rejects.toThrow('not connected');
    expect(trips).toBe(1);
  });
});

describe('readinessProblems', () => {
  const passing = () => {
    const c = new DependencyCheck('x', () => Promise.resolve(), { intervalMs: 1000, timeoutMs: 100 });
    return started(c);
  };

  it('is empty with connected brokers and passing checks', async () => {
    const check = passing();
    await until(() => check.problem() === null);
    expect(readinessProblems({ stopping: false, brokers: [fakeBroker('connected')], checks: [check] })).toEqual([]);
  });

  it('names shutdown, a lost connection and a blocked one from local state, without waiting for a check', async () => {
    const check = passing();
    await until(() => check.problem() === null);
    expect(readinessProblems({ stopping: true, brokers: [fakeBroker('connected')], checks: [check] })).toEqual(['shutting down']);
    expect(brokerProblems([fakeBroker('connected'), fakeBroker('disconnected')])).toEqual(['RabbitMQ is not connected']);
    expect(brokerProblems([fakeBroker('connected', 'low on memory')])).toEqual([
      'RabbitMQ blocks publishing (low on memory): a resource alarm',
    ]);
  });
});

describe('serviceRoutes over HTTP', () => {
  it('answers /health and /ready from what the probes return, 503 with the reasons when not ready', async () => {
    let problems: string[] = [];
    const { server, port } = await startHttpServer(
      '127.0.0.1',
      0,
      serviceRoutes({
        health: () => ({ service: 'test' }),
        notReady: () => problems,
        metrics: { contentType: 'text/plain', metrics: () => Promise.resolve('m 1\n') },
      }),
    );
    try {
      const get = async (path: string) => {
        const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
        return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text() };
      };
      expect(port).toBeGreaterThan(0);
      expect(await get('/health')).toEqual({ status: 200, body: { status: 'ok', service: 'test' } });
      expect(await get('/ready')).toEqual({ status: 200, body: { ready: true } });
      problems = ['storage is not reachable: 503'];
      expect(await get('/ready')).toEqual({ status: 503, body: { ready: false, problems } });
      expect(await get('/metrics')).toEqual({ status: 200, body: 'm 1\n' });
      expect((await get('/nope')).status).toBe(404);
    } finally {
      server.close();
    }
  });
});
