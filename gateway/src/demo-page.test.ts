import { writeFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { createLogger } from '@media-foundry/shared/node';
import { useTempDir } from '@media-foundry/test-support';
import { serveDemoPage } from './demo-page.js';
import { loadUws, type us_listen_socket } from './uws.js';

const uws = loadUws();
const logger = createLogger('gateway', 'error');

/** A uWS app with the page's routes on a free port; `stop` closes it. */
async function serve(dir: string, authRequired: boolean) {
  const app = uws.App();
  await serveDemoPage(app, { authRequired, dir }, logger);
  const socket = await new Promise<us_listen_socket>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (s) => (s ? resolve(s) : reject(new Error('cannot listen')))),
  );
  const base = `http://127.0.0.1:${uws.us_socket_local_port(socket)}`;
  return { base, stop: () => uws.us_listen_socket_close(socket) };
}

/** One GET on a connection of its own, closed after the answer (a kept-alive one would hold the test open). */
function get(url: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    }).on('error', reject);
  });
}

describe('serveDemoPage', () => {
  const dir = useTempDir('mf-demo-page-');
  beforeAll(async () => {
    await writeFile(join(dir(), 'index.html'), '<!doctype html><title>mf</title>');
    await writeFile(join(dir(), 'app.js'), 'export {};');
  });

  it('serves index.html at / and the bundle under /demo/, with their types', async () => {
    const { base, stop } = await serve(dir(), false);
    try {
      const page = await get(`${base}/`);
      expect(page).toEqual({ status: 200, type: 'text/html; charset=utf-8', body: '<!doctype html><title>mf</title>' });
      expect(await get(`${base}/demo/app.js`)).toMatchObject({ status: 200, type: 'text/javascript; charset=utf-8' });
      expect((await get(`${base}/demo/nope.js`)).status).toBe(404);
    } finally {
      stop();
    }
  });

  it('tells the page whether to ask for an API key', async () => {
    const { base, stop } = await serve(dir(), true);
    try {
      expect(JSON.parse((await get(`${base}/demo/config.json`)).body)).toEqual({ auth: true });
    } finally {
      stop();
    }
  });
});
