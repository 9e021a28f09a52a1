/**
 * `GET /files/<key>?expires=…&sig=…` on the WebSocket port: the fs driver's
 * download URLs. Streams the file with uWS backpressure (tryEnd/onWritable),
 * so a slow downloader costs one chunk of memory, not the file; at most
 * `maxDownloads` at once (MAX_FILE_DOWNLOADS), each an open file.
 */
import type { Logger, Storage } from '@media-foundry/shared/node';
import { DEFAULT_CONTENT_TYPE, type DownloadUrls } from './download-urls.js';
import type { HttpResponse, TemplatedApp } from './uws.js';

export function serveSignedFiles(app: TemplatedApp, storage: Storage, urls: DownloadUrls, logger: Logger, maxDownloads = 256): void {
  let active = 0;
  app.get('/files/*', (res, req) => {
    const path = req.getUrl().slice('/files/'.length);
    const query = new URLSearchParams(req.getQuery() ?? '');
    let aborted = false;
    let stream: (NodeJS.ReadableStream & { destroy(): void }) | null = null;
    /** This download's slot, given back once whatever ends it comes first. */
    let holding = false;
    const release = () => {
      if (holding) active -= 1;
      holding = false;
    };
    res.onAborted(() => {
      aborted = true;
      release();
      stream?.destroy();
    });
    // the output's own type, signed into the URL with the key (older links have none: a plain download)
    const contentType = query.get('type') ?? DEFAULT_CONTENT_TYPE;
    let key: string | null;
    try {
      key = urls.verify(
        path.split('/').map(decodeURIComponent).join('/'),
        query.get('expires') ?? '',
        query.get('sig') ?? '',
        Date.now(),
        contentType,
      );
    } catch {
      key = null;
    }
    if (!key) {
      res.cork(() => res.writeStatus('403 Forbidden').end('invalid or expired download link'));
      return;
    }
    if (active >= maxDownloads) {
      res.cork(() =>
        res.writeStatus('503 Service Unavailable').writeHeader('retry-after', '1').end('too many downloads at once; try again shortly'),
      );
      return;
    }
    active += 1;
    holding = true;
    const granted = key;
    // allSettled: a size that fails after the get opened its stream must still close that stream
    Promise.allSettled([storage.size(granted), storage.get(granted)])
      .then(([sized, opened]) => {
        if (opened.status === 'rejected') throw opened.reason;
        const body = opened.value;
        stream = body;
        if (sized.status === 'rejected') {
          body.destroy();
          throw sized.reason;
        }
        const size = sized.value;
        if (aborted) return body.destroy();
        const filename = granted.slice(granted.lastIndexOf('/') + 1);
        res.cork(() => {
          res.writeStatus('200 OK');
          res.writeHeader('content-type', contentType);
          res.writeHeader('content-disposition', contentDisposition(filename));
        });
        body.once('close', release);
        pipeWithBackpressure(res, body, size, () => aborted);
      })
      .catch((err: unknown) => {
        release();
        logger.warn({ err, key: granted }, 'download failed');
        if (!aborted) res.cork(() => res.writeStatus('404 Not Found').end('no such file'));
      });
  });
}

/**
 * `attachment` with the output's file name: a plain ASCII `filename` for old
 * clients (quotes, backslashes and anything non-ASCII replaced) and the exact
 * name as RFC 5987 `filename*`.
 */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const exact = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}

/** The uWS streaming idiom: tryEnd each chunk; when the socket is full, pause the source until onWritable. */
function pipeWithBackpressure(
  res: HttpResponse,
  body: NodeJS.ReadableStream & { destroy(): void },
  total: number,
  aborted: () => boolean,
): void {
  if (total === 0) {
    // nothing to read: the opened stream (a file descriptor with the fs driver) is closed here, or never
    body.destroy();
    res.cork(() => res.end());
    return;
  }
  body.on('data', (data: Buffer) => {
    if (aborted()) return;
    const chunk = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
    const start = res.getWriteOffset();
    let ok = false;
    let done = false;
    res.cork(() => ([ok, done] = res.tryEnd(chunk, total)));
    if (done) body.destroy();
    else if (!ok) {
      body.pause();
      res.onWritable((offset) => {
        let ok2 = false;
        let done2 = false;
        res.cork(() => ([ok2, done2] = res.tryEnd(chunk.slice(offset - start), total)));
        if (done2) body.destroy();
        else if (ok2) body.resume();
        return ok2;
      });
    }
  });
  body.on('error', () => {
    if (!aborted()) res.close();
  });
}
