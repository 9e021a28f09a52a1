import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpReply {
  status: number;
  /** Sent as JSON, unless `contentType` is given (then `body` is sent as the string it is). */
  body: unknown;
  contentType?: string;
}
export type HttpRoutes = Record<string, () => HttpReply | Promise<HttpReply>>;

/** A tiny JSON-over-HTTP server for /health and friends (GET only). */
export async function startHttpServer(host: string, port: number, routes: HttpRoutes): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = req.method === 'GET' ? routes[path] : undefined;
    const reply: Promise<HttpReply> = route
      ? Promise.resolve().then(route)
      : Promise.resolve({ status: 404, body: { error: 'not found' } });
    reply
      .catch((err: unknown): HttpReply => ({ status: 500, body: { error: err instanceof Error ? err.message : String(err) } }))
      .then(({ status, body, contentType }) => {
        res.writeHead(status, { 'content-type': contentType ?? 'application/json' });
        res.end(contentType ? String(body) : JSON.stringify(body));
      })
      .catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

export interface ServiceProbes {
  /** Liveness body: answering at all shows the event loop is responsive. */
  health: () => Promise<Record<string, unknown>>;
  /** What keeps the service from doing work (empty: ready). */
  notReady: () => Promise<string[]>;
  metrics: { contentType: string; metrics(): Promise<string> };
}

/** `/health` (liveness), `/ready` (200 only when dependencies answer, 503 with reasons) and `/metrics`. */
export function serviceRoutes(probes: ServiceProbes): HttpRoutes {
  return {
    '/health': async () => ({ status: 200, body: { status: 'ok', ...(await probes.health()) } }),
    '/ready': async () => {
      const problems = await probes.notReady();
      return problems.length === 0 ? { status: 200, body: { ready: true } } : { status: 503, body: { ready: false, problems } };
    },
    '/metrics': async () => ({ status: 200, body: await probes.metrics.metrics(), contentType: probes.metrics.contentType }),
  };
}

/** Readiness problems of the two dependencies every service has. */
export async function dependencyProblems(brokerConnected: boolean, storageCheck: () => Promise<void>): Promise<string[]> {
  const problems: string[] = [];
  if (!brokerConnected) problems.push('RabbitMQ is not connected');
  try {
    await storageCheck();
  } catch (err) {
    problems.push(`storage is not reachable: ${(err as Error).message}`);
  }
  return problems;
}

/** Resident memory now and at its peak (VmHWM), in bytes; the peak is what large-transfer tests bound. */
export async function processMemory(): Promise<{ rss_bytes: number; peak_rss_bytes: number | null }> {
  const rss = process.memoryUsage.rss();
  const status = await readFile('/proc/self/status', 'utf8').catch(() => '');
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  return { rss_bytes: rss, peak_rss_bytes: hwm ? Number(hwm) * 1024 : null };
}
