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
 * the reads after it (RFC 9110 §8.8, §13.1.5): its ETag, else its
 * Last-Modified; null when it tells neither (size and ranges are then all
 * that is checked).
 */
export interface FileVersion {
  /**
   * Sent as `If-Range`, so that an origin whose file is another one now answers it whole (`200`), not the range:
   * a strong ETag, or a Last-Modified that is a strong validator (the answer's `Date` a second or more after it).
   * Null when there is none: a weak ETag may not be sent there, nor a date by a client that has an ETag.
   */
  ifRange: string | null;
  /** What each later answer must say again, when it says it (an origin that ignores `If-Range`, or has none). */
  header: 'etag' | 'last-modified';
  value: string;
}

export function fileVersion(etag: string | undefined, lastModified: string | undefined, date?: string): FileVersion | null {
  const tag = etag?.trim();
  if (tag && /^(W\/)?"[^"]*"$/.test(tag)) return { ifRange: tag.startsWith('W/') ? null : tag, header: 'etag', value: tag };
  const modified = lastModified?.trim();
  const at = modified ? Date.parse(modified) : NaN;
  if (!modified || Number.isNaN(at)) return null;
  const sent = date ? Date.parse(date) : NaN;
  return { ifRange: sent - at >= 1000 ? modified : null, header: 'last-modified', value: modified };
}

/** An ETag compared weakly (RFC 9110 §8.8.3.2): `W/"a"` and `"a"` are the same version, `"b"` another. */
const opaque = (tag: string) => tag.replace(/^W\//, '');

/** Why a later range answer (its headers) is of another version of the file than the first one, or null when nothing says so. */
export function versionProblem(first: FileVersion | null, headers: { etag?: string; 'last-modified'?: string }): string | null {
  const now = first ? headers[first.header]?.trim() : undefined;
  if (!first || now === undefined) return null;
  const same = first.header === 'etag' ? opaque(now) === opaque(first.value) : now === first.value;
  return same
    ? null
    : `the origin first sent the file with ${first.header === 'etag' ? 'ETag' : 'Last-Modified'} ${first.value}, then with ${now}`;
}
