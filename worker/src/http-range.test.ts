import { fileVersion, parseContentRange, rangeAnswerProblem, requestedRange, versionProblem } from './http-range.js';

describe('requestedRange', () => {
  it('reads what ffmpeg asks (bytes=N-) and closed and suffix ranges', () => {
    expect(requestedRange('bytes=0-', 100)).toEqual({ start: 0, end: 99 });
    expect(requestedRange('bytes=40-', 100)).toEqual({ start: 40, end: 99 });
    expect(requestedRange('bytes=10-19', 100)).toEqual({ start: 10, end: 19 });
    expect(requestedRange('bytes=90-500', 100)).toEqual({ start: 90, end: 99 });
    expect(requestedRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(requestedRange('bytes=-500', 100)).toEqual({ start: 0, end: 99 });
  });

  it('serves the whole resource for no range or one it does not read, and 416 past the end', () => {
    expect(requestedRange(undefined, 100)).toBeNull();
    expect(requestedRange('bytes=0-10,20-30', 100)).toBeNull();
    expect(requestedRange('items=0-10', 100)).toBeNull();
    expect(requestedRange('bytes=-', 100)).toBeNull();
    expect(requestedRange('bytes=20-10', 100)).toBeNull();
    expect(requestedRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(requestedRange('bytes=-0', 100)).toBe('unsatisfiable');
  });
});

describe('parseContentRange', () => {
  it('reads a complete Content-Range and nothing else', () => {
    expect(parseContentRange('bytes 0-99/1000')).toEqual({ start: 0, end: 99, total: 1000 });
    expect(parseContentRange('bytes 0-99/*')).toBeNull();
    expect(parseContentRange('bytes */1000')).toBeNull();
    expect(parseContentRange('bytes 50-10/1000')).toBeNull();
    expect(parseContentRange('bytes 0-1000/1000')).toBeNull();
    expect(parseContentRange(undefined)).toBeNull();
  });
});

describe('rangeAnswerProblem', () => {
  const asked = { start: 100, end: 199 };
  it('accepts exactly the asked bytes, the end clipped to the resource', () => {
    expect(rangeAnswerProblem('bytes 100-199/1000', asked, 1000)).toBeNull();
    expect(rangeAnswerProblem('bytes 100-149/150', asked, 150)).toBeNull();
  });

  it('refuses an answer larger than asked, another start, another size, or none', () => {
    expect(rangeAnswerProblem('bytes 100-999/1000', asked, 1000)).toMatch(/answered bytes 100-999 to a request for bytes 100-199/);
    expect(rangeAnswerProblem('bytes 0-199/1000', asked, 1000)).toMatch(/answered bytes 0-199/);
    expect(rangeAnswerProblem('bytes 100-149/1000', asked, 1000)).toMatch(/answered bytes 100-149/);
    expect(rangeAnswerProblem('bytes 100-199/2000', asked, 1000)).toMatch(/first declared 1000 bytes, then 2000/);
    expect(rangeAnswerProblem(undefined, asked, 1000)).toMatch(/Content-Range null/);
  });
});

describe('fileVersion', () => {
  const date = 'Tue, 01 Sep 2026 10:00:00 GMT';
  it('takes a strong ETag, else a valid Last-Modified, else nothing', () => {
    expect(fileVersion('"abc-123"', date)).toEqual({ ifRange: '"abc-123"', header: 'etag' });
    expect(fileVersion('W/"abc"', date)).toEqual({ ifRange: date, header: 'last-modified' });
    expect(fileVersion(undefined, date)).toEqual({ ifRange: date, header: 'last-modified' });
    expect(fileVersion('W/"abc"', undefined)).toBeNull();
    expect(fileVersion('abc', 'yesterday')).toBeNull(); // an unquoted ETag is not one, nor a date that does not parse
    expect(fileVersion(undefined, undefined)).toBeNull();
  });
});

describe('versionProblem', () => {
  const tagged = fileVersion('"v1"', undefined);
  const dated = fileVersion(undefined, 'Tue, 01 Sep 2026 10:00:00 GMT');
  it('refuses a later answer with another ETag, or another date when the first had no ETag', () => {
    expect(versionProblem(tagged, { etag: '"v2"' })).toBe('the origin first sent the file with ETag "v1", then with "v2"');
    expect(versionProblem(dated, { 'last-modified': 'Wed, 02 Sep 2026 10:00:00 GMT' })).toBe(
      'the origin first sent the file with Last-Modified Tue, 01 Sep 2026 10:00:00 GMT, then with Wed, 02 Sep 2026 10:00:00 GMT',
    );
  });
  it('accepts the same version, an answer that does not tell it, and anything when the first told nothing', () => {
    expect(versionProblem(tagged, { etag: '"v1"', 'last-modified': 'Wed, 02 Sep 2026 10:00:00 GMT' })).toBeNull();
    expect(versionProblem(tagged, {})).toBeNull();
    expect(versionProblem(dated, { etag: '"v2"', 'last-modified': 'Tue, 01 Sep 2026 10:00:00 GMT' })).toBeNull();
    expect(versionProblem(null, { etag: '"v2"' })).toBeNull();
  });
});
