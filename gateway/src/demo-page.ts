/**
 * The browser demo page at `/` on the WebSocket port (DEMO_PAGE): static
 * files bundled from the client package into dist/demo-page by
 * scripts/build-page.js, read once at start-up (a few hundred KB), plus
 * `/demo/config.json` telling the page whether to ask for an API key.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@media-foundry/shared/node';
import type { HttpResponse, TemplatedApp } from './uws.js';

/** Where the build puts the page: gateway/dist/demo-page. */
export const DEMO_PAGE_DIR = fileURLToPath(new URL('./demo-page/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
};

/** Registers the page's routes; logs and serves nothing when the page was not built. */
export async function serveDemoPage(app: TemplatedApp, options: { authRequired: boolean; dir?: string }, logger: Logger): Promise<void> {
  const dir = options.dir ?? DEMO_PAGE_DIR;
  const files = new Map<string, { type: string; body: Buffer }>();
  try {
    for (const name of await readdir(dir)) {
      const ext = name.slice(name.lastIndexOf('.'));
      files.set(name, { type: TYPES[ext] ?? 'application/octet-stream', body: await readFile(join(dir, name)) });
    }
  } catch (err) {
    logger.warn({ err, dir }, 'demo page not built; / serves nothing (npm run build builds it)');
    return;
  }
  const config = Buffer.from(JSON.stringify({ auth: options.authRequired }));
  const send = (res: HttpResponse, type: string, body: Buffer): void =>
    void res.cork(() => {
      res.writeStatus('200 OK').writeHeader('content-type', type).writeHeader('cache-control', 'no-cache').end(body);
    });
  app.get('/', (res) => {
    const index = files.get('index.html');
    if (index) send(res, index.type, index.body);
    else notFound(res);
  });
  app.get('/demo/config.json', (res) => send(res, 'application/json', config));
  app.get('/demo/*', (res, req) => {
    const file = files.get(req.getUrl().slice('/demo/'.length));
    if (file) send(res, file.type, file.body);
    else notFound(res);
  });
}

function notFound(res: HttpResponse): void {
  void res.cork(() => {
    res.writeStatus('404 Not Found').end('not found');
  });
}
