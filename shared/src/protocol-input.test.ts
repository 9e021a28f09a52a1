import { startJobMessage } from './protocol.js';

/** The `input` of a valid start_job as the gateway reads it. */
function inputOf(operation: string, input: object) {
  return startJobMessage.parse({ type: 'start_job', operation, input }).input;
}

describe('start_job input, normalised once by the schema', () => {
  it('makes `url` one URL input', () => {
    expect(inputOf('probe', { source: 'url', url: 'https://e.com/a.mp4' })).toEqual({
      source: 'url',
      files: [{ source: 'url', url: 'https://e.com/a.mp4' }],
    });
  });

  it('makes `urls` one URL input each, in order', () => {
    expect(inputOf('concat', { source: 'url', urls: ['https://e.com/a.mp4', 'https://e.com/b.mp4', 'https://e.com/c.mp4'] })).toEqual({
      source: 'url',
      files: [
        { source: 'url', url: 'https://e.com/a.mp4' },
        { source: 'url', url: 'https://e.com/b.mp4' },
        { source: 'url', url: 'https://e.com/c.mp4' },
      ],
    });
  });

  it('makes an upload without `filenames` one unnamed input (the informational `filename` names nothing)', () => {
    expect(inputOf('probe', { source: 'upload' })).toEqual({ source: 'upload', files: [{ source: 'upload', filename: null }] });
    expect(inputOf('probe', { source: 'upload', filename: 'a.mp4', size_bytes: 10 })).toEqual({
      source: 'upload',
      files: [{ source: 'upload', filename: null }],
      size_bytes: 10,
    });
  });

  it('makes `filenames` one named upload each, in order', () => {
    expect(inputOf('concat', { source: 'upload', filenames: ['b.mp4', 'a.mp4'] })).toEqual({
      source: 'upload',
      files: [
        { source: 'upload', filename: 'b.mp4' },
        { source: 'upload', filename: 'a.mp4' },
      ],
    });
  });

  it('counts the normalised inputs against the operation, on the wire paths', () => {
    const one = startJobMessage.safeParse({ type: 'start_job', operation: 'concat', input: { source: 'url', urls: ['https://e.com/a'] } });
    expect(one.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['input', 'concat takes 2 to 20 input files; got 1']]);
    const bad = startJobMessage.safeParse({
      type: 'start_job',
      operation: 'concat',
      input: { source: 'url', urls: ['https://e.com/a', 'ftp://e.com/b'] },
    });
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(['input.urls.1']);
  });
});
