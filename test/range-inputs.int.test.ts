/**
 * Inputs read by range (issue #12): a thumbnail, probe or trim reads the
 * headers and the part it needs of a URL or a staged upload instead of
 * downloading it whole — through the worker's loopback input server, so
 * ffmpeg still opens no client URL itself. Each way an origin can abuse the
 * range path is refused: a redirect to a loopback address mid-read, an
 * answer larger than asked, a size that changes, an HLS playlist dressed
 * as an .mp4; and an origin that cannot seek is downloaded as before.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { INLINE_OUTPUT_MAX_BYTES } from '@media-foundry/shared';
import { ffprobe, makeTestVideo } from './helpers/media.js';
import {
  cutFirstDownload,
  holdSecondHalf,
  type Origin,
  type RangeLog,
  type VersionLog,
  rangesThenRedirect,
  replacedAfter,
  serveChunked,
  serveFile,
  serveRanges,
  startOrigin,
} from './helpers/origin.js';
import { startStack, type Stack } from './helpers/stack.js';
import { TestClient, uploadInChunks } from './helpers/ws-client.js';
import { useSuite } from './helpers/suite.js';

const { dir } = useSuite({ name: 'range', files: false, stack: false });
let origin: Origin;
let secret: Origin;
let size: number;
const logs: Record<string, RangeLog> = {};
const log = (name: string) => (logs[name] = { requests: [], bytes: 0 });
const versions: Record<string, VersionLog> = {};
const versionLog = (name: string) => (versions[name] = { requests: [] });
versionLog('cut-then-replaced');
/** Lets `/held.mp4` send the second half of its file. */
let releaseHeld!: () => void;
const held = new Promise<void>((resolve) => (releaseHeld = resolve));

beforeAll(async () => {
  // 20 s at ~3 Mbit/s with a keyframe every second: a seek to 0:05 needs about one second of it
  const keyframes = ['-g', '25', '-b:v', '3M', '-maxrate', '3M', '-bufsize', '1M'];
  await Promise.all([
    makeTestVideo(join(dir, 'clip.mp4'), { seconds: 20, width: 640, height: 360, outputArgs: [...keyframes, '-movflags', '+faststart'] }),
    // the index (moov) at the end, as most cameras and encoders leave it
    makeTestVideo(join(dir, 'moov-last.mp4'), { seconds: 20, width: 640, height: 360, outputArgs: keyframes }),
  ]);
  size = (await readFile(join(dir, 'clip.mp4'))).length;
  // cut in its media data: the index at the end is gone
  const moovLast = await readFile(join(dir, 'moov-last.mp4'));
  await writeFile(join(dir, 'cut.mp4'), moovLast.subarray(0, Math.floor(moovLast.length / 2)));
  await execa('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', join(dir, 'clip.mp4'), '-c', 'copy', join(dir, 'clip.mkv')]);
  secret = await startOrigin({ '/secret': (_req, res) => void res.writeHead(200).end('internal') });
  const clip = join(dir, 'clip.mp4');
  // another file of the same length: the clip with a stretch of its media data overwritten (a re-encode, a re-upload)
  const replaced = await readFile(clip);
  replaced.fill(0x55, Math.floor(replaced.length / 3), Math.floor((replaced.length * 2) / 3));
  await writeFile(join(dir, 'replaced.mp4'), replaced);
  moovLast.fill(0x55, Math.floor(moovLast.length / 3), Math.floor(moovLast.length / 2));
  await writeFile(join(dir, 'moov-last-replaced.mp4'), moovLast);
  await writeFile(join(dir, 'playlist.mp4'), '');
  origin = await startOrigin({
    '/clip.mp4': serveRanges(clip, log('clip')),
    '/moov-last.mp4': serveRanges(join(dir, 'moov-last.mp4'), log('moov-last')),
    '/moov-last-again.mp4': serveRanges(join(dir, 'moov-last.mp4'), log('moov-last-again')),
    '/cut.mp4': serveRanges(join(dir, 'cut.mp4'), log('cut')),
    '/redirects.mp4': rangesThenRedirect(clip, 1, secret.url('/secret')),
    '/larger.mp4': serveRanges(clip, log('larger'), (asked, total, hit) =>
      hit === 1 ? { ...asked, total } : { start: asked.start, end: total - 1, total },
    ),
    '/resized.mp4': serveRanges(clip, log('resized'), (asked, total, hit) => ({ ...asked, total: hit === 1 ? total : total * 2 })),
    '/playlist.mp4': serveRanges(join(dir, 'playlist.mp4'), log('playlist')),
    '/clip.mkv': serveRanges(join(dir, 'clip.mkv'), log('mkv')),
    '/held.mp4': holdSecondHalf(join(dir, 'moov-last.mp4'), held, log('held')),
    '/cut-download.mp4': cutFirstDownload(join(dir, 'moov-last.mp4'), 300, log('cut-download')),
    '/no-ranges.mp4': serveFile(clip),
    '/versioned.mp4': replacedAfter([clip, clip], Infinity, versionLog('versioned')),
    '/replaced.mp4': replacedAfter([clip, join(dir, 'replaced.mp4')], 1, versionLog('replaced')),
    '/replaced-ignoring.mp4': replacedAfter([clip, join(dir, 'replaced.mp4')], 1, versionLog('replaced-ignoring'), { ignoreIfRange: true }),
    '/chunked.mp4': serveChunked(clip),
    // the download is cut half way, and the file replaced by another of the same length before the rest is asked for
    '/cut-then-replaced.mp4': cutFirstDownload(join(dir, 'moov-last.mp4'), 300, log('cut-then-replaced'), {
      etag: '"v1"',
      after: (reset) =>
        replacedAfter(
          [join(dir, 'moov-last.mp4'), join(dir, 'moov-last-replaced.mp4')],
          reset ? 0 : Infinity,
          versions['cut-then-replaced']!,
        ),
    }),
  });
  // an HLS playlist served as video/mp4 whose segment is on the origin: ffmpeg must never ask for it
  await writeFile(
    join(dir, 'playlist.mp4'),
    `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n${origin.url('/segment.ts').replace('127.0.0.1', 'localhost')}\n#EXT-X-ENDLIST\n`,
  );
});
afterAll(async () => {
  releaseHeld();
  await origin?.close();
  await secret?.close();
});

/** The origin by host name: URL_ALLOWLIST names `localhost`, so 127.0.0.1 itself stays a forbidden address. */
const url = (path: string) => origin.url(path).replace('127.0.0.1', 'localhost');

const thumbnailAt5 = (jobId: string, path: string) => ({
  type: 'start_job',
  job_id: jobId,
  operation: 'thumbnail',
  input: { source: 'url', url: url(path) },
  options: { timestamp: 5, format: 'png' },
});

describe('URL inputs', () => {
  let stack: Stack;
  let client: TestClient;
  beforeAll(async () => {
    stack = await startStack({ env: { URL_ALLOWLIST: 'localhost' } });
    client = await TestClient.connect(stack.wsUrl);
  });
  afterAll(async () => {
    await client?.close();
    await stack?.stop();
  });

  it('reads a thumbnail at 0:05 by range: a fraction of the file moves, every request asks a range, the image is right', async () => {
    client.send(thumbnailAt5('thumb', '/clip.mp4'));
    const { final, files } = await client.result('thumb', 60_000);
    expect(final.type).toBe('completed');
    expect(final.output_metadata).toMatchObject({ width: 640, height: 360 });
    expect(files.get('thumbnail.png')?.subarray(1, 4).toString()).toBe('PNG');
    expect(logs.clip!.requests.every((r) => r !== null && /^bytes=\d+-\d+$/.test(r))).toBe(true);
    // the header's block and the one or two around 0:05 (the input server answers ffmpeg in 512 KiB windows after a seek)
    expect(logs.clip!.bytes).toBeLessThanOrEqual(4 * 512 * 1024);
    expect(logs.clip!.bytes).toBeLessThan(size * 0.35);
  });

  it('probes by range even with the index at the end of the file', async () => {
    const file = await readFile(join(dir, 'moov-last.mp4'));
    client.send({ type: 'start_job', job_id: 'probe', operation: 'probe', input: { source: 'url', url: url('/moov-last.mp4') } });
    const { final } = await client.result('probe', 60_000);
    expect(final.type).toBe('completed');
    expect(final.output_metadata).toMatchObject({ width: 640, height: 360, size_bytes: file.length });
    expect(Math.abs((final.output_metadata as { duration: number }).duration - 20)).toBeLessThan(0.5);
    expect(logs['moov-last']!.bytes).toBeLessThan(file.length * 0.25);
    // the first block and the index to the end, on its own: not the media data before the index in its block
    const block = 512 * 1024;
    const [first, index, ...more] = logs['moov-last']!.requests;
    expect(first).toBe(`bytes=0-${block - 1}`);
    const from = Number(/^bytes=(\d+)-(\d+)$/.exec(index ?? '')?.[1]);
    expect(index).toBe(`bytes=${from}-${file.length - 1}`);
    expect(from % block).not.toBe(0);
    expect(more).toEqual([]);
  });

  /** How many jobs so far were planned from an MP4 header read in-process (the worker knows jobs by its own ids, so: a count). */
  const describedInProcess = () =>
    stack.workers[0]!.logs.filter((l) => l.msg === 'input described from its MP4 header, without ffprobe').length;

  it('plans a thumbnail of an MP4 with its index at the end from its header boxes, without an ffprobe process', async () => {
    const file = await readFile(join(dir, 'moov-last.mp4'));
    const before = describedInProcess();
    client.send(thumbnailAt5('moov-thumb', '/moov-last-again.mp4'));
    const { final, files } = await client.result('moov-thumb', 60_000);
    expect(final.type).toBe('completed');
    expect(final.output_metadata).toMatchObject({ width: 640, height: 360 });
    expect(files.get('thumbnail.png')?.subarray(1, 4).toString()).toBe('PNG');
    expect(describedInProcess()).toBe(before + 1);
    // the worker's own header reads go through the job's blocks: the first block, the index's at the end and those around 0:05
    expect(logs['moov-last-again']!.bytes).toBeLessThanOrEqual(5 * 512 * 1024);
    expect(logs['moov-last-again']!.bytes).toBeLessThan(file.length * 0.35);
    // the probe operation answers with ffprobe's output, as before
    client.send({ type: 'start_job', job_id: 'probe-again', operation: 'probe', input: { source: 'url', url: url('/moov-last.mp4') } });
    expect((await client.result('probe-again', 60_000)).final.type).toBe('completed');
    expect(describedInProcess()).toBe(before + 1);
  });

  it('fails an MP4 cut before its index as before: the header reader leaves it to ffprobe', async () => {
    const before = describedInProcess();
    client.send(thumbnailAt5('cut', '/cut.mp4'));
    const { final } = await client.result('cut', 60_000);
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Input is not a readable media file' });
    expect(describedInProcess()).toBe(before);
  });

  it('refuses a redirect to a loopback address in the middle of the read, and never asks there', async () => {
    client.send(thumbnailAt5('redirect', '/redirects.mp4'));
    const { final } = await client.result('redirect', 60_000);
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Input URL is not allowed' });
    expect(final.details).toMatch(/redirected a range request/);
    expect(final.details).not.toMatch(/127\.0\.0\.1:\d+\/[0-9a-f]{32}/); // the input server's address stays private
    expect(secret.hits('/secret')).toBe(0);
  });

  it('refuses a range answer larger than asked', async () => {
    client.send(thumbnailAt5('larger', '/larger.mp4'));
    const { final } = await client.result('larger', 60_000);
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Input changed while being read' });
    expect(final.details).toMatch(/answered bytes \d+-\d+ to a request for bytes \d+-\d+/);
  });

  it('refuses an origin that declares another size part way through', async () => {
    client.send(thumbnailAt5('resized', '/resized.mp4'));
    const { final } = await client.result('resized', 60_000);
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Input changed while being read' });
    expect(final.details).toContain(`first declared ${size} bytes, then ${size * 2}`);
  });

  it("asks every read after the first for the version of the file first read (If-Range: the origin's ETag)", async () => {
    client.send(thumbnailAt5('versioned', '/versioned.mp4'));
    const { final, files } = await client.result('versioned', 60_000);
    expect(final.type).toBe('completed');
    expect(files.get('thumbnail.png')!.subarray(1, 4).toString()).toBe('PNG');
    const [first, ...later] = versions.versioned!.requests;
    expect(first?.ifRange).toBeNull();
    expect(later.length).toBeGreaterThan(0);
    for (const r of later) expect(r).toMatchObject({ range: expect.stringMatching(/^bytes=\d+-\d+$/), ifRange: '"v1"' });
  });

  it('refuses a file replaced part way through by another of the same length: the origin answers the If-Range whole', async () => {
    client.send(thumbnailAt5('replaced', '/replaced.mp4'));
    const { final } = await client.result('replaced', 60_000);
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Input changed while being read' });
    expect(final.details).toContain('HTTP 200: the file is no longer the one first read (If-Range "v1")');
  });

  it('refuses a replaced file from an origin that ignores If-Range but names the new ETag', async () => {
    client.send(thumbnailAt5('replaced-ignoring', '/replaced-ignoring.mp4'));
    const { final } = await client.result('replaced-ignoring', 60_000);
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Input changed while being read' });
    expect(final.details).toContain('the origin first sent the file with ETag "v1", then with "v2"');
  });

  it('refuses an HLS playlist dressed as an .mp4, and its segment is never fetched', async () => {
    client.send(thumbnailAt5('hls', '/playlist.mp4'));
    const { final } = await client.result('hls', 60_000);
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED' });
    expect(logs.playlist!.requests.length).toBeGreaterThan(0); // it was read by range…
    expect(origin.hits('/segment.ts')).toBe(0); // …and went no further
  });

  it.each([
    ['without ranges', '/no-ranges.mp4'],
    ['chunked, without a length', '/chunked.mp4'],
  ])('downloads an origin that cannot seek (%s) from its one answer, and still completes the seek', async (_what, path) => {
    const jobId = `whole-${path.slice(1, 4)}`;
    client.send(thumbnailAt5(jobId, path));
    const { final, files } = await client.result(jobId, 60_000);
    expect(final.type).toBe('completed');
    const png = join(dir, `${jobId}.png`);
    await writeFile(png, files.get('thumbnail.png')!);
    expect((await ffprobe(png)).video).toMatchObject({ width: 640, height: 360 });
    expect(origin.hits(path)).toBe(1); // the answer to the range request was the download
  });

  describe('operations that read all of it: ffmpeg reads it while it downloads', () => {
    const compress = (jobId: string, path: string) => ({
      type: 'start_job',
      job_id: jobId,
      operation: 'compress',
      input: { source: 'url', url: url(path) },
      options: { preset: 'low' },
    });
    const downloads = (name: string) => logs[name]!.requests.filter((r) => r !== null && /^bytes=\d+-$/.test(r)).length;

    it('encodes the first half of an MP4 (its index at the end) while the origin still holds back the second', async () => {
      client.send(compress('held', '/held.mp4'));
      // ffmpeg's own progress: frames encoded from the half that came, the index read ahead by range
      await client.next(
        (m) => m.job_id === 'held' && m.type === 'progress' && m.stage === 'processing' && Number(m.percentage) > 0,
        60_000,
      );
      expect(downloads('held')).toBe(1);
      releaseHeld();
      const { final, files } = await client.result('held', 90_000);
      expect(final.type).toBe('completed');
      const out = join(dir, 'held-out.mp4');
      await writeFile(out, files.get('output.mp4')!);
      const info = await ffprobe(out);
      expect(info.video).toMatchObject({ width: 640, height: 360 });
      expect(Math.abs(info.duration - 20)).toBeLessThan(0.5);
      expect(downloads('held')).toBe(1); // one download; the reads ahead asked bounded ranges
    });

    it('goes on from where a download was cut, within the job: ffmpeg waits for the rest, nothing is handed back', async () => {
      client.send(compress('cut-download', '/cut-download.mp4'));
      const { final, files, items } = await client.result('cut-download', 120_000);
      expect(final.type).toBe('completed');
      const out = join(dir, 'cut-download.mp4');
      await writeFile(out, files.get('output.mp4')!);
      expect(Math.abs((await ffprobe(out)).duration - 20)).toBeLessThan(0.5);
      const progress = items.flatMap((r) => (r.kind === 'json' && r.data.type === 'progress' ? [r.data] : []));
      expect(progress.some((p) => p.stage === 'retrying' && String(p.message).includes('downloading the input'))).toBe(true);
      expect(progress.some((p) => String(p.message).includes('another worker'))).toBe(false);
      // the rest asked for from where the cut left it: past the start, at most the half the origin sent
      const file = await readFile(join(dir, 'moov-last.mp4'));
      const resumedAt = logs['cut-download']!.requests.flatMap((r) => {
        const m = r === null ? null : /^bytes=(\d+)-(\d+)$/.exec(r);
        return m && Number(m[2]) === file.length - 1 && Number(m[1]) <= file.length / 2 ? [Number(m[1])] : [];
      });
      expect(resumedAt).toHaveLength(1);
      expect(resumedAt[0]).toBeGreaterThan(0);
      expect(downloads('cut-download')).toBe(1);
    });

    it('refuses to go on from a cut when the file was replaced meanwhile (If-Range): no output of two files', async () => {
      client.send(compress('cut-then-replaced', '/cut-then-replaced.mp4'));
      const { final } = await client.result('cut-then-replaced', 120_000);
      expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Input changed while being read' });
      expect(final.details).toContain('If-Range "v1"');
      // the resume: the rest from where the cut left it (past the start, at most the half the origin sent), asked of "v1"
      const size = (await readFile(join(dir, 'moov-last.mp4'))).length;
      const resumes = versions['cut-then-replaced']!.requests.filter((r) => {
        const m = r.range === null ? null : /^bytes=(\d+)-(\d+)$/.exec(r.range);
        return m !== null && Number(m[2]) === size - 1 && Number(m[1]) > 0 && Number(m[1]) <= size / 2;
      });
      expect(resumes).toEqual([expect.objectContaining({ ifRange: '"v1"' })]);
    });

    it('waits for the whole file when it is not an MP4 described from its header (Matroska), then compresses it', async () => {
      client.send(compress('mkv', '/clip.mkv'));
      const { final } = await client.result('mkv', 90_000);
      expect(final).toMatchObject({ type: 'completed', output_metadata: { width: 640, height: 360 } });
      expect(downloads('mkv')).toBe(1);
    });

    it('refuses an HLS playlist dressed as an .mp4, and its segment is never fetched', async () => {
      client.send(compress('hls-compress', '/playlist.mp4'));
      const { final } = await client.result('hls-compress', 60_000);
      expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Input is not a readable media file' });
      expect(origin.hits('/segment.ts')).toBe(0);
    });

    it.each([
      ['without ranges', '/no-ranges.mp4'],
      ['chunked, without a length', '/chunked.mp4'],
    ])('compresses from an origin that cannot seek (%s)', async (_what, path) => {
      const jobId = `compress-${path.slice(1, 4)}`;
      client.send(compress(jobId, path));
      const { final } = await client.result(jobId, 90_000);
      expect(final).toMatchObject({ type: 'completed', output_metadata: { width: 640, height: 360 } });
    });
  });
});

describe('staged uploads in S3', () => {
  const { s3, stack } = useSuite({ s3: true, client: false });

  it('trims an upload read by ranged GetObject, not copied whole', async () => {
    const client = await TestClient.connect(stack.wsUrl);
    const bytes = await readFile(join(dir, 'clip.mp4'));
    client.startJob('trim', 'trim', { source: 'upload' }, { start_time: 4, end_time: 6 });
    await client.next((m) => m.type === 'ack');
    await uploadInChunks(client, 'trim', 'clip.mp4', bytes);
    const { final, files } = await client.result('trim', 60_000);
    expect(final.type).toBe('completed');
    const out = join(dir, 'trim.mp4');
    await writeFile(out, files.get('output.mp4')!);
    expect(Math.abs((await ffprobe(out)).duration - 2)).toBeLessThan(0.3);
    const reads = s3.recorded.filter((r) => r.method === 'GET' && r.url.includes('/input/clip.mp4'));
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((r) => r.range !== null)).toBe(true);
    await client.close();
  });

  it('compresses an upload while it is read from storage: one GetObject for the whole, its index read ahead by range', async () => {
    const client = await TestClient.connect(stack.wsUrl);
    const bytes = await readFile(join(dir, 'moov-last.mp4'));
    client.startJob('compress-upload', 'compress', { source: 'upload' }, { preset: 'low' });
    await client.next((m) => m.type === 'ack');
    await uploadInChunks(client, 'compress-upload', 'moov-last.mp4', bytes);
    const { final, files } = await client.result('compress-upload', 90_000);
    expect(final.type).toBe('completed');
    const out = join(dir, 'compress-upload.mp4');
    await writeFile(out, files.get('output.mp4')!);
    expect(Math.abs((await ffprobe(out)).duration - 20)).toBeLessThan(0.5);
    const reads = s3.recorded.filter((r) => r.method === 'GET' && r.url.includes('/input/moov-last.mp4'));
    expect(reads.filter((r) => r.range === null)).toHaveLength(1);
    // the moov, at the end, read ahead of the download: ffmpeg does not wait for the last byte to start
    const moovAt = bytes.lastIndexOf('moov') - 4;
    const starts = reads.flatMap((r) => (r.range === null ? [] : [Number(/^bytes=(\d+)-/.exec(r.range)![1])]));
    expect(starts.length).toBeGreaterThan(0);
    expect(starts.every((start) => start > moovAt - 512 * 1024 && start <= moovAt)).toBe(true);
    await client.close();
  });

  it('goes on from where storage cut the read of an upload, within the job', async () => {
    const client = await TestClient.connect(stack.wsUrl);
    const bytes = await readFile(join(dir, 'moov-last.mp4'));
    s3.cutNextWholeGet('/input/cut-upload.mp4');
    client.startJob('cut-upload', 'compress', { source: 'upload' }, { preset: 'low' });
    await client.next((m) => m.type === 'ack');
    await uploadInChunks(client, 'cut-upload', 'cut-upload.mp4', bytes);
    const { final, files, items } = await client.result('cut-upload', 90_000);
    expect(final.type).toBe('completed');
    const out = join(dir, 'cut-upload-out.mp4');
    await writeFile(out, files.get('output.mp4')!);
    expect(Math.abs((await ffprobe(out)).duration - 20)).toBeLessThan(0.5);
    const progress = items.flatMap((r) => (r.kind === 'json' && r.data.type === 'progress' ? [r.data] : []));
    expect(progress.some((p) => p.stage === 'retrying' && String(p.message).includes('downloading the input'))).toBe(true);
    const reads = s3.recorded.filter((r) => r.method === 'GET' && r.url.includes('/input/cut-upload.mp4'));
    expect(reads.filter((r) => r.range === null)).toHaveLength(1);
    // the rest by range from where the cut left it: past the start, at most the half that came
    const resumedAt = reads.flatMap((r) => {
      const m = r.range === null ? null : /^bytes=(\d+)-(\d+)$/.exec(r.range);
      return m && Number(m[2]) === bytes.length - 1 && Number(m[1]) <= bytes.length / 2 ? [Number(m[1])] : [];
    });
    expect(resumedAt).toHaveLength(1);
    expect(resumedAt[0]).toBeGreaterThan(0);
    await client.close();
  });

  it('relays a small output with its reply: stored by the worker, sent without a read of storage', async () => {
    const client = await TestClient.connect(stack.wsUrl);
    const bytes = await readFile(join(dir, 'clip.mp4'));
    client.startJob('thumb', 'thumbnail', { source: 'upload' }, { timestamp: 3, format: 'png' });
    await client.next((m) => m.type === 'ack');
    await uploadInChunks(client, 'thumb', 'clip.mp4', bytes);
    const { final, files } = await client.result('thumb', 60_000);
    expect(final).toMatchObject({ type: 'completed', outputs: [{ filename: 'thumbnail.png' }] });
    expect(final).not.toHaveProperty('inline');
    const png = files.get('thumbnail.png')!;
    expect(png.length).toBe((final as { outputs: { size_bytes: number }[] }).outputs[0]!.size_bytes);
    const out = join(dir, 'relayed.png');
    await writeFile(out, png);
    expect((await ffprobe(out)).video).toMatchObject({ width: 640, height: 360 });
    // stored before the reply (a resume elsewhere reads it there), never read back for this delivery
    expect(outputRequests('thumbnail.png')).toContain('PUT');
    expect(outputRequests('thumbnail.png')).not.toContain('GET');
    // an output over INLINE_OUTPUT_MAX_BYTES goes the usual way: the gateway reads it from storage
    client.startJob('big', 'convert', { source: 'upload' }, { target_format: 'mkv', stream_copy: true });
    await client.next((m) => m.type === 'ack');
    await uploadInChunks(client, 'big', 'clip.mp4', bytes);
    const big = await client.result('big', 60_000);
    expect(big.final).toMatchObject({ type: 'completed', outputs: [{ filename: 'output.mkv' }] });
    expect((big.final as { outputs: { size_bytes: number }[] }).outputs[0]!.size_bytes).toBeGreaterThan(INLINE_OUTPUT_MAX_BYTES);
    expect(big.files.get('output.mkv')!.length).toBe((big.final as { outputs: { size_bytes: number }[] }).outputs[0]!.size_bytes);
    expect(outputRequests('output.mkv')).toEqual(expect.arrayContaining(['PUT', 'GET']));
    await client.close();
  });

  /** The methods of the storage requests made for an output file named `filename` (any job). */
  function outputRequests(filename: string): string[] {
    return s3.recorded.filter((r) => r.url.split('?')[0]!.endsWith(`/output/${filename}`)).map((r) => r.method);
  }
});
