/**
 * HTTP byte ranges (RFC 9110 §14), the two sides the worker speaks: the
 * `Range` its own ffmpeg asks for, and the `Content-Range` an origin answers
 * with. Pure, so every lie an origin can tell is unit-tested here.
 */

/** Bytes `start` to `end`, both included. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The one range a `Range` header asks of a `size`-byte resource: null when
 * there is no header or it is not a single satisfiable `bytes=` range (the
 * whole resource is served then), 'unsatisfiable' for a start past the end
 * (416). ffmpeg asks `bytes=N-`; `bytes=N-M` and suffixes `bytes=-N` are read too.
 */
export function requestedRange(header: string | undefined, size: number): ByteRange | null | 'unsatisfiable' {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return 'unsatisfiable';
  if (end < start) return null;
  return { start, end };
}

/** `Content-Range: bytes a-b/total` read strictly; null for anything else (`*`, an unknown total, garbage). */
export function parseContentRange(header: string | undefined): (ByteRange & { total: number }) | null {
  const m = header ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header.trim()) : null;
  if (!m) return null;
  const [start, end, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!Number.isSafeInteger(total) || end < start || end >= total) return null;
  return { start, end, total };
}

/**
 * Why an origin's answer to a request for `asked` of a resource first seen as
 * `size` bytes cannot be used, or null when it is exactly what was asked: the
 * same start, no byte past the asked end (an answer larger than asked is a
 * lie, not a bonus), the end where the asked one falls within the resource,
 * and the same total as before (an origin that changes its size mid-job
 * serves another file).
 */
export function rangeAnswerProblem(contentRange: string | undefined, asked: ByteRange, size: number): string | null {
  const got = parseContentRange(contentRange);
  if (!got) return `the origin answered a range request with Content-Range ${JSON.stringify(contentRange ?? null)}`;
  if (got.total !== size) return `the origin first declared ${size} bytes, then ${got.total}`;
  const end = Math.min(asked.end, size - 1);
  if (got.start !== asked.start || got.end !== end)
    return `the origin answered bytes ${got.start}-${got.end} to a request for bytes ${asked.start}-${end}`;
  return null;
}

/**
 * What identifies the version of a file an origin first answered with, for
 * the reads after it: a strong `ETag`, else `Last-Modified`; null when it
 * tells neither (size and ranges are then all that is checked). A weak ETag
 * (`W/"…"`) cannot be sent in `If-Range` (RFC 9110 §13.1.5).
 */
export interface FileVersion {
  /** Sent as `If-Range`: an origin whose file is another one now answers it whole (`200`), not the range. */
  ifRange: string;
  /** What each later answer must say again, when it says it (an origin that ignores `If-Range`). */
  header: 'etag' | 'last-modified';
}

export function fileVersion(etag: string | undefined, lastModified: string | undefined): FileVersion | null {
  const strong = etag?.trim();
  if (strong && /^"[^"]*"$/.test(strong)) return { ifRange: strong, header: 'etag' };
  const date = lastModified?.trim();
  if (date && !Number.isNaN(Date.parse(date))) return { ifRange: date, header: 'last-modified' };
  return null;
}

/** Why a later range answer (its headers) is of another version of the file than the first one, or null when nothing says so. */
export function versionProblem(first: FileVersion | null, headers: { etag?: string; 'last-modified'?: string }): string | null {
  const now = first ? headers[first.header]?.trim() : undefined;
  if (!first || now === undefined || now === first.ifRange) return null;
  return `the origin first sent the file with ${first.header === 'etag' ? 'ETag' : 'Last-Modified'} ${first.ifRange}, then with ${now}`;
}
