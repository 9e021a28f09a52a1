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
  const modified = 'Tue, 01 Sep 2026 10:00:00 GMT';
  const later = 'Tue, 01 Sep 2026 10:00:01 GMT';
  it('sends a strong ETag as If-Range, and checks it', () => {
    expect(fileVersion('"abc-123"', modified, later)).toEqual({ ifRange: '"abc-123"', header: 'etag', value: '"abc-123"' });
  });
  it('checks a weak ETag but sends nothing (neither it nor the date: RFC 9110 §13.1.5)', () => {
    expect(fileVersion('W/"abc"', modified, later)).toEqual({ ifRange: null, header: 'etag', value: 'W/"abc"' });
  });
  it('sends a Last-Modified only when it is a strong validator (sent a second or more after it)', () => {
    expect(fileVersion(undefined, modified, later)).toEqual({ ifRange: modified, header: 'last-modified', value: modified });
    expect(fileVersion(undefined, modified, modified)).toEqual({ ifRange: null, header: 'last-modified', value: modified });
    expect(fileVersion(undefined, modified)).toEqual({ ifRange: null, header: 'last-modified', value: modified });
  });
  it('takes nothing else: an unquoted ETag, a date that does not parse, nothing told', () => {
    expect(fileVersion('abc', 'yesterday', later)).toBeNull();
    expect(fileVersion(undefined, undefined)).toBeNull();
  });
});

describe('versionProblem', () => {
  const tagged = fileVersion('"v1"', undefined);
  const weak = fileVersion('W/"v1"', undefined);
  const dated = fileVersion(undefined, 'Tue, 01 Sep 2026 10:00:00 GMT');
  it('refuses a later answer with another ETag (weak or strong), or another date when the first had no ETag', () => {
    expect(versionProblem(tagged, { etag: '"v2"' })).toBe('the origin first sent the file with ETag "v1", then with "v2"');
    expect(versionProblem(weak, { etag: 'W/"v2"' })).toBe('the origin first sent the file with ETag W/"v1", then with W/"v2"');
    expect(versionProblem(dated, { 'last-modified': 'Wed, 02 Sep 2026 10:00:00 GMT' })).toBe(
      'the origin first sent the file with Last-Modified Tue, 01 Sep 2026 10:00:00 GMT, then with Wed, 02 Sep 2026 10:00:00 GMT',
    );
  });
  it('accepts the same version (ETags compared weakly), an answer that does not tell it, and anything when the first told nothing', () => {
    expect(versionProblem(tagged, { etag: '"v1"', 'last-modified': 'Wed, 02 Sep 2026 10:00:00 GMT' })).toBeNull();
    expect(versionProblem(weak, { etag: '"v1"' })).toBeNull();
    expect(versionProblem(tagged, {})).toBeNull();
    expect(versionProblem(dated, { etag: '"v2"', 'last-modified': 'Tue, 01 Sep 2026 10:00:00 GMT' })).toBeNull();
    expect(versionProblem(null, { etag: '"v2"' })).toBeNull();
  });
});
