import { MiB } from '../../config/values.js';
import { classifyS3Error, partSizeFor, S3_MAX_PARTS, S3_MIN_PART_BYTES, S3Storage } from './s3-storage.js';
import { isNotFound, StorageError } from './storage.js';

/** An error shaped like the SDK's service exceptions. */
function sdkError(name: string, status?: number, extra: Record<string, unknown> = {}): Error {
  const e = new Error(`${name} happened`);
  e.name = name;
  return Object.assign(e, status === undefined ? {} : { $metadata: { httpStatusCode: status } }, extra);
}

/** A socket error as Node raises it. */
function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 10.0.0.1:9000`), { code });
}

describe('classifyS3Error', () => {
  it.each([
    ['a 404', sdkError('UnknownError', 404)],
    ['NoSuchKey', sdkError('NoSuchKey')],
    ['NotFound (HeadObject)', sdkError('NotFound')],
    ['NoSuchKey with its 404', sdkError('NoSuchKey', 404)],
  ])('makes %s a terminal "not found"', (_label, err) => {
    const e = classifyS3Error('GetObject', 'jobs/j1/out.mp4', err);
    expect(e).toBeInstanceOf(StorageError);
    expect(e.kind).toBe('terminal');
    expect(e.notFound).toBe(true);
    expect(isNotFound(e)).toBe(true);
  });

  it.each([500, 502, 503, 504, 429, 408])('makes HTTP %s transient', (status) => {
    const e = classifyS3Error('PutObject', 'k', sdkError('SomeServiceError', status));
    expect(e.kind).toBe('transient');
    expect(e.notFound).toBe(false);
  });

  it.each(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'SlowDown', 'ServiceUnavailable', 'InternalError'])(
    'makes an error named %s transient',
    (name) => {
      expect(classifyS3Error('PutObject', 'k', sdkError(name)).kind).toBe('transient');
    },
  );

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])(
    'makes a socket error %s transient',
    (code) => {
      expect(classifyS3Error('HeadObject', 'k', socketError(code)).kind).toBe('transient');
    },
  );

  it('makes an error the SDK marks retryable transient', () => {
    expect(classifyS3Error('PutObject', 'k', sdkError('Throttled', 400, { $retryable: { throttling: true } })).kind).toBe('transient');
  });

  it('makes a wrapper error whose cause is transient transient (lib-storage wraps socket errors)', () => {
    const wrapped = new Error('upload failed', { cause: socketError('ECONNRESET') });
    expect(classifyS3Error('PutObject', 'k', wrapped).kind).toBe('transient');
    const twice = new Error('outer', { cause: new Error('middle', { cause: sdkError('SomeServiceError', 503) }) });
    expect(classifyS3Error('PutObject', 'k', twice).kind).toBe('transient');
  });

  it('keeps a wrapper error whose cause is not transient internal', () => {
    const wrapped = new Error('upload failed', { cause: sdkError('AccessDenied', 403) });
    expect(classifyS3Error('PutObject', 'k', wrapped).kind).toBe('internal');
  });

  it.each([
    ['403 AccessDenied', sdkError('AccessDenied', 403)],
    ['InvalidAccessKeyId', sdkError('InvalidAccessKeyId', 403)],
    ['a plain Error', new Error('something of ours')],
    ['a thrown string', 'oops'],
    ['null', null],
  ])('makes %s internal (a problem of ours: credentials, bucket, a bug)', (_label, err) => {
    const e = classifyS3Error('PutObject', 'k', err);
    expect(e.kind).toBe('internal');
    expect(e.notFound).toBe(false);
  });

  it('passes an existing StorageError through unchanged', () => {
    const already = new StorageError('storage (S3) GetObject k: gone', { kind: 'terminal', notFound: true });
    expect(classifyS3Error('PutObject', 'other', already)).toBe(already);
    const transient = new StorageError('mid-stream reset', { kind: 'transient' });
    expect(classifyS3Error('GetObject', 'k', transient)).toBe(transient);
  });

  it('names the operation, the key, the error and its HTTP status in the message, and keeps the original as cause', () => {
    const original = sdkError('AccessDenied', 403);
    const e = classifyS3Error('PutObject', 'jobs/j1/in-0', original);
    expect(e.message).toBe('storage (S3) PutObject jobs/j1/in-0: AccessDenied (HTTP 403): AccessDenied happened');
    expect(e.cause).toBe(original);
  });

  it('describes an error without a name or status', () => {
    expect(classifyS3Error('HeadBucket', 'b', 'oops').message).toBe('storage (S3) HeadBucket b: Error: oops');
  });
});

describe('partSizeFor', () => {
  it('uses 8 MiB parts for small and common sizes', () => {
    expect(partSizeFor(0)).toBe(8 * MiB);
    expect(partSizeFor(1)).toBe(8 * MiB);
    expect(partSizeFor(500 * 1000 * 1000)).toBe(8 * MiB);
    expect(partSizeFor(500 * MiB)).toBe(8 * MiB);
    expect(partSizeFor(5 * 1024 * MiB)).toBe(8 * MiB);
  });

  it('keeps 8 MiB up to the largest object 10,000 such parts can hold', () => {
    expect(partSizeFor(S3_MAX_PARTS * 8 * MiB)).toBe(8 * MiB);
    expect(partSizeFor(S3_MAX_PARTS * 8 * MiB + 1)).toBe(9 * MiB);
  });

  it('grows the parts for 200 GB so that 10,000 of them hold the whole object, in whole MiB', () => {
    const max = 200 * 1000 ** 3;
    const part = partSizeFor(max);
    expect(part).toBe(20 * MiB);
    expect(part * S3_MAX_PARTS).toBeGreaterThanOrEqual(max);
    expect(part % MiB).toBe(0);
  });

  it('fits any size into 10,000 whole-MiB parts no smaller than S3 allows', () => {
    for (const max of [0, 1, 5 * MiB, 100 * 1000 ** 3, 200 * 1024 ** 3, 1000 ** 4, 5 * 1024 ** 4]) {
      const part = partSizeFor(max);
      expect(part).toBeGreaterThanOrEqual(S3_MIN_PART_BYTES);
      expect(part).toBeGreaterThanOrEqual(8 * MiB);
      expect(part % MiB).toBe(0);
      expect(part * S3_MAX_PARTS).toBeGreaterThanOrEqual(max);
      // not larger than it needs to be: one MiB less would no longer fit (or would drop under 8 MiB)
      expect(part === 8 * MiB || (part - MiB) * S3_MAX_PARTS < max).toBe(true);
    }
  });

  it('states S3’s limits', () => {
    expect(S3_MIN_PART_BYTES).toBe(5 * MiB);
    expect(S3_MAX_PARTS).toBe(10_000);
  });
});

describe('classifyS3Error, configuration faults', () => {
  it('calls a missing bucket a problem of ours, not a missing object', () => {
    const e = Object.assign(new Error('The specified bucket does not exist'), { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });
    expect(classifyS3Error('GetObject', 'jobs/j1/in', e)).toMatchObject({ kind: 'internal', notFound: false });
  });

  it('does not loop on an error that is its own cause', () => {
    const e = new Error('odd') as Error & { cause?: unknown };
    e.cause = e;
    expect(classifyS3Error('GetObject', 'k', e)).toMatchObject({ kind: 'internal' });
  });
});

describe('streamedPutBytes', () => {
  it('counts the parts in flight and the one being filled: what a streamed put buffers', () => {
    const s3 = new S3Storage({ bucket: 'b', region: 'us-east-1', forcePathStyle: true });
    expect(s3.streamedPutBytes(500 * 1000 * 1000)).toBe(3 * 8 * MiB);
    expect(s3.streamedPutBytes(5 * MiB * MiB)).toBe(3 * partSizeFor(5 * MiB * MiB));
  });
});

/** An S3Storage whose requests are recorded and answered by `answer` instead of sent. */
function recording(answer: (input: Record<string, unknown>) => unknown = () => ({})) {
  const storage = new S3Storage({
    bucket: 'b',
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    forcePathStyle: true,
    deleteWindowMs: 5,
  });
  const sent: { command: string; input: Record<string, unknown> }[] = [];
  (storage.client as unknown as { send: (c: { constructor: { name: string }; input: Record<string, unknown> }) => unknown }).send = (
    command,
  ) => {
    sent.push({ command: command.constructor.name, input: command.input });
    return Promise.resolve(answer(command.input));
  };
  return { storage, sent };
}

describe('S3Storage.put', () => {
  it('stores a small body with one PutObject, not a multipart upload', async () => {
    const { storage, sent } = recording();
    const body = Buffer.from('{"reply":{}}');
    await storage.put('jobs/j1/result.json', body, { contentType: 'application/json' });
    expect(sent).toEqual([
      { command: 'PutObjectCommand', input: { Bucket: 'b', Key: 'jobs/j1/result.json', Body: body, ContentType: 'application/json' } },
    ]);
  });

  it('refuses an unsafe key before sending anything', async () => {
    const { storage, sent } = recording();
    await expect(storage.put('jobs/../etc/passwd', Buffer.from('x'))).rejects.toThrow();
    expect(sent).toEqual([]);
  });
});

describe('S3Storage.deleteFolder', () => {
  const objects = (...keys: string[]) => ({ Bucket: 'b', Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } });

  it('deletes the keys it knows of in the folder by name, once each, in one request and without listing', async () => {
    const { storage, sent } = recording();
    await storage.deleteFolder('jobs/j1/', ['jobs/j1/job.json', 'jobs/j1/output/a.png', 'jobs/j10/output/b.png', 'jobs/j1/job.json']);
    expect(sent).toEqual([{ command: 'DeleteObjectsCommand', input: objects('jobs/j1/job.json', 'jobs/j1/output/a.png') }]);
  });

  it('sends the folders of jobs that finished together in one request, and each caller hears of its own', async () => {
    const { storage, sent } = recording();
    await Promise.all([
      storage.deleteFolder('jobs/j1/', ['jobs/j1/job.json', 'jobs/j1/result.json']),
      storage.deleteFolder('jobs/j2/', ['jobs/j2/job.json']),
    ]);
    expect(sent).toEqual([
      { command: 'DeleteObjectsCommand', input: objects('jobs/j1/job.json', 'jobs/j1/result.json', 'jobs/j2/job.json') },
    ]);
  });

  it('tries again a key the store refused for a reason that passes, though it answered 200', async () => {
    let answers = 0;
    const { storage, sent } = recording(() =>
      answers++ === 0 ? { Errors: [{ Key: 'jobs/j1/job.json', Code: 'SlowDown', Message: 'Please reduce your request rate' }] } : {},
    );
    await storage.deleteFolder('jobs/j1/', ['jobs/j1/job.json', 'jobs/j1/result.json']);
    expect(sent.map((s) => s.input)).toEqual([objects('jobs/j1/job.json', 'jobs/j1/result.json'), objects('jobs/j1/job.json')]);
  });

  it('reports a key the store keeps refusing, and one it refuses for good at once', async () => {
    const { storage, sent } = recording(() => ({
      Errors: [{ Key: 'jobs/j1/job.json', Code: 'SlowDown', Message: 'Please reduce your request rate' }],
    }));
    const err = await storage.deleteFolder('jobs/j1/', ['jobs/j1/job.json']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).kind).toBe('transient');
    expect((err as StorageError).message).toBe('storage (S3) DeleteObjects jobs/j1/job.json: SlowDown: Please reduce your request rate');
    expect(sent).toHaveLength(3); // DELETE_ATTEMPTS

    const denied = recording(() => ({ Errors: [{ Key: 'jobs/j2/job.json', Code: 'AccessDenied', Message: 'Access Denied' }] }));
    const refused = await denied.storage.deleteFolder('jobs/j2/', ['jobs/j2/job.json']).catch((e: unknown) => e);
    expect((refused as StorageError).kind).toBe('internal');
    expect(denied.sent).toHaveLength(1);
  });

  it('refuses an unsafe key before sending anything', async () => {
    const { storage, sent } = recording();
    await expect(storage.deleteFolder('jobs/j1/', ['jobs/j1/../j2/job.json'])).rejects.toThrow();
    expect(sent).toEqual([]);
  });
});

describe('S3Storage.listPages', () => {
  it('yields each ListObjectsV2 page as it comes, following the continuation token', async () => {
    const object = (Key: string) => ({ Key, Size: 1, LastModified: new Date(0) });
    const { storage, sent } = recording((input) =>
      input.ContinuationToken === undefined
        ? { Contents: [object('jobs/a/x'), object('jobs/b/x')], IsTruncated: true, NextContinuationToken: 't1' }
        : { Contents: [object('jobs/b/y')], IsTruncated: false },
    );
    const pages: string[][] = [];
    for await (const page of storage.listPages('jobs/')) {
      pages.push(page.map((o) => o.key));
      // the next page is asked for only once this one is taken
      expect(sent).toHaveLength(pages.length);
    }
    expect(pages).toEqual([['jobs/a/x', 'jobs/b/x'], ['jobs/b/y']]);
    expect(sent.map((s) => s.input)).toEqual([
      { Bucket: 'b', Prefix: 'jobs/', ContinuationToken: undefined, MaxKeys: 1000 },
      { Bucket: 'b', Prefix: 'jobs/', ContinuationToken: 't1', MaxKeys: 1000 },
    ]);
  });
});

describe('S3Storage.listPages, a store that lists out of key order', () => {
  it('refuses the listing rather than hand a folder over in two parts', async () => {
    const object = (Key: string) => ({ Key, Size: 1, LastModified: new Date(0) });
    const { storage } = recording(() => ({ Contents: [object('jobs/b/x'), object('jobs/a/x'), object('jobs/b/y')], IsTruncated: false }));
    const pages = async () => {
      for await (const page of storage.listPages('jobs/')) void page;
    };
    await expect(pages()).rejects.toThrow('the store listed jobs/a/x after jobs/b/x, out of key order');
    // `list` (a job's folder, whole) takes any order
    expect((await storage.list('jobs/')).map((o) => o.key)).toEqual(['jobs/b/x', 'jobs/a/x', 'jobs/b/y']);
  });
});

describe('S3Storage.deletePrefix', () => {
  it('lists the folder and deletes what it found at once, reporting a refused key', async () => {
    const { storage, sent } = recording((input) =>
      'Prefix' in input
        ? { Contents: [{ Key: 'jobs/j1/job.json', Size: 1, LastModified: new Date() }] }
        : { Errors: [{ Key: 'jobs/j1/job.json', Code: 'AccessDenied', Message: 'Access Denied' }] },
    );
    await expect(storage.deletePrefix('jobs/j1/')).rejects.toThrow('DeleteObjects jobs/j1/job.json: AccessDenied: Access Denied');
    expect(sent.map((s) => s.command)).toEqual(['ListObjectsV2Command', 'DeleteObjectsCommand']);
  });
});
