import { getEventListeners } from 'node:events';
import { splitBinaryFrame } from '@media-foundry/shared';
import { type FileSaver, Job, type JobHost } from './job.js';

const metadata = {
  format: 'mp4',
  duration: 1,
  size_bytes: 6,
  video_codec: 'h264',
  audio_codec: null,
  width: 2,
  height: 2,
  bitrate: null,
  fps: 25,
};

function fakeHost() {
  const sent: Record<string, unknown>[] = [];
  const frames: { header: Record<string, unknown>; payload: Uint8Array }[] = [];
  const host: JobHost = {
    send: (m) => (sent.push(m as Record<string, unknown>), true),
    sendBinary: (f) => {
      const { header, payload } = splitBinaryFrame(f);
      frames.push({ header: header as Record<string, unknown>, payload });
      return true;
    },
    chunkBytes: 4,
    windowBytes: 8,
    saver: undefined,
    pauseReading: () => undefined,
    resumeReading: () => undefined,
    ended: () => undefined,
  };
  return { host, sent, frames };
}

function urlJob(host: JobHost): Job {
  const job = new Job(
    host,
    'speed',
    { operation: 'speed', options: {}, input: { source: 'url', url: 'http://x/a.mp4' }, delivery_method: 'binary' } as never,
    'j1',
    {},
  );
  job.begin(null);
  return job;
}

const completed = {
  type: 'completed' as const,
  job_id: 'j1',
  output_metadata: metadata,
  outputs: [{ filename: 'out.mp4', size_bytes: 6, content_type: 'video/mp4' }],
  delivery_method: 'binary' as const,
  message: 'ok',
};
const chunk = (offset: number, bytes: number[], final: boolean) =>
  [{ job_id: 'j1', filename: 'out.mp4', offset, final, total_size: 6 }, new Uint8Array(bytes)] as const;

describe('Job', () => {
  it('reassembles a chunked download in memory', async () => {
    const { host } = fakeHost();
    const job = urlJob(host);
    job.onMessage({ type: 'ack', job_id: 'j1', message: 'ok', resume_token: 't1' });
    job.onMessage(completed);
    job.onBinary(...chunk(0, [1, 2, 3], false));
    job.onBinary(...chunk(3, [4, 5, 6], true));
    const [output] = await job.result();
    expect([...output!.data!]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(output).toMatchObject({ filename: 'out.mp4', contentType: 'video/mp4', size: 6 });
  });

  it('after a reconnect, resumes with the token; a delivery cut midway starts over and resolves once', async () => {
    const { host, sent } = fakeHost();
    const job = urlJob(host);
    let done = 0;
    job.on('done', () => done++);
    job.onMessage({ type: 'ack', job_id: 'j1', message: 'ok', resume_token: 't1' });
    job.onMessage({ type: 'progress', job_id: 'j1', percentage: 60, stage: 'processing' });
    job.onMessage(completed);
    job.onBinary(...chunk(0, [9, 9, 9], false));
    job.onDisconnected();
    job.onReconnected();
    expect(sent.at(-1)).toEqual({ type: 'resume_job', job_id: 'j1', resume_token: 't1' });
    // the resumed state repeats an older percentage: the caller never sees it go back (100 since `completed`)
    const seen: number[] = [];
    job.on('progress', (p) => seen.push(p.percentage));
    job.onMessage({ type: 'progress', job_id: 'j1', percentage: 40, stage: 'processing' });
    expect(seen).toEqual([100]);
    job.onMessage(completed);
    job.onBinary(...chunk(0, [1, 2, 3], false));
    job.onBinary(...chunk(3, [4, 5, 6], true));
    const [output] = await job.result();
    expect([...output!.data!]).toEqual([1, 2, 3, 4, 5, 6]);
    job.onMessage(completed);
    expect(done).toBe(1);
  });

  it('fails the job, not the process, when an output is too large to keep in memory', async () => {
    const { host } = fakeHost();
    const job = urlJob(host);
    job.onMessage({ type: 'ack', job_id: 'j1', message: 'ok', resume_token: 't1' });
    job.onMessage({ ...completed, outputs: [{ filename: 'out.wav', size_bytes: 2 ** 33, content_type: 'audio/wav' }] });
    expect(() =>
      job.onBinary({ job_id: 'j1', filename: 'out.wav', offset: 0, final: false, total_size: 2 ** 33 }, new Uint8Array(4)),
    ).not.toThrow();
    await expect(job.result()).rejects.toMatchObject({ code: 'OUTPUT_ERROR', details: expect.stringMatching(/saveTo/) });
  });

  it("lets go of the caller's AbortSignal once it ends", async () => {
    const { host } = fakeHost();
    const controller = new AbortController();
    const job = new Job(
      host,
      'speed',
      { operation: 'speed', options: {}, input: { source: 'url', url: 'http://x/a.mp4' }, delivery_method: 'binary' } as never,
      'j1',
      { signal: controller.signal },
    );
    job.begin(null);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    job.onMessage({ type: 'ack', job_id: 'j1', message: 'ok', resume_token: 't1' });
    job.onMessage(completed);
    job.onBinary(...chunk(0, [1, 2, 3, 4, 5, 6], true));
    await job.result();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('does not resume a job whose every byte came before the drop, while the disk catches up: the files are kept', async () => {
    const { host, sent } = fakeHost();
    const writes: (() => void)[] = [];
    const events: string[] = [];
    const saving: JobHost = {
      ...host,
      saver: {
        openSink: (dir: string, name: string) =>
          Promise.resolve({
            path: `${dir}/${name}`,
            write: () => new Promise<void>((resolve) => writes.push(resolve)), // a slow disk
            close: () => (events.push('close'), Promise.resolve()),
            abort: () => (events.push('abort'), Promise.resolve()),
          }),
      } as unknown as FileSaver,
    };
    const job = new Job(
      saving,
      'speed',
      { operation: 'speed', options: {}, input: { source: 'url', url: 'http://x/a.mp4' }, delivery_method: 'binary' } as never,
      'j1',
      { saveTo: '/tmp/out' },
    );
    job.begin(null);
    job.onMessage({ type: 'ack', job_id: 'j1', message: 'ok', resume_token: 't1' });
    job.onMessage(completed);
    job.onBinary(...chunk(0, [1, 2, 3, 4, 5, 6], true));
    job.onDisconnected();
    job.onReconnected();
    expect(sent.filter((m) => m.type === 'resume_job')).toEqual([]);
    while (writes.length === 0) await new Promise((r) => setTimeout(r, 1));
    for (const write of writes.splice(0)) write();
    const [output] = await job.result();
    expect(output).toMatchObject({ filename: 'out.mp4', path: '/tmp/out/out.mp4' });
    expect(events).toEqual(['close']);
  });

  const twelveBytes = () => ({
    filename: 'a.mp4',
    size: 12,
    restartable: true,
    async *chunks() {
      for (let i = 0; i < 3; i++) yield new Uint8Array(4).fill(i);
    },
  });
  const uploadJob = (host: JobHost) => {
    const job = new Job(
      host,
      'probe',
      { operation: 'probe', options: {}, input: { source: 'upload' }, delivery_method: 'binary' } as never,
      'j1',
      {},
    );
    job.begin([twelveBytes()]);
    return job;
  };

  it('sends no more than the window beyond the last upload_ack; a cut upload starts again from the first byte', async () => {
    const { host, sent, frames } = fakeHost();
    const job = uploadJob(host);
    expect(sent).toEqual([expect.objectContaining({ type: 'start_job', job_id: 'j1' })]);
    job.onMessage({ type: 'ack', job_id: 'j1', message: 'send', resume_token: 't1' });
    await new Promise((r) => setTimeout(r, 10));
    // 8 bytes of window: the third chunk waits for an ack
    expect(frames.map((f) => f.header)).toEqual([
      { job_id: 'j1', filename: 'a.mp4', offset: 0, final: false },
      { job_id: 'j1', filename: 'a.mp4', offset: 4, final: false },
    ]);
    job.onDisconnected();
    job.onReconnected();
    expect(sent.map((m) => m.type)).toEqual(['start_job', 'start_job']);
    job.onMessage({ type: 'ack', job_id: 'j1', message: 'send', resume_token: 't2' });
    await new Promise((r) => setTimeout(r, 10));
    job.onMessage({ type: 'upload_ack', job_id: 'j1', filename: 'a.mp4', received_bytes: 4 });
    await new Promise((r) => setTimeout(r, 10));
    expect(frames.slice(2).map((f) => [f.header.offset, f.header.final])).toEqual([
      [0, false],
      [4, false],
      [8, true],
    ]);
    // all sent, not yet queued when the link drops: resume, and on RESUME_FAILED send it again
    job.onDisconnected();
    job.onReconnected();
    expect(sent.at(-1)).toEqual({ type: 'resume_job', job_id: 'j1', resume_token: 't2' });
    job.onMessage({ type: 'error', job_id: 'j1', code: 'RESUME_FAILED', message: 'Job cannot be resumed' });
    expect(sent.at(-1)).toMatchObject({ type: 'start_job', job_id: 'j1' });
  });

  it('a cancel while the connection is down ends a cut upload as JOB_CANCELLED instead of sending it again', async () => {
    const { host, sent } = fakeHost();
    const job = new Job(
      host,
      'probe',
      { operation: 'probe', options: {}, input: { source: 'upload' }, delivery_method: 'binary' } as never,
      'j1',
      {},
    );
    job.begin([
      {
        filename: 'a.mp4',
        size: undefined,
        restartable: true,
        async *chunks() {
          yield new Uint8Array(4);
          await new Promise(() => undefined); // a slow disk
        },
      },
    ]);
    job.onMessage({ type: 'ack', job_id: 'j1', message: 'send', resume_token: 't1' });
    job.onDisconnected();
    job.cancel();
    job.onReconnected();
    await expect(job.result()).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    expect(sent.filter((m) => m.type === 'start_job')).toHaveLength(1);
  });

  it('a server error rejects with its code, message and details; CANCEL_FAILED does not end the job', async () => {
    const { host } = fakeHost();
    const job = urlJob(host);
    job.onMessage({ type: 'ack', job_id: 'j1', message: 'ok', resume_token: 't1' });
    job.onMessage({ type: 'error', job_id: 'j1', code: 'CANCEL_FAILED', message: 'too late' });
    job.onMessage({ type: 'error', job_id: 'j1', code: 'JOB_FAILED', message: 'Invalid media', details: 'moov atom not found' });
    await expect(job.result()).rejects.toMatchObject({
      name: 'MediaFoundryError',
      code: 'JOB_FAILED',
      message: 'Invalid media',
      details: 'moov atom not found',
      jobId: 'j1',
    });
  });
});
