/** Start-up refusals: the services stop with a clear message instead of running half-broken. */
import { spawnService, AMQP_URL } from './helpers/stack.js';

describe('start-up', () => {
  it("refuses to run the gateway on uWebSockets.js's slow JavaScript fallback", async () => {
    const gateway = spawnService('gateway', { UWS_USE_FALLBACK: '1', WS_PORT: '0', HEALTH_PORT: '0', AMQP_URL });
    const code = await gateway.exit();
    expect(code).toBe(3);
    expect(gateway.stderr).toContain('native binding');
  });

  // each service parses only its own variables and the shared ones: a worker's bad MAX_CONCURRENT_JOBS does not stop a gateway
  it.each([
    ['gateway', 'WS_PORT', 'MAX_CONCURRENT_JOBS'],
    ['worker', 'MAX_CONCURRENT_JOBS', 'WS_PORT'],
  ] as const)('%s stops on a bad configuration, naming every bad variable', async (service, own, other) => {
    const proc = spawnService(service, {
      WS_PORT: 'eighty',
      MAX_CONCURRENT_JOBS: '0',
      HEALTH_PORT: '70000',
      STORAGE_DRIVER: 's3',
      AMQP_URL,
    });
    expect(await proc.exit()).toBe(2);
    expect(proc.stderr).toContain(own);
    expect(proc.stderr).toContain('HEALTH_PORT');
    expect(proc.stderr).toContain('S3_BUCKET');
    expect(proc.stderr).not.toContain(other);
  });
});
