/** Start-up refusals: the services stop with a clear message instead of running half-broken. */
import { spawnService, AMQP_URL } from './helpers/stack.js';

describe('start-up', () => {
  it("refuses to run the gateway on uWebSockets.js's slow JavaScript fallback", async () => {
    const gateway = spawnService('gateway', { UWS_USE_FALLBACK: '1', WS_PORT: '0', HEALTH_PORT: '0', AMQP_URL });
    const code = await gateway.exit();
    expect(code).toBe(3);
    expect(gateway.stderr).toContain('native binding');
  });

  it.each(['gateway', 'worker'] as const)('%s stops on a bad configuration, naming every bad variable', async (service) => {
    const proc = spawnService(service, { WS_PORT: 'eighty', MAX_CONCURRENT_JOBS: '0', STORAGE_DRIVER: 's3', AMQP_URL });
    expect(await proc.exit()).toBe(2);
    expect(proc.stderr).toContain('WS_PORT');
    expect(proc.stderr).toContain('MAX_CONCURRENT_JOBS');
    expect(proc.stderr).toContain('S3_BUCKET');
  });
});
