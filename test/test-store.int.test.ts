/**
 * The tests' and benchmarks' S3 store (s3rver behind a recording proxy, or
 * alone) answers as S3 does where the services depend on it.
 */
import { DeleteObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import { startTestS3, testS3Storage, type TestS3 } from './helpers/s3.js';

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3?.close();
});

it("deletes a job folder's keys in one DeleteObjects, missing ones among them, without a retry (s3rver's folder clean-up mended)", async () => {
  const storage = testS3Storage(s3);
  const folder = 'jobs/one-request/';
  const present = ['job.json', 'state.json', 'result.json', 'output/a.png', 'output/b.png'].map((name) => folder + name);
  for (let round = 0; round < 5; round++) {
    for (const key of present) await storage.put(key, Buffer.from(key));
    // one attempt: before the mend, s3rver answered such a request 500 InternalError about half the time
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      maxAttempts: 1,
    });
    const res = await client.send(
      new DeleteObjectsCommand({
        Bucket: s3.bucket,
        Delete: { Objects: [...present, `${folder}cancelled`].map((Key) => ({ Key })), Quiet: true },
      }),
    );
    client.destroy();
    expect(res.Errors ?? []).toEqual([]);
    expect(await storage.list(folder)).toEqual([]);
  }
});

it('lists a page at a time in key order, so a folder straddling pages comes together (the sweeper relies on it)', async () => {
  const storage = testS3Storage(s3, { listPageSize: 4 });
  // (s3rver walks folders, not keys: a folder name that starts another, `j` and `j-1`, would be listed out of S3's
  // order there and its pages would skip keys; job folders are UUIDs)
  const keys = ['paged/j/a', 'paged/i/a', 'paged/j/b', 'paged/k/a', 'paged/j/c', 'paged/i/b', 'paged/k/b', 'paged/j/d', 'paged/l/a'];
  await Promise.all(keys.map((key) => storage.put(key, Buffer.from(key))));
  const pages: string[][] = [];
  for await (const page of storage.listPages('paged/')) pages.push(page.map((o) => o.key));
  expect(pages.map((p) => p.length)).toEqual([4, 4, 1]);
  expect(pages.flat()).toEqual([...keys].sort());
  await storage.deletePrefix('paged/');
});
