import { jobMessage, jobReply, storageKeys } from './jobs.js';
import { formatIssues } from './validation.js';

const metadata = {
  format: 'mp4',
  duration: 5,
  size_bytes: 1234,
  video_codec: 'h264',
  audio_codec: 'aac',
  width: 320,
  height: 240,
  bitrate: 96000,
  fps: 25,
};

describe('jobMessage', () => {
  it('accepts a storage input and fills defaults', () => {
    const r = jobMessage.safeParse({
      job_id: 'job-1',
      inputs: [{ source: 'storage', key: 'jobs/job-1/input/a.mp4', filename: 'a.mp4' }],
      operation: 'speed',
      options: { speed_factor: 2 },
      submitted_at: '2024-05-01T12:00:00.000Z',
    });
    expect(r.success).toBe(true);
    expect(r.data).toEqual({
      job_id: 'job-1',
      inputs: [{ source: 'storage', key: 'jobs/job-1/input/a.mp4', filename: 'a.mp4' }],
      operation: 'speed',
      options: { speed_factor: 2, maintain_pitch: true },
      delivery_method: 'binary',
      submitted_at: '2024-05-01T12:00:00.000Z',
    });
  });

  it('accepts a url input', () => {
    const r = jobMessage.safeParse({
      job_id: 'job-2',
      inputs: [{ source: 'url', url: 'http://example.com/a.mkv' }],
      operation: 'extract_audio',
      options: { format: 'opus' },
    });
    expect(r.success).toBe(true);
    expect(r.data).toMatchObject({ inputs: [{ source: 'url', url: 'http://example.com/a.mkv' }], options: { format: 'opus' } });
  });

  it('rejects an unknown operation, naming operation', () => {
    const r = jobMessage.safeParse({
      job_id: 'job-3',
      inputs: [{ source: 'url', url: 'http://example.com/a.mkv' }],
      operation: 'transcode',
      options: {},
    });
    expect(r.success).toBe(false);
    expect(formatIssues(r.error!)).toMatch(/^operation: /);
  });

  it.each([
    ['an upload input (only the gateway knows uploads)', { source: 'upload' }, /^inputs\[0\]\.source: /],
    ['a storage input without filename', { source: 'storage', key: 'k' }, /^inputs\[0\]\.filename: /],
    ['a storage input with an empty key', { source: 'storage', key: '', filename: 'a' }, /^inputs\[0\]\.key: /],
  ])('rejects %s', (_label, input, pattern) => {
    const r = jobMessage.safeParse({ job_id: 'j', inputs: [input], operation: 'thumbnail' });
    expect(r.success).toBe(false);
    expect(formatIssues(r.error!)).toMatch(pattern);
  });

  it('checks the number of inputs against the operation', () => {
    const url = { source: 'url', url: 'https://e.com/a.mp4' };
    const one = jobMessage.safeParse({ job_id: 'j', inputs: [url], operation: 'concat' });
    expect(formatIssues(one.error!)).toBe('inputs: concat takes 2 to 20 input files; got 1');
    const two = jobMessage.safeParse({ job_id: 'j', inputs: [url, url], operation: 'thumbnail' });
    expect(formatIssues(two.error!)).toBe('inputs: thumbnail takes exactly 1 input file; got 2');
    expect(jobMessage.safeParse({ job_id: 'j', inputs: [url, url, url], operation: 'concat' }).success).toBe(true);
  });

  it('requires a job_id and a valid submitted_at', () => {
    const base = { inputs: [{ source: 'url', url: 'https://e.com/a' }], operation: 'thumbnail' };
    expect(formatIssues(jobMessage.safeParse(base).error!)).toMatch(/^job_id: /);
    expect(formatIssues(jobMessage.safeParse({ ...base, job_id: 'j', submitted_at: 'yesterday' }).error!)).toMatch(/^submitted_at: /);
  });

  it("takes a submitted_at with a time-zone offset (what Python's isoformat() writes)", () => {
    const base = { job_id: 'j', inputs: [{ source: 'url', url: 'https://e.com/a' }], operation: 'thumbnail' };
    for (const at of ['2026-11-25T12:00:00+01:00', '2026-11-25T12:00:00.123456+00:00', '2026-11-25T12:00:00Z'])
      expect(jobMessage.safeParse({ ...base, submitted_at: at }).success).toBe(true);
  });
});

describe('jobReply', () => {
  it('parses a progress reply', () => {
    const reply = { type: 'progress', job_id: 'j', percentage: 42.5, stage: 'processing', ffmpeg_log: 'frame=1 fps=2' };
    expect(jobReply.parse(reply)).toEqual(reply);
  });

  it('rejects a progress reply with an unknown stage or percentage over 100', () => {
    expect(jobReply.safeParse({ type: 'progress', job_id: 'j', percentage: 10, stage: 'encoding' }).success).toBe(false);
    expect(jobReply.safeParse({ type: 'progress', job_id: 'j', percentage: 100.1, stage: 'processing' }).success).toBe(false);
  });

  it('parses a completed reply with stored outputs', () => {
    const reply = {
      type: 'completed',
      job_id: 'j',
      output_metadata: metadata,
      outputs: [{ filename: 'output.mp4', size_bytes: 1234, content_type: 'video/mp4', key: 'jobs/j/output/output.mp4' }],
    };
    expect(jobReply.parse(reply)).toEqual(reply);
  });

  it('accepts a completed reply with zero outputs (probe)', () => {
    const r = jobReply.safeParse({ type: 'completed', job_id: 'j', output_metadata: metadata, outputs: [] });
    expect(r.success).toBe(true);
  });

  it('rejects a completed reply without outputs, naming outputs', () => {
    const r = jobReply.safeParse({ type: 'completed', job_id: 'j', output_metadata: metadata });
    expect(r.success).toBe(false);
    expect(formatIssues(r.error!)).toMatch(/^outputs: /);
  });

  it('rejects a completed reply whose output has no storage key', () => {
    const r = jobReply.safeParse({
      type: 'completed',
      job_id: 'j',
      output_metadata: metadata,
      outputs: [{ filename: 'output.mp4', size_bytes: 1, content_type: 'video/mp4' }],
    });
    expect(r.success).toBe(false);
    expect(formatIssues(r.error!)).toMatch(/^outputs\[0\]\.key: /);
  });

  it('parses an error reply and requires its job_id', () => {
    const reply = { type: 'error', job_id: 'j', code: 'JOB_FAILED', message: 'ffmpeg failed', details: 'exit 1' };
    expect(jobReply.parse(reply)).toEqual(reply);
    expect(jobReply.safeParse({ ...reply, job_id: null }).success).toBe(false);
    expect(jobReply.safeParse({ ...reply, code: 'NOT_A_CODE' }).success).toBe(false);
  });
});

describe('storageKeys', () => {
  it('places inputs and outputs under the job prefix', () => {
    expect(storageKeys.jobPrefix('j1')).toBe('jobs/j1/');
    expect(storageKeys.input('j1', 'a.mp4')).toBe('jobs/j1/input/a.mp4');
    expect(storageKeys.output('j1', 'thumbnail.png')).toBe('jobs/j1/output/thumbnail.png');
    expect(storageKeys.input('j1', 'a.mp4').startsWith(storageKeys.jobPrefix('j1'))).toBe(true);
  });
});
