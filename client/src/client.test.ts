import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { MediaFoundry } from './node.js';

describe('MediaFoundry reconnect', () => {
  it('gives up with CONNECTION_LOST when every new connection is closed by the server at once (1008), not loops forever', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    let connections = 0;
    server.on('connection', (socket) => {
      connections++;
      // the first one is served (and dropped below); every later one is over the key's connection limit
      if (connections > 1) socket.close(1008, 'too many connections for this API key or token (MAX_CONNECTIONS_PER_CLIENT)');
    });
    try {
      const client = await MediaFoundry.connect(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, {
        reconnect: { retries: 3, minDelayMs: 10, maxDelayMs: 20 },
      });
      const job = client.thumbnail({ url: 'http://example.com/a.mp4' }, { timestamp: 1 });
      await new Promise((r) => setTimeout(r, 50));
      for (const socket of server.clients) socket.terminate(); // the connection drops
      await expect(job.result()).rejects.toMatchObject({
        code: 'CONNECTION_LOST',
        details: expect.stringMatching(/1008 too many connections/),
      });
      expect(connections).toBe(1 + 3);
    } finally {
      for (const socket of server.clients) socket.terminate();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
