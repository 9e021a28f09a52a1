import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpReply {
  status: number;
  body: unknown;
}
export type HttpRoutes = Record<string, () => HttpReply | Promise<HttpReply>>;

/** A tiny JSON-over-HTTP server for /health and friends (GET only). */
export async function startHttpServer(host: string, port: number, routes: HttpRoutes): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = req.method === 'GET' ? routes[path] : undefined;
    const reply = route ? Promise.resolve().then(route) : Promise.resolve({ status: 404, body: { error: 'not found' } });
    reply
      .catch((err: unknown) => ({ status: 500, body: { error: err instanceof Error ? err.message : String(err) } }))
      .then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      })
      .catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
