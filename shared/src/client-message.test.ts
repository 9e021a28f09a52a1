import { ErrorCode } from './errors.js';
import { parseClientMessage, type ParsedClientMessage } from './client-message.js';

/** Parses an object sent as JSON text. */
function send(message: unknown): ParsedClientMessage {
  return parseClientMessage(JSON.stringify(message));
}

/** Asserts a successful parse and returns the message. */
function ok(result: ParsedClientMessage) {
  if (!result.ok) throw new Error(`expected ok, got ${result.error.code}: ${result.error.details}`);
  return result.message;
}

/** The options of a parsed start_job. */
function options(result: ParsedClientMessage): unknown {
  const m = ok(result);
  if (m.type !== 'start_job') throw new Error(`expected start_job, got ${m.type}`);
  return m.options;
}

/** Asserts a failed parse and returns the failure. */
function failed(result: ParsedClientMessage) {
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.message)}`);
  return result;
}

const upload = { source: 'upload' } as const;
const url = { source: 'url', url: 'https://media.example.com/clips/a.mp4' } as const;

function startJob(operation: string, options?: unknown, extra: Record<string, unknown> = {}) {
  return { type: 'start_job', job_id: 'job-1', input: upload, operation, ...(options === undefined ? {} : { options }), ...extra };
}

describe('parseClientMessage: framing errors', () => {
  it('parses a ping', () => {
    expect(ok(parseClientMessage('{"type":"ping"}'))).toEqual({ type: 'ping' });
  });

  it('reports text that is not JSON as INVALID_JSON, with the parser message as details', () => {
    const r = failed(parseClientMessage('{"type": "ping"'));
    expect(r.error.code).toBe(ErrorCode.INVALID_JSON);
    expect(r.error.details).toEqual(expect.any(String));
    expect(r.error.details!.length).toBeGreaterThan(0);
    expect(r.jobId).toBeNull();
  });

  it.each([
    ['a number', '42'],
    ['a string', '"ping"'],
    ['null', 'null'],
    ['an array', '[{"type":"ping"}]'],
  ])('rejects %s (not an object) as VALIDATION_ERROR', (_label, text) => {
    const r = failed(parseClientMessage(text));
    expect(r.error.code).toBe(ErrorCode.VALIDATION_ERROR);
    expect(r.error.details).toBe('message must be a JSON object with a "type" field');
    expect(r.jobId).toBeNull();
  });

  it('reports an unknown type as UNKNOWN_MESSAGE_TYPE and echoes the job id', () => {
    const r = failed(send({ type: 'transcode', job_id: 'job-42' }));
    expect(r.error.code).toBe(ErrorCode.UNKNOWN_MESSAGE_TYPE);
    expect(r.error.details).toContain('"transcode"');
    expect(r.jobId).toBe('job-42');
  });

  it('reports a missing type as UNKNOWN_MESSAGE_TYPE', () => {
    const r = failed(send({ job_id: 'job-42' }));
    expect(r.error.code).toBe(ErrorCode.UNKNOWN_MESSAGE_TYPE);
    expect(r.jobId).toBe('job-42');
  });

  it('does not treat inherited Object.prototype names as message types', () => {
    for (const type of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      const r = failed(send({ type }));
      expect(r.error.code).toBe(ErrorCode.UNKNOWN_MESSAGE_TYPE);
    }
  });

  it('does not echo a job id that is not a string, or is longer than 128 characters', () => {
    expect(failed(send({ type: 'nope', job_id: 7 })).jobId).toBeNull();
    expect(failed(send({ type: 'nope', job_id: 'x'.repeat(129) })).jobId).toBeNull();
    expect(failed(send({ type: 'nope', job_id: 'x'.repeat(128) })).jobId).toBe('x'.repeat(128));
  });
});

describe('parseClientMessage: start_job', () => {
  it('accepts speed and fills maintain_pitch=true and delivery_method=binary', () => {
    expect(ok(send(startJob('speed', { speed_factor: 2 })))).toEqual({
      type: 'start_job',
      job_id: 'job-1',
      // normalised by the schema: one upload, any name
      input: { source: 'upload', files: [{ source: 'upload', filename: null }] },
      operation: 'speed',
      options: { speed_factor: 2, maintain_pitch: true },
      delivery_method: 'binary',
    });
  });

  it('keeps an explicit maintain_pitch=false and accepts both bounds of speed_factor', () => {
    expect(options(send(startJob('speed', { speed_factor: 0.25, maintain_pitch: false })))).toEqual({
      speed_factor: 0.25,
      maintain_pitch: false,
    });
    expect(options(send(startJob('speed', { speed_factor: 10 })))).toEqual({ speed_factor: 10, maintain_pitch: true });
  });

  it('accepts thumbnail with no options and defaults the format to png', () => {
    const r = send(startJob('thumbnail'));
    expect(ok(r)).toMatchObject({ type: 'start_job', operation: 'thumbnail' });
    expect(options(r)).toEqual({ format: 'png' });
  });

  it('accepts thumbnail with count, width and jpeg format', () => {
    expect(options(send(startJob('thumbnail', { count: 20, width: 320, format: 'jpeg' })))).toEqual({
      count: 20,
      width: 320,
      format: 'jpeg',
    });
  });

  it('accepts extract_audio with a url input and defaults the format to mp3', () => {
    const m = ok(send({ type: 'start_job', input: url, operation: 'extract_audio' }));
    expect(m).toEqual({
      type: 'start_job',
      input: { source: 'url', files: [url] },
      operation: 'extract_audio',
      options: { format: 'mp3' },
      delivery_method: 'binary',
    });
  });

  it('accepts extract_audio with format, bitrate and an allowed sample rate', () => {
    expect(options(send(startJob('extract_audio', { format: 'flac', sample_rate: 48000, bitrate_kbps: 320 })))).toEqual({
      format: 'flac',
      sample_rate: 48000,
      bitrate_kbps: 320,
    });
  });

  it('accepts a start_job without job_id (the gateway generates one)', () => {
    const m = ok(send({ type: 'start_job', input: upload, operation: 'speed', options: { speed_factor: 1.5 } }));
    expect(m).not.toHaveProperty('job_id');
  });

  it.each([
    ['speed_factor below 0.25', startJob('speed', { speed_factor: 0.1 }), 'options.speed_factor'],
    ['speed_factor above 10', startJob('speed', { speed_factor: 11 }), 'options.speed_factor'],
    ['speed_factor not a number', startJob('speed', { speed_factor: '2' }), 'options.speed_factor'],
    ['thumbnail count 0', startJob('thumbnail', { count: 0 }), 'options.count'],
    ['thumbnail count 21', startJob('thumbnail', { count: 21 }), 'options.count'],
    ['thumbnail count 2.5', startJob('thumbnail', { count: 2.5 }), 'options.count'],
    ['thumbnail negative timestamp', startJob('thumbnail', { timestamp: -1 }), 'options.timestamp'],
    ['thumbnail width 1', startJob('thumbnail', { width: 1 }), 'options.width'],
    ['thumbnail unknown format', startJob('thumbnail', { format: 'gif' }), 'options.format'],
    ['sample_rate 12345', startJob('extract_audio', { sample_rate: 12345 }), 'options.sample_rate'],
    ['bitrate_kbps 4', startJob('extract_audio', { bitrate_kbps: 4 }), 'options.bitrate_kbps'],
    ['unknown audio format', startJob('extract_audio', { format: 'wma' }), 'options.format'],
    ['ftp:// url', { ...startJob('speed', { speed_factor: 2 }), input: { source: 'url', url: 'ftp://example.com/a.mp4' } }, 'input.url'],
    ['not a url', { ...startJob('speed', { speed_factor: 2 }), input: { source: 'url', url: 'a.mp4' } }, 'input.url'],
    ['unknown input source', { ...startJob('speed', { speed_factor: 2 }), input: { source: 'disk' } }, 'input.source'],
    [
      'upload filename with a slash',
      { ...startJob('speed', { speed_factor: 2 }), input: { source: 'upload', filename: '../a.mp4' } },
      'input.filename',
    ],
    ['job_id with a slash', startJob('speed', { speed_factor: 2 }, { job_id: 'a/b' }), 'job_id'],
    ['job_id starting with a dot', startJob('speed', { speed_factor: 2 }, { job_id: '.hidden' }), 'job_id'],
    ['empty job_id', startJob('speed', { speed_factor: 2 }, { job_id: '' }), 'job_id'],
    ['unsupported delivery_method', startJob('speed', { speed_factor: 2 }, { delivery_method: 's3_url' }), 'delivery_method'],
  ])('rejects %s as VALIDATION_ERROR naming %s', (_label, message, field) => {
    const r = failed(send(message));
    expect(r.error.code).toBe(ErrorCode.VALIDATION_ERROR);
    expect(r.error.details).toMatch(new RegExp(`(^|; )${field.replace(/\./g, '\\.')}: `));
  });

  it('echoes the raw job_id even when it fails validation, so the error can name it', () => {
    expect(failed(send(startJob('speed', { speed_factor: 2 }, { job_id: 'a/b' }))).jobId).toBe('a/b');
    expect(failed(send(startJob('speed', { speed_factor: 0.1 }))).jobId).toBe('job-1');
  });

  it('rejects an unknown option key, naming options and the key', () => {
    const r = failed(send(startJob('extract_audio', { format: 'mp3', volume: 2 })));
    expect(r.error.code).toBe(ErrorCode.VALIDATION_ERROR);
    expect(r.error.details).toMatch(/^options: /);
    expect(r.error.details).toContain('volume');
  });

  it('rejects an option that belongs to another operation', () => {
    const r = failed(send(startJob('speed', { speed_factor: 2, count: 3 })));
    expect(r.error.code).toBe(ErrorCode.VALIDATION_ERROR);
    expect(r.error.details).toMatch(/^options: /);
    expect(r.error.details).toContain('count');
  });

  it('measures upload file names in UTF-8 bytes: 200 at most, however few characters', () => {
    const withNames = (filenames: string[]) => send(startJob('concat', {}, { input: { source: 'upload', filenames } }));
    expect(ok(withNames(['a'.repeat(200), 'é'.repeat(100), '🎬'.repeat(50)])).type).toBe('start_job');
    for (const name of ['a'.repeat(201), 'é'.repeat(101), '🎬'.repeat(51), 'x'.repeat(255)]) {
      const r = failed(withNames(['ok.mp4', name]));
      expect(r.error.code).toBe(ErrorCode.VALIDATION_ERROR);
      expect(r.error.details).toMatch(/input\.filenames\[1\]: .*200 (bytes|characters)/);
    }
    expect(failed(withNames(['a\ud800.mp4'])).error.details).toMatch(/unpaired surrogates/);
  });

  it('rejects an unknown top-level key', () => {
    const r = failed(send(startJob('speed', { speed_factor: 2 }, { priority: 'high' })));
    expect(r.error.code).toBe(ErrorCode.VALIDATION_ERROR);
    expect(r.error.details).toContain('priority');
  });

  it('rejects a thumbnail with both timestamp and count', () => {
    const r = failed(send(startJob('thumbnail', { timestamp: 1, count: 3 })));
    expect(r.error.code).toBe(ErrorCode.VALIDATION_ERROR);
    expect(r.error.details).toBe('options.count: `timestamp` and `count` are mutually exclusive');
  });

  it('rejects speed without options, naming options.speed_factor', () => {
    const r = failed(send(startJob('speed')));
    expect(r.error.code).toBe(ErrorCode.VALIDATION_ERROR);
    expect(r.error.details).toMatch(/^options\.speed_factor: /);
  });

  it('rejects an unknown operation, naming operation', () => {
    const r = failed(send(startJob('transcode', {})));
    expect(r.error.code).toBe(ErrorCode.VALIDATION_ERROR);
    expect(r.error.details).toMatch(/^operation: /);
  });

  it('rejects a missing input, naming input', () => {
    const r = failed(send({ type: 'start_job', operation: 'thumbnail' }));
    expect(r.error.code).toBe(ErrorCode.VALIDATION_ERROR);
    expect(r.error.details).toMatch(/(^|; )input: /);
  });
});

describe('parseClientMessage: cancel_job', () => {
  it('accepts a cancel_job with a job_id', () => {
    expect(ok(send({ type: 'cancel_job', job_id: 'job-1' }))).toEqual({ type: 'cancel_job', job_id: 'job-1' });
  });

  it('requires job_id', () => {
    const r = failed(send({ type: 'cancel_job' }));
    expect(r.error.code).toBe(ErrorCode.VALIDATION_ERROR);
    expect(r.error.details).toMatch(/^job_id: /);
    expect(r.jobId).toBeNull();
  });

  it('rejects an invalid job_id and unknown keys', () => {
    expect(failed(send({ type: 'cancel_job', job_id: '../x' })).error.details).toMatch(/^job_id: /);
    const r = failed(send({ type: 'cancel_job', job_id: 'job-1', force: true }));
    expect(r.error.code).toBe(ErrorCode.VALIDATION_ERROR);
    expect(r.error.details).toContain('force');
  });
});
