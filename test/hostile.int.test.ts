/**
 * Bounded under hostile load (issue 19, the worker's side): each finding
 * reproduced with real processes, and the bound asserted.
 * - decompression bombs: a PNG and a 122-byte SVG declaring 16000×16000 are
 *   refused from their headers; the peak RSS of every ffprobe/ffmpeg the
 *   worker ran is measured (/usr/bin/time wraps the binaries);
 * - orphaned downloads: a job whose first URL is a 404 while the others
 *   stream without end; the test's own origin counts the sockets left open,
 *   and TEMP_DIR is listed;
 * - a per-job input budget: three endless URLs stop at MAX_JOB_INPUT_MB;
 * - trickling origins: one byte every half second fails the job within a
 *   rate window, and four such jobs no longer starve another client's job;
 * - paths in errors: ffprobe's words about a broken input name "the input"
 *   or "input 2", never the worker's temp dir or the job's internal id.
 */
import { chmod, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { gifBomb, makeTestVideo, pngBomb, svgBomb } from './helpers/media.js';
import { endless, type Origin, serveFile, startOrigin, status, trickle } from './helpers/origin.js';
import { waitFor } from './helpers/wait.js';
import { TestClient } from './helpers/ws-client.js';
import { useSuite } from './helpers/suite.js';

const { dir, files } = useSuite({
  name: 'hostile',
  fixtures: async (dir) => {
    await writeFile(join(dir, 'bomb.png'), pngBomb(16000, 16000));
    await writeFile(join(dir, 'bomb.svg'), svgBomb(16000, 16000));
    await writeFile(join(dir, 'bomb.gif'), gifBomb(16000, 16000));
  },
  stack: false,
});

/** `ffmpeg`/`ffprobe` wrapped by /usr/bin/time: each run appends "<tool> <peak RSS in KiB>" to `log`. */
async function measuredTool(tool: 'ffmpeg' | 'ffprobe', log: string): Promise<string> {
  const path = join(dir, `${tool}-measured`);
  await writeFile(path, `#!/bin/sh\nexec /usr/bin/time -a -o '${log}' -f '${tool} %M' ${tool} "$@"\n`);
  await chmod(path, 0o755);
  return path;
}

/** The runs a measured tool logged: which tool, and its peak RSS in MiB. */
async function runsIn(log: string): Promise<{ tool: string; peakMb: number }[]> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return [...text.matchAll(/^(ffmpeg|ffprobe) (\d+)$/gm)].map((m) => ({ tool: m[1]!, peakMb: Number(m[2]) / 1024 }));
}

describe('decompression bombs in probing', () => {
  const log = join(dir, 'runs.log');
  beforeEach(async () => {
    await rm(log, { force: true });
  });
  const { client } = useSuite({
    stack: async () => ({
      workerEnv: { FFPROBE_PATH: await measuredTool('ffprobe', log), FFMPEG_PATH: await measuredTool('ffmpeg', log) },
    }),
  });

  it('the SVG is a real bomb: ffprobe without a pixel ceiling takes over 500 MB for it', async () => {
    await execa(await measuredTool('ffprobe', log), ['-v', 'error', '-show_streams', join(dir, 'bomb.svg')]);
    const [run] = await runsIn(log);
    expect(run?.peakMb).toBeGreaterThan(500);
  });

  it.each(['bomb.png', 'bomb.svg'])('refuses %s from its headers, naming MAX_INPUT_PIXELS, without decoding it', async (name) => {
    const started = Date.now();
    client.send({ type: 'start_job', job_id: 'bomb', operation: 'probe', input: { source: 'url', url: files.url(name) } });
    const { final } = await client.result('bomb');
    const elapsed = Date.now() - started;
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Input resolution is too large' });
    expect(final.details).toBe('the input is 16000x16000; MAX_INPUT_PIXELS allows 33177600 pixels');
    // well under a second on an idle machine; the bound is generous for a loaded one
    expect(elapsed).toBeLessThan(5000);
    const runs = await runsIn(log);
    expect(runs.map((r) => r.tool)).toEqual(['ffprobe']);
    // decoding would take 1 GB (SVG) or 2 GB (PNG); refused from the header it is ffprobe's own size
    for (const run of runs) expect(run.peakMb).toBeLessThan(200);
  });

  it('refuses a GIF declaring 16000x16000 from its blocks, read in-process: neither ffprobe nor ffmpeg runs', async () => {
    client.send({ type: 'start_job', job_id: 'gif-bomb', operation: 'thumbnail', input: { source: 'url', url: files.url('bomb.gif') } });
    const { final } = await client.result('gif-bomb');
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Input resolution is too large' });
    expect(final.details).toBe('the input is 16000x16000; MAX_INPUT_PIXELS allows 33177600 pixels');
    expect(await runsIn(log)).toEqual([]);
  });

  it('probes the inputs of a job one at a time and stops at the first bomb', async () => {
    client.startJob('bombs', 'concat', { source: 'url', urls: [files.url('bomb.png'), files.url('bomb.svg'), files.url('bomb.png')] });
    const { final } = await client.result('bombs');
    expect(final).toMatchObject({ code: 'JOB_FAILED', message: 'Input resolution is too large' });
    expect(final.details).toMatch(/^input 1 is 16000x16000; MAX_INPUT_PIXELS/);
    const runs = await runsIn(log);
    expect(runs.map((r) => r.tool)).toEqual(['ffprobe']);
    for (const run of runs) expect(run.peakMb).toBeLessThan(200);
  });
});

describe('downloads', () => {
  let origin: Origin;
  const WINDOW_SECONDS = 3;
  beforeAll(async () => {
    await makeTestVideo(join(dir, 'clip.mp4'), { seconds: 1, width: 160, height: 120 });
    await writeFile(join(dir, 'junk.mp4'), randomBytes(64 * 1024));
    origin = await startOrigin({
      '/missing.mp4': status(404),
      '/endless.mp4': endless(),
      // 160 KiB/s: above the minimum rate, and 6 MiB take a while
      '/steady.mp4': endless(16 * 1024, 100),
      '/trickle.mp4': trickle(1_000_000, 500),
      '/clip.mp4': serveFile(join(dir, 'clip.mp4')),
      '/junk.mp4': serveFile(join(dir, 'junk.mp4')),
    });
  });
  const { stack, client } = useSuite({
    stack: { env: { MAX_FILE_SIZE_MB: '4', MAX_JOB_INPUT_MB: '6', URL_MIN_RATE_WINDOW_SECONDS: String(WINDOW_SECONDS) } },
  });
  afterAll(async () => {
    await origin?.close();
  });

  const tempDirEntries = () => readdir(stack.tempDir).catch(() => [] as string[]);
  const concat = (jobId: string, paths: string[]) => ({
    type: 'start_job',
    job_id: jobId,
    operation: 'concat',
    input: { source: 'url', urls: paths.map((p) => origin.url(p)) },
  });

  /** Open file descriptors of the (only) worker process. */
  const workerFds = async () => (await readdir(`/proc/${stack.workers[0]!.pid}/fd`)).length;

  it('ends every download of a failed job, and answers with the real cause', async () => {
    const fdsBefore = await workerFds();
    const ids = Array.from({ length: 10 }, (_, i) => `orphans-${i + 1}`);
    for (const id of ids) client.send(concat(id, ['/missing.mp4', '/endless.mp4', '/endless.mp4']));
    for (const id of ids) {
      const { final } = await client.result(id);
      expect(final).toMatchObject({ code: 'JOB_FAILED', message: 'Could not download the input URL', details: 'HTTP 404 Not Found' });
    }
    // the worker closes its side of each endless download as the job ends, not after URL_FETCH_TIMEOUT_SECONDS
    await waitFor(() => origin.openSockets() === 0, 5000, 'every download socket closed');
    expect(await tempDirEntries()).toEqual([]);
    // no file or socket of theirs left open in the worker (a few of its own come and go)
    expect(await workerFds()).toBeLessThanOrEqual(fdsBefore + 3);
  });

  it('ends every download of a cancelled job', async () => {
    client.send(concat('cancelled', ['/steady.mp4', '/steady.mp4']));
    await waitFor(() => origin.openSockets() === 2, 10_000, 'both downloads running');
    client.send({ type: 'cancel_job', job_id: 'cancelled' });
    const { final } = await client.result('cancelled');
    expect(final).toMatchObject({ code: 'JOB_CANCELLED' });
    await waitFor(() => origin.openSockets() === 0, 5000, 'every download socket closed');
    // the gateway answers a cancel at once; the worker removes the temp dir once every download has settled
    await waitFor(async () => (await tempDirEntries()).length === 0, 5000, 'the job temp dir removed');
  });

  it("bounds the sum of a job's inputs by MAX_JOB_INPUT_MB", async () => {
    client.send(concat('budget', ['/endless.mp4', '/endless.mp4', '/endless.mp4']));
    const { final } = await client.result('budget');
    // each input alone stays under MAX_FILE_SIZE_MB (4 MiB); together they pass 6 MiB
    expect(final).toMatchObject({
      code: 'JOB_FAILED',
      message: 'Inputs are too large',
      details: "the job's inputs add up to more than MAX_JOB_INPUT_MB (6 MiB)",
    });
    await waitFor(() => origin.openSockets() === 0, 5000, 'every download socket closed');
    expect(await tempDirEntries()).toEqual([]);
  });

  it('fails a trickling origin within a rate window, without retrying it', async () => {
    const hitsBefore = origin.hits('/trickle.mp4');
    const started = Date.now();
    client.send({ type: 'start_job', job_id: 'trickle', operation: 'probe', input: { source: 'url', url: origin.url('/trickle.mp4') } });
    const { final } = await client.result('trickle');
    expect(final).toMatchObject({ code: 'JOB_FAILED', message: 'Input download is too slow' });
    expect(final.details).toMatch(/^the input URL sent \d+ bytes in 3s; URL_MIN_BYTES_PER_SECOND asks for at least 32768 bytes a second$/);
    // one window (3 s) and a little; generous for a loaded machine, far below FFMPEG_STALL_SECONDS (120) and URL_FETCH_TIMEOUT_SECONDS (300)
    expect(Date.now() - started).toBeLessThan(WINDOW_SECONDS * 1000 + 7000);
    expect(origin.hits('/trickle.mp4') - hitsBefore).toBe(1);
    await waitFor(() => origin.openSockets() === 0, 5000, 'the trickling socket closed');
  });

  it("lets another client's job through while trickling jobs hold every slot", async () => {
    // MAX_CONCURRENT_JOBS (4) jobs of one client, each on an origin that trickles
    const ids = ['slow-1', 'slow-2', 'slow-3', 'slow-4'];
    for (const id of ids)
      client.send({ type: 'start_job', job_id: id, operation: 'probe', input: { source: 'url', url: origin.url('/trickle.mp4') } });
    await waitFor(() => origin.openSockets() === 4, 10_000, 'all four slots downloading');
    const other = await TestClient.connect(stack.wsUrl);
    try {
      const started = Date.now();
      other.send({ type: 'start_job', job_id: 'quick', operation: 'probe', input: { source: 'url', url: origin.url('/clip.mp4') } });
      const { final } = await other.result('quick');
      expect(final).toMatchObject({ type: 'completed' });
      // the trickling jobs give their slots back within a rate window (they could hold them 300 s before)
      expect(Date.now() - started).toBeLessThan(WINDOW_SECONDS * 1000 + 10_000);
    } finally {
      await other.close();
    }
    for (const id of ids) expect((await client.result(id)).final).toMatchObject({ message: 'Input download is too slow' });
  });

  it('names inputs as the client knows them in error details, never by server path', async () => {
    client.send({ type: 'start_job', job_id: 'junk', operation: 'probe', input: { source: 'url', url: origin.url('/junk.mp4') } });
    client.send(concat('junk-2', ['/clip.mp4', '/junk.mp4']));
    const one = (await client.result('junk')).final;
    const two = (await client.result('junk-2')).final;
    expect(one).toMatchObject({ code: 'JOB_FAILED', message: 'Input is not a readable media file' });
    expect(one.details).toMatch(/(^|\n)the input: Invalid data found when processing input$/);
    expect(two).toMatchObject({ code: 'JOB_FAILED' });
    expect(two.details).toMatch(/(^|\n)input 2: Invalid data found when processing input$/);
    for (const final of [one, two]) {
      expect(JSON.stringify(final)).not.toContain(stack.tempDir);
      // no path, and no heap address from ffmpeg's log prefixes
      expect(String(final.details)).not.toMatch(/\/|0x[0-9a-f]{6,}/);
    }
  });
});
