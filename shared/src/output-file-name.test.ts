import { outputMetadata } from '@media-foundry/test-support';
import { completedReply } from './jobs.js';
import { binaryHeader, outputFileName } from './protocol.js';

describe('outputFileName', () => {
  it.each(['output.mp4', 'thumbnail_001.jpg', 'master.m3u8', '720p/seg_003.ts', '720p/index.m3u8', 'a/b/c-d_e.m4s', 'résumé.mp4'])(
    'allows %j',
    (name) => {
      expect(outputFileName.safeParse(name).success).toBe(true);
    },
  );

  it.each([
    '',
    '/etc/passwd',
    '../x.ts',
    '720p/../../x.ts',
    '720p/./x.ts',
    './x.ts',
    '720p//x.ts',
    '720p/',
    '720p\\seg.ts',
    'dir/na me.ts',
    'dir/é.ts',
    'a\u0000b',
    '..',
    '.',
    `d/${'x'.repeat(200)}`,
  ])('refuses %j', (name) => {
    expect(outputFileName.safeParse(name).success).toBe(false);
  });

  it("is checked on a worker's completed reply", () => {
    const reply = (filename: string) => ({
      type: 'completed',
      job_id: 'j',
      output_metadata: outputMetadata({ format: 'hls', duration: 1, size_bytes: 1 }),
      outputs: [{ filename, size_bytes: 1, content_type: 'video/mp2t', key: `jobs/j/output/${filename}` }],
    });
    expect(completedReply.safeParse(reply('720p/seg_000.ts')).success).toBe(true);
    expect(completedReply.safeParse(reply('../seg_000.ts')).success).toBe(false);
  });

  it('does not widen upload frame names: those stay plain file names', () => {
    expect(binaryHeader.safeParse({ job_id: 'j', filename: '720p/seg_000.ts' }).success).toBe(false);
  });
});
