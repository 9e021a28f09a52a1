import { CloseCode } from '@media-foundry/shared';
import { createLogger } from '@media-foundry/shared/node';
import { GatewayShutdown } from './shutdown.js';

describe('GatewayShutdown', () => {
  it('drains, closes the clients, waits for the submissions under way, then releases the broker; once', async () => {
    const steps: string[] = [];
    let submitted!: () => void;
    const shutdown = new GatewayShutdown({
      leadMs: 20,
      logger: createLogger('test', 'silent'),
      drain: () => void steps.push('drain'),
      closeClients: (code) => void steps.push(`close ${code}`),
      settle: () => (steps.push('settle'), new Promise<void>((resolve) => (submitted = resolve))),
      release: () => (steps.push('release'), Promise.resolve()),
    });
    const done = shutdown.run('SIGTERM');
    expect(shutdown.state).toBe('draining');
    await new Promise((r) => setTimeout(r, 60));
    expect(steps).toEqual(['drain', `close ${CloseCode.GOING_AWAY}`, 'settle']); // the publish is not confirmed yet
    expect(shutdown.state).toBe('closing');
    submitted();
    await done;
    expect(steps).toEqual(['drain', `close ${CloseCode.GOING_AWAY}`, 'settle', 'release']);
    expect(shutdown.state).toBe('stopped');
    expect(shutdown.run('SIGINT')).toBe(done);
  });
});
