import { FsStorage } from '@media-foundry/shared/node';
import { createDownloadUrls } from './download-urls.js';

describe('signed gateway download URLs', () => {
  const urls = createDownloadUrls(new FsStorage('/tmp/unused'), () => 'https://media.example.com/', 'k'.repeat(40));

  it('grant exactly the signed key until the expiry', async () => {
    const url = new URL(await urls.urlFor('jobs/abc/output/my file.mp4', 'my file.mp4', 60));
    expect(url.origin + url.pathname).toBe('https://media.example.com/files/jobs/abc/output/my%20file.mp4');
    const expires = url.searchParams.get('expires')!;
    const sig = url.searchParams.get('sig')!;
    expect(urls.verify('jobs/abc/output/my file.mp4', expires, sig)).toBe('jobs/abc/output/my file.mp4');
    expect(urls.verify('jobs/abc/output/other.mp4', expires, sig)).toBeNull();
    expect(urls.verify('jobs/abc/output/my file.mp4', String(Number(expires) + 1), sig)).toBeNull();
    // Change the first character: the last one of a base64url HMAC carries padding bits and may already be the one we pick.
    const tampered = `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    expect(urls.verify('jobs/abc/output/my file.mp4', expires, tampered)).toBeNull();
    expect(urls.verify('jobs/abc/output/my file.mp4', expires, sig, (Number(expires) + 1) * 1000)).toBeNull();
  });

  it('do not verify under another secret', async () => {
    const url = new URL(await urls.urlFor('jobs/a/output/x.png', 'x.png', 60));
    const other = createDownloadUrls(new FsStorage('/tmp/unused'), () => 'http://x', 'z'.repeat(40));
    expect(other.verify('jobs/a/output/x.png', url.searchParams.get('expires')!, url.searchParams.get('sig')!)).toBeNull();
  });
});
