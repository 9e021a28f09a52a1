import { readFileSync } from 'node:fs';
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
  /**
   * Liveness body, from in-process state only: answering at all shows the
   * event loop is responsive. Synchronous, so it cannot wait on the broker or
   * storage: a liveness probe that times out restarts the pod.
   */
  health: () => Record<string, unknown>;
  /** What keeps the service from doing work (empty: ready), from local state and cached checks (readiness.ts); synchronous too. */
  notReady: () => string[];
  metrics: { contentType: string; metrics(): Promise<string> };
}

/** `/health` (liveness), `/ready` (200 when the last dependency checks passed, 503 with reasons) and `/metrics`. */
export function serviceRoutes(probes: ServiceProbes): HttpRoutes {
  return {
    '/health': () => ({ status: 200, body: { status: 'ok', ...probes.health() } }),
    '/ready': () => {
      const problems = probes.notReady();
      return problems.length === 0 ? { status: 200, body: { ready: true } } : { status: 503, body: { ready: false, problems } };
    },
    '/metrics': async () => ({ status: 200, body: await probes.metrics.metrics(), contentType: probes.metrics.contentType }),
  };
}

/**
 * Resident memory now and at its peak (VmHWM), in bytes; the peak is what
 * large-transfer tests bound. /proc is read synchronously: it is the kernel's
 * memory, not a disk, and /health must not await anything.
 */
export function processMemory(): { rss_bytes: number; peak_rss_bytes: number | null } {
  const rss = process.memoryUsage.rss();
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    // not Linux: no peak to report
  }
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  return { rss_bytes: rss, peak_rss_bytes: hwm ? Number(hwm) * 1024 : null };
}
