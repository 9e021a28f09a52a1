/**
 * Large payloads: chunked uploads streamed into storage with protocol flow
 * control, chunked downloads with backpressure, URL delivery — on both storage
 * drivers — and a 200 MB round trip whose gateway memory is measured.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { MiB } from '@media-foundry/shared';
import { makeTestVideo, renderLavfi } from './helpers/media.js';
import { testS3Storage } from './helpers/s3.js';
import { waitFor } from './helpers/wait.js';
import { downloaded, TestClient, uploadInChunks } from './helpers/ws-client.js';
import { useSuite } from './helpers/suite.js';

const { dir } = useSuite({
  name: 'xfer',
  fixtures: (dir) => makeTestVideo(join(dir, 'clip.mp4'), { seconds: 3 }),
  files: false,
  stack: false,
});

/** MD5 of the decoded-free stream packets: equal when a remux kept every byte of every stream. */
async function packetsMd5(path: string): Promise<string> {
  const { stdout } = await execa('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', path, '-map', '0', '-c', 'copy', '-f', 'md5', '-']);
  return String(stdout).trim();
}

async function save(bytes: Buffer, name: string): Promise<string> {
  const path = join(dir, `${Date.now()}-${name}`);
  await writeFile(path, bytes);
  return path;
}

describe.each(['fs', 's3'] as const)('chunked transfers with STORAGE_DRIVER=%s', (driver) => {
  const suite = useSuite({ s3: driver === 's3', stack: { env: { UPLOAD_WINDOW_BYTES: String(2 * MiB), MAX_FILE_SIZE_MB: '40' } } });
  const { stack, client } = suite;
  const s3 = driver === 's3' ? suite.s3 : undefined;

  const storedObjects = async (): Promise<string[]> => {
    if (s3) {
      const storage = testS3Storage(s3);
      return (await storage.list('jobs/')).map((o) => o.key);
    }
    return (await readdir(join(stack.storageDir, 'jobs'), { recursive: true }).catch(() => [])).map(String).filter((p) => p.includes('.'));
  };
  /** Multipart uploads the S3 driver started and did not complete or abort (by the requests it sent). */
  const openMultipartUploads = (): string[] => {
    if (!s3) return [];
    const started = s3.requests.filter((r) => /^POST .*\?uploads/.test(r)).map((r) => r.split(' ')[1]!.split('?')[0]!);
    const ended = new Set(s3.requests.filter((r) => /^(POST|DELETE) .*[?&]uploadId=/.test(r)).map((r) => r.split(' ')[1]!.split('?')[0]!));
    return started.filter((path) => !ended.has(path));
  };

  it('takes a chunked upload within the flow-control window and sends a large output back in chunks', async () => {
    // ~20 MB of uncompressed video: an upload of 40 chunks and an output over 16 MiB
    const big = join(dir, `big-${driver}.mkv`);
    await makeTestVideo(big, {
      seconds: 7,
      width: 320,
      height: 240,
      codecArgs: ['-c:v', 'rawvideo', '-pix_fmt', 'yuv420p', '-c:a', 'pcm_s16le'],
    });
    const bytes = await readFile(big);
    client.startJob('chunky', 'remove_audio', { source: 'upload', size_bytes: bytes.length }, { keep_video_quality: true });
    await client.next((m) => m.type === 'ack');
    await uploadInChunks(client, 'chunky', 'big.mkv', bytes, 512 * 1024, 2 * MiB);
    const { final } = await client.result('chunky', 120_000);
    expect(final).toMatchObject({ type: 'completed', outputs: [{ filename: 'output.mkv' }] });
    const acks = client
      .messages('chunky')
      .filter((m) => m.type === 'upload_ack')
      .map((m) => m.received_bytes as number);
    expect(acks.at(-1)).toBe(bytes.length);
    expect(acks).toEqual([...acks].sort((a, b) => a - b));
    const size = (final.outputs as { size_bytes: number }[])[0]!.size_bytes;
    expect(size).toBeGreaterThan(16 * MiB);
    const frames = client.received.filter((r) => r.kind === 'binary' && r.header.job_id === 'chunky');
    expect(frames.length).toBe(Math.ceil(size / MiB));
    expect(frames.every((f) => f.kind === 'binary' && f.header.total_size === size)).toBe(true);
    expect(frames.map((f) => (f.kind === 'binary' ? f.header.final : null)).filter(Boolean)).toEqual([true]);
    const out = downloaded(client, 'chunky', 'output.mkv');
    expect(out.length).toBe(size);
    // the video stream was copied, so its packets are byte-for-byte the input's
    const inVideo = (
      await execa('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', big, '-map', '0:v', '-c', 'copy', '-f', 'md5', '-'])
    ).stdout;
    expect(await packetsMd5(await save(out, 'out.mkv'))).toBe(String(inVideo).trim());
    await waitFor(async () => (await storedObjects()).length === 0);
  });

  it('refuses chunks out of order, repeated, beyond the window or over the size limit, and cleans up', async () => {
    const chunk = Buffer.alloc(256 * 1024, 7);
    const frame = (jobId: string, offset: number, final: boolean, data = chunk) => {
      const h = Buffer.from(JSON.stringify({ job_id: jobId, filename: 'x.mp4', offset, final }));
      const len = Buffer.alloc(4);
      len.writeUInt32BE(h.length);
      return Buffer.concat([len, h, data]);
    };
    const cases: [string, (id: string) => void, RegExp][] = [
      [
        'gap',
        (id) => {
          client.sendRaw(frame(id, 0, false));
          client.sendRaw(frame(id, chunk.length * 2, false));
        },
        /expected 262144/,
      ],
      [
        'repeat',
        (id) => {
          client.sendRaw(frame(id, 0, false));
          client.sendRaw(frame(id, 0, false));
        },
        /expected 262144/,
      ],
      ['window', (id) => client.sendRaw(frame(id, 0, false, Buffer.alloc(3 * MiB))), /UPLOAD_WINDOW_BYTES/],
      ['start', (id) => client.sendRaw(frame(id, 5, false)), /must have offset 0/],
    ];
    for (const [id, send, details] of cases) {
      if (stack.gateway.proc.exitCode !== null) throw new Error(`gateway died: ${stack.gateway.stderr}`);
      client.send({ type: 'start_job', job_id: id, operation: 'probe', input: { source: 'upload' } });
      await client.next((m) => m.type === 'ack' && m.job_id === id);
      send(id);
      const err = await client.next((m) => m.type === 'error' && m.job_id === id);
      expect(err.code).toBe('BINARY_ERROR');
      expect(err.details).toMatch(details);
    }
    client.send({ type: 'start_job', job_id: 'huge', operation: 'probe', input: { source: 'upload', size_bytes: 41 * MiB } });
    const refused = await client.next((m) => m.type === 'error' && m.job_id === 'huge');
    expect(refused).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(refused.details).toContain('input.size_bytes');
    client.send({ type: 'start_job', job_id: 'liar', operation: 'probe', input: { source: 'upload', size_bytes: 300_000 } });
    await client.next((m) => m.type === 'ack' && m.job_id === 'liar');
    client.sendRaw(frame('liar', 0, false));
    client.sendRaw(frame('liar', chunk.length, false));
    expect((await client.next((m) => m.type === 'error' && m.job_id === 'liar')).details).toContain('declared input.size_bytes');
    await waitFor(async () => (await storedObjects()).length === 0 && openMultipartUploads().length === 0);
  });

  it('leaves nothing behind when the client disconnects mid-upload', async () => {
    const other = await TestClient.connect(stack.wsUrl);
    other.send({ type: 'start_job', job_id: 'gone', operation: 'probe', input: { source: 'upload' } });
    await other.next((m) => m.type === 'ack');
    const part = Buffer.alloc(MiB, 1);
    // past lib-storage's 8 MiB part size, so the S3 driver has a multipart upload open to abort
    for (let i = 0; i < 12; i++) {
      const h = Buffer.from(JSON.stringify({ job_id: 'gone', filename: 'part.mp4', offset: i * part.length, final: false }));
      const len = Buffer.alloc(4);
      len.writeUInt32BE(h.length);
      other.sendRaw(Buffer.concat([len, h, part]));
      await other.until((r) =>
        r.some((x) => x.kind === 'json' && x.data.type === 'upload_ack' && (x.data.received_bytes as number) >= (i + 1) * part.length),
      );
    }
    await other.close();
    await waitFor(async () => (await storedObjects()).length === 0 && openMultipartUploads().length === 0, 15_000);
    if (s3) expect(s3.requests.some((r) => r.startsWith('DELETE ') && r.includes('uploadId='))).toBe(true);
  });

  it('delivers outputs as download URLs (several files too) instead of frames', async () => {
    client.startJob('links', 'thumbnail', { source: 'upload' }, { count: 2 }, { delivery_method: 'url' });
    await client.next((m) => m.type === 'ack');
    client.upload('links', 'clip.mp4', await readFile(join(dir, 'clip.mp4')));
    const { final, items } = await client.result('links');
    expect(final).toMatchObject({ type: 'completed', delivery_method: 'url' });
    expect(items.some((r) => r.kind === 'binary')).toBe(false);
    const outputs = final.outputs as { filename: string; size_bytes: number; url: string }[];
    expect(outputs.map((o) => o.filename)).toEqual(['thumbnail_001.png', 'thumbnail_002.png']);
    for (const o of outputs) {
      const res = await fetch(o.url);
      expect(res.status).toBe(200);
      // served as what it is, under its own name (the README says so)
      expect(res.headers.get('content-type')).toBe('image/png');
      expect(o).toMatchObject({ content_type: 'image/png' });
      expect(res.headers.get('content-disposition')).toContain(`filename="${o.filename}"`);
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.length).toBe(o.size_bytes);
      expect(body.subarray(1, 4).toString()).toBe('PNG');
    }
    // a tampered gateway link is refused (presigned S3 links are S3's to check; s3rver does not)
    if (driver === 'fs') {
      // PUBLIC_BASE_URL unset: the documented default, http://<WS_HOST>:<WS_PORT>
      expect(outputs[0]!.url.startsWith(`${stack.wsUrl.replace(/^ws:/, 'http:')}/files/jobs/`)).toBe(true);
      const forged = outputs[0]!.url.replace(/sig=[^&]+/, 'sig=AAAA');
      expect((await fetch(forged)).status).toBe(403);
      const expired = outputs[0]!.url.replace(/expires=\d+/, 'expires=1000');
      expect((await fetch(expired)).status).toBe(403);
    }
  });
});

describe('a 200 MB round trip', () => {
  const { stack } = useSuite({ stack: { env: { MAX_FILE_SIZE_MB: '400', LOG_LEVEL: 'info' } }, client: false });

  it("moves 200 MB up in 1 MiB chunks and back in chunks with the gateway's memory bounded", async () => {
    const big = join(dir, 'huge.mkv');
    // uncompressed video: 60 s of 320x240 yuv420p at 30 fps is ~207 MB, generated in seconds
    await renderLavfi(big, 'testsrc2=size=320x240:rate=30:duration=60', ['-c:v', 'rawvideo', '-pix_fmt', 'yuv420p']);
    const bytes = await readFile(big);
    expect(bytes.length).toBeGreaterThan(200 * 1000 * 1000);
    const before = (await (await fetch(stack.healthUrl)).json()) as { memory: { rss_bytes: number } };
    const client = await TestClient.connect(stack.wsUrl);
    client.startJob('big', 'remove_audio', { source: 'upload', size_bytes: bytes.length }, {});
    await client.next((m) => m.type === 'ack');
    await uploadInChunks(client, 'big', 'huge.mkv', bytes, MiB);
    const { final } = await client.result('big', 300_000);
    expect(final.type).toBe('completed');
    const out = downloaded(client, 'big', 'output.mkv');
    expect(out.length).toBe((final.outputs as { size_bytes: number }[])[0]!.size_bytes);
    const inVideo = (
      await execa('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', big, '-map', '0:v', '-c', 'copy', '-f', 'md5', '-'])
    ).stdout;
    expect(await packetsMd5(await save(out, 'huge-out.mkv'))).toBe(String(inVideo).trim());
    const health = (await (await fetch(stack.healthUrl)).json()) as { memory: { rss_bytes: number; peak_rss_bytes: number } };
    const peakMb = health.memory.peak_rss_bytes / 1024 / 1024;
    console.log(
      `200 MB round trip: input ${(bytes.length / 1e6).toFixed(0)} MB, gateway RSS before ${(before.memory.rss_bytes / 1048576).toFixed(0)} MiB, peak ${peakMb.toFixed(0)} MiB`,
    );
    expect(peakMb).toBeLessThan(300);
    await client.close();
    expect((await stat(big)).size).toBe(bytes.length);
  });
});
