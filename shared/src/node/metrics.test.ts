import { createRegistry, EVENT_LOOP_SAMPLE_MS } from './metrics.js';

/** A metric's value from the registry's JSON (prom-client's own reading, as /metrics would print it). */
async function value(registry: ReturnType<typeof createRegistry>, name: string): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const first = metric?.values[0]?.value;
  if (typeof first !== 'number') throw new Error(`${name} not in the registry`);
  return first;
}

describe('createRegistry', () => {
  it('still reports a loop blocked for longer than its lag sampling interval, and an idle loop again after a scrape', async () => {
    const registry = createRegistry('test');
    // a few samples first, so the histogram has a baseline
    await new Promise((r) => setTimeout(r, EVENT_LOOP_SAMPLE_MS * 3));
    // long enough that an idle reading after it cannot come near it, even on a loaded machine
    const blockMs = EVENT_LOOP_SAMPLE_MS * 6;
    const until = Date.now() + blockMs;
    while (Date.now() < until) {
      // the event loop blocked, as a synchronous hot spot would block it
    }
    await new Promise((r) => setTimeout(r, EVENT_LOOP_SAMPLE_MS * 2));
    // the figures are the time between two samples: the one across the block is at least the block long (an idle
    // loop's are the interval itself, a little more)
    expect(await value(registry, 'mf_nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual((blockMs - 5) / 1000);
    // each scrape starts the histogram afresh: idle since, the longest is about one interval
    await new Promise((r) => setTimeout(r, EVENT_LOOP_SAMPLE_MS * 3));
    expect(await value(registry, 'mf_nodejs_eventloop_lag_max_seconds')).toBeLessThan(blockMs / 1000);
  });

  it('labels every metric with the service', async () => {
    const registry = createRegistry('gateway');
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'mf_process_cpu_seconds_total');
    expect(metric?.values[0]?.labels).toMatchObject({ service: 'gateway' });
  });
});
