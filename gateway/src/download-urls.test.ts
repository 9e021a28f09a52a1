import { FsStorage } from '@media-foundry/shared/node';
import { createDownloadUrls, publicBaseUrl } from './download-urls.js';
import { contentDisposition } from './file-route.js';

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

  it('sign the content type the file is served as', async () => {
    const url = new URL(await urls.urlFor('jobs/a/output/x.png', 'x.png', 60, 'image/png'));
    expect(url.searchParams.get('type')).toBe('image/png');
    const [expires, sig] = [url.searchParams.get('expires')!, url.searchParams.get('sig')!];
    expect(urls.verify('jobs/a/output/x.png', expires, sig, Date.now(), 'image/png')).toBe('jobs/a/output/x.png');
    expect(urls.verify('jobs/a/output/x.png', expires, sig, Date.now(), 'text/html')).toBeNull();
    expect(urls.verify('jobs/a/output/x.png', expires, sig)).toBeNull();
  });
});

describe('contentDisposition', () => {
  it('names the file, exactly in filename* and in ASCII in filename', () => {
    expect(contentDisposition('thumbnail_001.png')).toBe(`attachment; filename="thumbnail_001.png"; filename*=UTF-8''thumbnail_001.png`);
    expect(contentDisposition('my "clip" (1).mp4')).toBe(
      `attachment; filename="my _clip_ (1).mp4"; filename*=UTF-8''my%20%22clip%22%20%281%29.mp4`,
    );
    expect(contentDisposition('été.gif')).toBe(`attachment; filename="_t_.gif"; filename*=UTF-8''%C3%A9t%C3%A9.gif`);
  });
});

describe('publicBaseUrl (the documented PUBLIC_BASE_URL default)', () => {
  it('is PUBLIC_BASE_URL when set', () => {
    expect(publicBaseUrl({ publicBaseUrl: 'https://media.example.com', wsHost: '0.0.0.0' }, 8080)).toBe('https://media.example.com');
  });
  it('is http://<WS_HOST>:<port> otherwise, with localhost for a wildcard host and brackets round IPv6', () => {
    expect(publicBaseUrl({ wsHost: '10.0.0.5' }, 8080)).toBe('http://10.0.0.5:8080');
    expect(publicBaseUrl({ wsHost: '0.0.0.0' }, 8080)).toBe('http://localhost:8080');
    expect(publicBaseUrl({ wsHost: '::' }, 9000)).toBe('http://localhost:9000');
    expect(publicBaseUrl({ wsHost: '::1' }, 8080)).toBe('http://[::1]:8080');
  });
});
