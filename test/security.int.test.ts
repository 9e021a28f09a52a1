/**
 * Hostile inputs against real processes: URL inputs that aim at internal
 * addresses, and an HLS playlist disguised as an .mp4 upload that points at a
 * loopback URL and at /etc/passwd.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTestVideo } from './helpers/media.js';
import { TestClient } from './helpers/ws-client.js';
import { useSuite } from './helpers/suite.js';

let redirector: Server;
let redirectorPort: number;

const { dir, files, client } = useSuite({
  name: 'sec',
  fixtures: (dir) => makeTestVideo(join(dir, 'clip.mp4'), { seconds: 2 }),
  // "localhost" (a host name) is allowed; the addresses behind it are not
  stack: { env: { URL_ALLOWLIST: 'localhost' } },
});
beforeAll(async () => {
  // answers every request with a redirect to the (loopback) file server
  redirector = createServer((req, res) => {
    res.writeHead(302, { location: files.url('clip.mp4') });
    res.end();
  });
  await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
  redirectorPort = (redirector.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => redirector?.close(r));
});
beforeEach(() => {
  files.requests.length = 0;
});

describe('URL inputs (SSRF)', () => {
  const port = () => new URL(files.url('x')).port;

  it.each([
    ['a loopback address', () => files.url('clip.mp4')],
    ['a decimal spelling of 127.0.0.1', () => `http://2130706433:${port()}/clip.mp4`],
    ['a hex spelling of 127.0.0.1', () => `http://0x7f.0.0.1:${port()}/clip.mp4`],
    ['an IPv4-mapped IPv6 loopback', () => `http://[::ffff:127.0.0.1]:${port()}/clip.mp4`],
  ])('refuses %s at submit, before ack, without fetching it', async (_what, url) => {
    // forbidden on its face (a literal address, however spelt): a VALIDATION_ERROR from the gateway, never published
    client.send({ type: 'start_job', job_id: 'ssrf', operation: 'probe', input: { source: 'url', url: url() } });
    const { items, final } = await client.result('ssrf');
    expect(final).toMatchObject({ type: 'error', code: 'VALIDATION_ERROR' });
    expect(final.details).toMatch(/^input\.url: .*private or reserved address/);
    expect(items.some((i) => i.kind === 'json' && i.data.type === 'ack')).toBe(false);
    expect(files.requests).toEqual([]);
  });

  it('re-checks every redirect hop', async () => {
    client.startJob('hop', 'probe', { source: 'url', url: `http://localhost:${redirectorPort}/go` });
    const { final } = await client.result('hop');
    expect(final).toMatchObject({ code: 'JOB_FAILED', message: 'Input URL is not allowed' });
    expect(files.requests).toEqual([]);
  });

  it('fetches an allow-listed host', async () => {
    client.startJob('ok', 'probe', { source: 'url', url: `http://localhost:${port()}/clip.mp4` });
    expect((await client.result('ok')).final.type).toBe('completed');
    expect(files.requests).toEqual(['/clip.mp4']);
  });
});

describe('broken uploads', () => {
  it.each([
    ['zero bytes', async () => Buffer.alloc(0), 'Input is empty'],
    ['a truncated mp4', async () => (await readFile(join(dir, 'clip.mp4'))).subarray(0, 4000), 'Input is not a readable media file'],
    [
      'random bytes',
      async () => Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251)),
      'Input is not a readable media file',
    ],
  ])('%s end in JOB_FAILED with details, and the worker stays healthy', async (_what, bytes, message) => {
    client.send({ type: 'start_job', job_id: 'broken', operation: 'thumbnail', input: { source: 'upload' } });
    await client.next((m) => m.type === 'ack');
    client.upload('broken', 'in.mp4', await bytes());
    const { final } = await client.result('broken');
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message });
    expect(String(final.details).length).toBeGreaterThan(0);
    client.received.length = 0;
    client.startJob('after', 'probe', { source: 'url', url: `http://localhost:${new URL(files.url('x')).port}/clip.mp4` });
    expect((await client.result('after')).final.type).toBe('completed');
  });
});

describe('resource ceilings', () => {
  const { stack: limited } = useSuite({ stack: { env: { URL_ALLOWLIST: '127.0.0.1', MAX_INPUT_DURATION_SECONDS: '1' } }, client: false });

  /** Speeds clip.mp4 up twofold on this stack, from a client of its own; returns the job's final reply. */
  async function speedUpClip(jobId: string) {
    const c = await TestClient.connect(limited.wsUrl);
    try {
      c.startJob(jobId, 'speed', files.url('clip.mp4'), { speed_factor: 2 });
      return (await c.result(jobId)).final;
    } finally {
      await c.close();
    }
  }

  it('refuses inputs longer than MAX_INPUT_DURATION_SECONDS before running ffmpeg', async () => {
    const c = await TestClient.connect(limited.wsUrl);
    c.send({ type: 'start_job', job_id: 'long', operation: 'thumbnail', input: { source: 'url', url: files.url('clip.mp4') } });
    const { final } = await c.result('long');
    expect(final).toMatchObject({ code: 'JOB_FAILED', message: 'Input is too long' });
    expect(limited.workers[0]!.logs.some((l) => l.msg === 'running ffmpeg')).toBe(false);
    await c.close();
  });

  // ffprobe runs under the same ceiling (issue 19), so at 16 MiB the job fails
  // while probing and ffmpeg never starts; runFfmpeg's own ceiling: worker/src/ffmpeg/run.test.ts.
  // INPUT_PROBE=ffprobe: by default this MP4 would be described in-process, without an ffprobe to starve
  it('fails a job whose ffprobe needs more memory than FFMPEG_MAX_MEMORY_MB, before ffmpeg runs', async () => {
    const starved = await limited.addWorker({ FFMPEG_MAX_MEMORY_MB: '16', MAX_INPUT_DURATION_SECONDS: '60', INPUT_PROBE: 'ffprobe' });
    await limited.workers[0]!.stop(); // only the starved worker takes jobs now
    const final = await speedUpClip('hungry');
    expect(final).toMatchObject({ code: 'JOB_FAILED', message: 'Input is not a readable media file' });
    expect(starved.logs.some((l) => l.msg === 'running ffmpeg')).toBe(false);
  });

  it('fails that job under the same ceiling when the MP4 is described in-process: ffmpeg runs under it', async () => {
    const starved = await limited.addWorker({ FFMPEG_MAX_MEMORY_MB: '16', MAX_INPUT_DURATION_SECONDS: '60' });
    for (const worker of limited.workers) if (worker !== starved) await worker.stop();
    const final = await speedUpClip('hungry-ffmpeg');
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED' });
    expect(starved.logs.some((l) => l.msg === 'input described from its MP4 header, without ffprobe')).toBe(true);
  });
});

describe('a playlist disguised as media', () => {
  it('fails the job without fetching anything or reading local files', async () => {
    const playlist = [
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      '#EXT-X-TARGETDURATION:2',
      '#EXT-X-MEDIA-SEQUENCE:0',
      '#EXTINF:2.0,',
      files.url('segment0.ts'),
      '#EXTINF:2.0,',
      'file:///etc/passwd',
      '#EXT-X-ENDLIST',
      '',
    ].join('\n');
    const passwd = await readFile('/etc/passwd');
    for (const [jobId, operation, options] of [
      ['hls-thumb', 'thumbnail', {}],
      ['hls-convert', 'speed', { speed_factor: 1 }],
      ['hls-probe', 'probe', {}],
    ] as const) {
      client.send({ type: 'start_job', job_id: jobId, operation, input: { source: 'upload' }, options });
      await client.next((m) => m.type === 'ack' && m.job_id === jobId);
      client.upload(jobId, 'holiday.mp4', Buffer.from(playlist));
      const { final, files: out } = await client.result(jobId);
      expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Input is not a readable media file' });
      expect(String(final.details)).toMatch(/not on whitelist/);
      for (const bytes of out.values()) expect(bytes.includes(passwd.subarray(0, 32))).toBe(false);
    }
    expect(files.requests).toEqual([]);
    expect(JSON.stringify(client.messages())).not.toContain('root:x:0:0');
  });
});
