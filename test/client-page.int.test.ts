/// <reference lib="dom" />
/**
 * The demo page the gateway serves at `/`, in real headless Chromium
 * (Debian's `chromium`, driven by playwright-core; never a downloaded
 * browser): a fixture uploaded through the page, `thumbnail` and `speed`
 * run, their previews loaded with the right size and duration; with auth on
 * and a wrong key, the page shows the error. Screenshots go to
 * test/output/client-page/.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { execa } from 'execa';
import { makeTestVideo } from './helpers/media.js';
import { ROOT } from './helpers/paths.js';
import { startStack, type Stack } from './helpers/stack.js';
import { useSuite } from './helpers/suite.js';
import { TestClient } from './helpers/ws-client.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const OUTPUT = join(ROOT, 'test', 'output', 'client-page');
const API_KEY = 'page-test-key-0123456789';

let dir: string;
let browser: Browser;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mf-page-'));
  await mkdir(OUTPUT, { recursive: true });
  await Promise.all([
    makeTestVideo(join(dir, 'clip.mp4'), { seconds: 2, width: 320, height: 240 }),
    // VP9/Opus: plays in any Chromium build (H.264 needs the proprietary codecs)
    execa('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=4'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:duration=4'],
      ...['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-pix_fmt', 'yuv420p', '-c:a', 'libopus', '-shortest'],
      join(dir, 'clip.webm'),
    ]),
  ]);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});
afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

function pageUrl(stack: Stack): string {
  return stack.wsUrl.replace(/^ws:/, 'http:') + '/';
}

async function runOnPage(page: Page, file: string, operation: string, options: Record<string, string> = {}): Promise<void> {
  await page.setInputFiles('#file', file);
  await page.selectOption('#operation', operation);
  for (const [name, value] of Object.entries(options)) await page.fill(`#opt-${name}`, value);
  await page.click('#run');
  await page.waitForFunction(() => ['done', 'failed'].includes(document.getElementById('stage')?.textContent ?? ''), undefined, {
    timeout: 90_000,
  });
}

describe('with auth off', () => {
  const { stack } = useSuite({ client: false });

  it('uploads a file through the page, runs thumbnail and speed, and previews the outputs', async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 1000 } });
    const consoleErrors: string[] = [];
    page.on('pageerror', (err) => consoleErrors.push(err.message));
    try {
      await page.goto(pageUrl(stack));
      expect(await page.isHidden('#api-key-row')).toBe(true);
      // the form comes from the schema: thumbnail's count is an integer 1–20, format a select with its default
      expect(await page.getAttribute('#opt-count', 'max')).toBe('20');
      expect(await page.$$eval('#opt-format option', (os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual([
        '',
        'png',
        'jpeg',
        'jpg',
      ]);

      await runOnPage(page, join(dir, 'clip.mp4'), 'thumbnail', { width: '160' });
      expect(await page.textContent('#stage')).toBe('done');
      const img = await page.waitForSelector('#results img');
      await page.waitForFunction(() => (document.querySelector('#results img') as HTMLImageElement | null)?.complete === true);
      expect(await img.evaluate((el) => [(el as HTMLImageElement).naturalWidth, (el as HTMLImageElement).naturalHeight])).toEqual([
        160, 120,
      ]);
      expect(await page.getAttribute('#results a', 'download')).toMatch(/\.png$/);
      await page.screenshot({ path: join(OUTPUT, 'thumbnail.png'), fullPage: true });

      await runOnPage(page, join(dir, 'clip.webm'), 'speed', { speed_factor: '2' });
      expect(await page.textContent('#stage')).toBe('done');
      const video = await page.waitForSelector('#results video');
      const duration = await video.evaluate(
        (el) =>
          new Promise<number>((resolve, reject) => {
            const v = el as HTMLVideoElement;
            if (v.readyState >= 1) return resolve(v.duration);
            v.addEventListener('loadedmetadata', () => resolve(v.duration));
            v.addEventListener('error', () => reject(new Error(`video error ${v.error?.code}`)));
          }),
      );
      expect(duration).toBeCloseTo(2, 0);
      expect(await video.evaluate((el) => [(el as HTMLVideoElement).videoWidth, (el as HTMLVideoElement).videoHeight])).toEqual([320, 240]);
      await page.screenshot({ path: join(OUTPUT, 'speed.png'), fullPage: true });
      expect(consoleErrors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('with auth on', () => {
  const { stack } = useSuite({ stack: { gatewayEnv: { API_KEYS: API_KEY } }, client: false });

  it('asks for the API key, and shows the error for a wrong one', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(pageUrl(stack));
      await page.waitForSelector('#api-key-row', { state: 'visible' });
      await page.fill('#api-key', 'not-the-right-key-000000');
      await runOnPage(page, join(dir, 'clip.mp4'), 'thumbnail');
      expect(await page.textContent('#stage')).toBe('failed');
      expect(await page.isVisible('#error')).toBe(true);
      expect(await page.textContent('#error')).toMatch(/^CONNECTION_FAILED: Cannot connect — .*refused the API key/);
      await page.screenshot({ path: join(OUTPUT, 'wrong-key.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });
});

describe('with DEMO_PAGE=false', () => {
  it('serves no page', async () => {
    const stack = await startStack({ gatewayEnv: { DEMO_PAGE: 'false' }, workers: 0 });
    try {
      const answer = await fetch(pageUrl(stack), { signal: AbortSignal.timeout(10_000) });
      expect(answer.status).toBe(404);
      const script = await fetch(pageUrl(stack) + 'demo/app.js', { signal: AbortSignal.timeout(10_000) });
      expect(script.status).toBe(404);
      // the WebSocket on the same path still upgrades
      const client = await TestClient.connect(stack.wsUrl);
      await client.close();
    } finally {
      await stack.stop();
    }
  });
});
