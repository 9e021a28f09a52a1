import { thrownBy } from '@media-foundry/test-support';
import { decodeUploadFrame, encodeBinaryFrame, splitBinaryFrame } from './binary-frame.js';
import { AppError, ErrorCode } from './errors.js';
import { MAX_BINARY_HEADER_BYTES, MAX_FILE_NAME_BYTES } from './protocol.js';

const utf8 = new TextEncoder();

/** A frame with an arbitrary declared header length and raw header bytes. */
function rawFrame(declaredLength: number, header: Uint8Array, payload: Uint8Array = new Uint8Array()): Uint8Array {
  const frame = new Uint8Array(4 + header.length + payload.length);
  new DataView(frame.buffer).setUint32(0, declaredLength, false);
  frame.set(header, 4);
  frame.set(payload, 4 + header.length);
  return frame;
}

function frameWithHeaderText(text: string, payload?: Uint8Array): Uint8Array {
  const bytes = utf8.encode(text);
  return rawFrame(bytes.length, bytes, payload);
}

/** Runs `fn`, asserts it throws an AppError INVALID_BINARY, and returns that error. */
function invalidBinary(fn: () => unknown): AppError {
  const e = thrownBy(AppError, fn);
  expect(e.code).toBe(ErrorCode.INVALID_BINARY);
  expect(e.message).toBe('Invalid binary message format');
  return e;
}

describe('encodeBinaryFrame', () => {
  it('lays out [u32 BE header length][header JSON][payload]', () => {
    const frame = encodeBinaryFrame({ job_id: 'j1', filename: 'a.mp4' }, new Uint8Array([1, 2, 3]));
    const json = '{"job_id":"j1","filename":"a.mp4"}';
    expect(Array.from(frame.subarray(0, 4))).toEqual([0, 0, 0, json.length]);
    expect(new TextDecoder().decode(frame.subarray(4, 4 + json.length))).toBe(json);
    expect(Array.from(frame.subarray(4 + json.length))).toEqual([1, 2, 3]);
    expect(frame.length).toBe(4 + json.length + 3);
  });

  it('writes the header length big-endian, counting UTF-8 bytes not characters', () => {
    const filename = 'é'.repeat(200); // 400 UTF-8 bytes
    const frame = encodeBinaryFrame({ job_id: 'j1', filename }, new Uint8Array());
    const headerBytes = utf8.encode(JSON.stringify({ job_id: 'j1', filename })).length;
    expect(headerBytes).toBeGreaterThan(255);
    expect(Array.from(frame.subarray(0, 4))).toEqual([0, 0, headerBytes >> 8, headerBytes & 0xff]);
  });
});

describe('decodeUploadFrame', () => {
  it('refuses a file name over MAX_FILE_NAME_BYTES UTF-8 bytes with INVALID_BINARY, before any payload is looked at', () => {
    expect(MAX_FILE_NAME_BYTES).toBe(200);
    for (const filename of ['é'.repeat(101), '文'.repeat(67), 'a'.repeat(211), 'b'.repeat(255)]) {
      const e = invalidBinary(() => decodeUploadFrame(encodeBinaryFrame({ job_id: 'j', filename }, new Uint8Array([1]))));
      expect(e.details).toMatch(/^header: filename: .*200/);
    }
    for (const filename of ['é'.repeat(100), '文'.repeat(66), 'a'.repeat(200)])
      expect(decodeUploadFrame(encodeBinaryFrame({ job_id: 'j', filename }, new Uint8Array([1]))).header.filename).toBe(filename);
  });

  it('round-trips a header and payload', () => {
    const payload = new Uint8Array(1000).map((_, i) => i % 256);
    const { header, payload: out } = decodeUploadFrame(encodeBinaryFrame({ job_id: 'job-7', filename: 'clip.mp4' }, payload));
    expect(header).toEqual({ job_id: 'job-7', filename: 'clip.mp4' });
    expect(Array.from(out)).toEqual(Array.from(payload));
  });

  it('round-trips a zero-length payload', () => {
    const { header, payload } = decodeUploadFrame(encodeBinaryFrame({ job_id: 'j', filename: 'empty.bin' }, new Uint8Array()));
    expect(header).toEqual({ job_id: 'j', filename: 'empty.bin' });
    expect(payload.length).toBe(0);
  });

  it('round-trips a unicode file name', () => {
    const filename = 'видео 🎬 ünïcødé.mp4';
    const { header, payload } = decodeUploadFrame(encodeBinaryFrame({ job_id: 'j', filename }, new Uint8Array([9])));
    expect(header.filename).toBe(filename);
    expect(Array.from(payload)).toEqual([9]);
  });

  it('returns the payload as a view into the frame, not a copy', () => {
    const frame = encodeBinaryFrame({ job_id: 'j', filename: 'a' }, new Uint8Array([5, 6]));
    const { payload } = decodeUploadFrame(frame);
    expect(payload.buffer).toBe(frame.buffer);
  });

  it('decodes a frame that is a subarray of a larger buffer (non-zero byteOffset)', () => {
    const frame = encodeBinaryFrame({ job_id: 'job-9', filename: 'x.wav' }, new Uint8Array([7, 8, 9]));
    const big = new Uint8Array(frame.length + 20).fill(0xff);
    big.set(frame, 13);
    const view = big.subarray(13, 13 + frame.length);
    expect(view.byteOffset).toBe(13);
    const { header, payload } = decodeUploadFrame(view);
    expect(header).toEqual({ job_id: 'job-9', filename: 'x.wav' });
    expect(Array.from(payload)).toEqual([7, 8, 9]);
  });

  it('decodes a Node Buffer from a shared pool (what WebSocket libraries hand over)', () => {
    const frame = encodeBinaryFrame({ job_id: 'job-9', filename: 'x.wav' }, new Uint8Array([1]));
    const buf = Buffer.concat([Buffer.from('garbage'), Buffer.from(frame)]).subarray(7);
    expect(decodeUploadFrame(buf).header).toEqual({ job_id: 'job-9', filename: 'x.wav' });
  });

  it.each([0, 1, 3])('rejects a %i-byte frame (shorter than the length prefix)', (n) => {
    const e = invalidBinary(() => decodeUploadFrame(new Uint8Array(n)));
    expect(e.details).toBe(`frame is ${n} bytes; it needs at least a 4-byte header length`);
  });

  it('rejects a header length of 0', () => {
    const e = invalidBinary(() => decodeUploadFrame(rawFrame(0, new Uint8Array(), new Uint8Array([1, 2]))));
    expect(e.details).toBe('header length is 0');
  });

  it('rejects a header length that runs past the end of the frame', () => {
    const header = utf8.encode('{"job_id":"j","filename":"a"}');
    const frame = rawFrame(header.length + 1, header);
    const e = invalidBinary(() => decodeUploadFrame(frame));
    expect(e.details).toBe(`header length ${header.length + 1} runs past the end of the ${frame.length}-byte frame`);
  });

  it('rejects a header length over MAX_BINARY_HEADER_BYTES before reading it', () => {
    const tooLong = MAX_BINARY_HEADER_BYTES + 1;
    const e = invalidBinary(() => decodeUploadFrame(rawFrame(tooLong, new Uint8Array(tooLong).fill(0x20))));
    expect(e.details).toBe(`header length ${tooLong} exceeds the ${MAX_BINARY_HEADER_BYTES}-byte limit`);
    // also when the frame is too short for it: the limit is checked first
    const e2 = invalidBinary(() => decodeUploadFrame(rawFrame(0xffffffff, new Uint8Array(2))));
    expect(e2.details).toContain('exceeds');
  });

  it('accepts a header of exactly MAX_BINARY_HEADER_BYTES', () => {
    const base = JSON.stringify({ job_id: 'j', filename: 'a' });
    const text = base.slice(0, -1) + ' '.repeat(MAX_BINARY_HEADER_BYTES - base.length) + '}';
    expect(utf8.encode(text).length).toBe(MAX_BINARY_HEADER_BYTES);
    expect(decodeUploadFrame(frameWithHeaderText(text)).header).toEqual({ job_id: 'j', filename: 'a' });
  });

  it('rejects a header that is not JSON', () => {
    const e = invalidBinary(() => decodeUploadFrame(frameWithHeaderText('{job_id: j}')));
    expect(e.details).toMatch(/^header is not valid UTF-8 JSON: /);
  });

  it('rejects a header that is not valid UTF-8', () => {
    const e = invalidBinary(() => decodeUploadFrame(rawFrame(3, new Uint8Array([0x22, 0xff, 0x22]))));
    expect(e.details).toMatch(/^header is not valid UTF-8 JSON: /);
  });

  it.each([
    ['an array', '[{"job_id":"j","filename":"a"}]'],
    ['a string', '"header"'],
    ['null', 'null'],
    ['a number', '12'],
  ])('rejects a JSON header that is %s', (_label, text) => {
    const e = invalidBinary(() => decodeUploadFrame(frameWithHeaderText(text)));
    expect(e.details).toBe('header must be a JSON object');
  });

  it('rejects a header without filename, naming the field', () => {
    const e = invalidBinary(() => decodeUploadFrame(encodeBinaryFrame({ job_id: 'j' }, new Uint8Array([1]))));
    expect(e.details).toMatch(/^header: filename: /);
  });

  it('rejects a header without a valid job_id, naming the field', () => {
    expect(invalidBinary(() => decodeUploadFrame(encodeBinaryFrame({ filename: 'a' }, new Uint8Array()))).details).toMatch(
      /^header: job_id: /,
    );
    expect(invalidBinary(() => decodeUploadFrame(encodeBinaryFrame({ job_id: 'a/b', filename: 'a' }, new Uint8Array()))).details).toMatch(
      /^header: job_id: /,
    );
  });

  it.each(['../etc/passwd', 'dir/file.mp4', 'dir\\file.mp4', '..', '.', '', 'a\u0000b', 'line\nbreak'])(
    'rejects the unsafe filename %j',
    (filename) => {
      const e = invalidBinary(() => decodeUploadFrame(encodeBinaryFrame({ job_id: 'j', filename }, new Uint8Array([1]))));
      expect(e.details).toMatch(/^header: filename: /);
    },
  );

  it('accepts file names that merely contain dots', () => {
    expect(decodeUploadFrame(encodeBinaryFrame({ job_id: 'j', filename: 'a..b.mp4' }, new Uint8Array())).header.filename).toBe('a..b.mp4');
    expect(decodeUploadFrame(encodeBinaryFrame({ job_id: 'j', filename: '.hidden' }, new Uint8Array())).header.filename).toBe('.hidden');
  });
});

describe('splitBinaryFrame', () => {
  it('returns any JSON object header unvalidated, with the payload', () => {
    const { header, payload } = splitBinaryFrame(encodeBinaryFrame({ anything: [1, 2], nested: { a: true } }, new Uint8Array([4])));
    expect(header).toEqual({ anything: [1, 2], nested: { a: true } });
    expect(Array.from(payload)).toEqual([4]);
  });
});
